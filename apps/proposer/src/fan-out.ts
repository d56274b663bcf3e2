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
    /** Why each failed acceptor failed (node id to reason), for the proposer's log. */
    readonly failures: ReadonlyMap<number, string> = new Map(),
  ) {
    super(status.UNAVAILABLE, `${answered} of ${n} acceptors answered, ${q} needed`);
  }

  /** The failures grouped by reason, e.g. "DEADLINE_EXCEEDED: node 3 (...) did not answer ...: nodes 3, 7". */
  failureSummary(): string[] {
    const byReason = new Map<string, number[]>();
    for (const [node, reason] of [...this.failures].sort((a, b) => a[0] - b[0])) byReason.set(reason, [...(byReason.get(reason) ?? []), node]);
    return [...byReason].map(([reason, nodes]) => `${reason}: node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')}`);
  }
}

/** A failure's reason without the node's own name, so that equal failures of several acceptors group together. */
function failureReason(error: unknown): string {
  const e = error as { code?: number; details?: string; message?: string };
  const code = typeof e.code === 'number' ? (status[e.code] ?? String(e.code)) : 'ERROR';
  const text = (e.details ?? e.message ?? String(error)).replace(/^node \d+ \([^)]*\):? ?/, '');
  return `${code} ${text}`.trim();
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
      const failed = new Map<number, string>();
      const answered = new Set<number>();
      return source.subscribe({
        next(answer) {
          subscriber.next(answer);
          if (answer.error !== undefined) {
            // A round may ask an acceptor again (a retransmit): a failure after its yes does not count.
            if (!tracker.hasYes(answer.from)) {
              failed.set(answer.from, failureReason(answer.error));
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
          else if (quorum.n - failed.size < quorum.q) subscriber.error(new QuorumUnreachableError(quorum.n - failed.size, quorum.n, quorum.q, failed));
          else if (tracker.impossible) subscriber.error(new QuorumDeniedError(tracker.yes, tracker.no));
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          if (!tracker.reached) subscriber.error(new QuorumUnreachableError(answered.size, quorum.n, quorum.q, failed));
        },
      });
    });
}
