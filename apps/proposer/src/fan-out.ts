import { status } from '@grpc/grpc-js';
import { type Quorum, QuorumTracker } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { catchError, map, merge, Observable, of, type OperatorFunction } from 'rxjs';

/** One acceptor's answer to a broadcast request: a reply, or the transport's failure. */
export interface Answer<R> {
  readonly from: number;
  readonly reply?: R;
  readonly error?: unknown;
}

/** Fewer than a quorum of acceptors answered or can still answer: the round cannot complete. Client-facing (UNAVAILABLE). */
export class QuorumUnreachableError extends GrpcError {
  constructor(
    readonly answered: number,
    readonly n: number,
    readonly q: number,
  ) {
    super(status.UNAVAILABLE, `${answered} of ${n} acceptors answered, ${q} needed`);
  }
}

/** Enough acceptors answered, but too many said no (a higher ballot): Paxos moves to a new ballot. */
export class QuorumDeniedError extends Error {
  constructor(
    readonly yes: number,
    readonly no: number,
  ) {
    super(`round denied: ${yes} yes, ${no} no`);
  }
}

/** Sends one request per acceptor and merges the answers as they arrive; failures become answers too. */
export function broadcast<L extends { readonly nodeId: number }, R>(targets: readonly L[], send: (target: L) => Observable<R>): Observable<Answer<R>> {
  return merge(
    ...targets.map((t) =>
      send(t).pipe(
        map((reply): Answer<R> => ({ from: t.nodeId, reply })),
        catchError((error: unknown) => of<Answer<R>>({ from: t.nodeId, error })),
      ),
    ),
  );
}

/**
 * Passes answers through until the round is decided: completes on the q-th matching reply (which
 * unsubscribes the stragglers), fails with QuorumUnreachableError as soon as n - failures < q,
 * and with QuorumDeniedError when the refusals alone make a quorum impossible.
 */
export function untilQuorum<R>(quorum: Quorum, isYes: (reply: R) => boolean): OperatorFunction<Answer<R>, Answer<R>> {
  return (source) =>
    new Observable<Answer<R>>((subscriber) => {
      const tracker = new QuorumTracker(quorum);
      const failed = new Set<number>();
      const answered = new Set<number>();
      return source.subscribe({
        next(answer) {
          subscriber.next(answer);
          if (answer.error !== undefined) {
            // A round may ask an acceptor again (a retransmit): a failure after its yes does not count.
            if (!tracker.hasYes(answer.from)) {
              failed.add(answer.from);
              tracker.recordNo(answer.from);
            }
          } else {
            failed.delete(answer.from);
            answered.add(answer.from);
            if (isYes(answer.reply as R)) tracker.recordYes(answer.from);
            else tracker.recordNo(answer.from);
          }
          if (tracker.reached) subscriber.complete();
          // The live ones may not have answered yet: count every acceptor that has not failed.
          else if (quorum.n - failed.size < quorum.q) subscriber.error(new QuorumUnreachableError(quorum.n - failed.size, quorum.n, quorum.q));
          else if (tracker.impossible) subscriber.error(new QuorumDeniedError(tracker.yes, tracker.no));
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          if (!tracker.reached) subscriber.error(new QuorumUnreachableError(answered.size, quorum.n, quorum.q));
        },
      });
    });
}
