import { status } from '@grpc/grpc-js';
import { GrpcError } from '@paxos/grpc-kit';
import { NOT_SENT_TRAILER } from '@paxos/wire';
import { catchError, map, merge, type Observable, of } from 'rxjs';

/** One acceptor's answer to a broadcast request: a reply, or the transport's failure. */
export interface Answer<R> {
  readonly from: number;
  readonly reply?: R;
  readonly error?: unknown;
}

/**
 * Fewer than a quorum of acceptors answered or can still answer: the round cannot complete (the
 * core decides when; see RoundEnd). Client-facing (UNAVAILABLE).
 */
export class QuorumUnreachableError extends GrpcError {
  constructor(
    readonly answered: number,
    readonly n: number,
    readonly q: number,
    /** Why each failed acceptor failed (node id to reason), for the proposer's log. */
    readonly failures: ReadonlyMap<number, string> = new Map(),
    /** Of those that answered, how many refused the value (its claims failed their check). */
    readonly refused = 0,
    message = `${answered} of ${n} acceptors answered, ${q} needed${refused > 0 ? `; ${refused} of them refused the value` : ''}${errorsNamed(failures)}`,
    trailers: Readonly<Record<string, string>> = {},
  ) {
    super(status.UNAVAILABLE, message, trailers);
  }

  /**
   * Fewer than a quorum of the proposer's links to acceptors are connected: nothing was sent.
   * Said as such: "answered" sent an operator looking for acceptors that did not answer, where
   * the proposer's own links were still reconnecting (after a restart or a pause).
   */
  static notConnected(connected: number, n: number, q: number): QuorumUnreachableError {
    const message = `${connected} of ${n} acceptors connected to this proposer, ${q} needed: the value was not sent (links reconnect within seconds after a restart or pause); retry with the same client_request_id`;
    return new QuorumUnreachableError(connected, n, q, new Map(), 0, message, { [NOT_SENT_TRAILER]: 'links-not-connected' });
  }

  /** The failures grouped by reason, e.g. "DEADLINE_EXCEEDED: node 3 (...) did not answer ...: nodes 3, 7". */
  failureSummary(): string[] {
    const byReason = new Map<string, number[]>();
    for (const [node, reason] of [...this.failures].sort((a, b) => a[0] - b[0])) byReason.set(reason, [...(byReason.get(reason) ?? []), node]);
    return [...byReason].map(([reason, nodes]) => `${reason}: node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')}`);
  }
}

/**
 * Acceptors that did answer, with an error rather than a vote (not a timeout or a lost
 * connection), say why in the client's message: such a round cannot succeed by retrying alone.
 */
function errorsNamed(failures: ReadonlyMap<number, string>): string {
  const byReason = new Map<string, number[]>();
  for (const [node, reason] of [...failures].sort((a, b) => a[0] - b[0])) {
    if (/^(DEADLINE_EXCEEDED|UNAVAILABLE|CANCELLED)\b/.test(reason)) continue;
    byReason.set(reason, [...(byReason.get(reason) ?? []), node]);
  }
  if (byReason.size === 0) return '';
  const named = [...byReason].slice(0, 3).map(([reason, nodes]) => `${reason} (node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')})`);
  return `; answered with an error: ${named.join('; ')}${byReason.size > 3 ? `; and ${byReason.size - 3} other errors` : ''}`;
}

/** A failure's reason without the node's own name, so that equal failures of several acceptors group together. */
export function failureReason(error: unknown): string {
  const e = error as { code?: number; details?: string; message?: string };
  const code = typeof e.code === 'number' ? (status[e.code] ?? String(e.code)) : 'ERROR';
  const text = (e.details ?? e.message ?? String(error)).replace(/^node \d+ \([^)]*\):? ?/, '');
  return `${code} ${text}`.trim();
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
