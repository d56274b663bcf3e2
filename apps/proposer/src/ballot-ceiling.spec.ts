import { status } from '@grpc/grpc-js';
import { BALLOT_ROUND_WIRE_MAX, type Ballot, type Command, ballotGreater } from '@paxos/consensus-core';
import { createLogger, GrpcError } from '@paxos/grpc-kit';
import type { AcceptResponse, LearnResponse, PrepareResponse, StatusResponse } from '@paxos/proto';
import { Observable, of, throwError } from 'rxjs';
import type { AcceptorLink } from './acceptor-link';
import { Registry } from 'prom-client';
import { assembleProposer } from './proposer-assembly';
import { proposerMetrics } from './proposer-metrics';
import type { ProposerNode } from './proposer-node';

const logger = createLogger('ballot-ceiling-test');
const TOP = BALLOT_ROUND_WIRE_MAX;
const command = (id: string): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(id) });

/**
 * An acceptor as the proposer's link sees it, holding only a promise: a prepare or accept above it
 * is promised or accepted, one not above it rejected naming it, and one past the round ceiling
 * answered as a real acceptor does (its stream ends INVALID_ARGUMENT, which the gRPC link reports
 * as INTERNAL). Counts every ballot it was sent.
 */
class PromiseOnlyAcceptor implements AcceptorLink {
  readonly address: string;
  readonly up = true;
  readonly inFlight = 0;
  readonly breaks = 0;
  readonly sent: Ballot[] = [];
  constructor(
    readonly nodeId: number,
    public promised: Ballot,
  ) {
    this.address = `127.0.0.1:${26700 + nodeId}`;
  }
  private vote(ballot: Ballot | undefined, strict: boolean): 'ok' | 'rejected' | GrpcError {
    if (!ballot) return new GrpcError(status.INTERNAL, 'no ballot');
    this.sent.push(ballot);
    if (ballot.round > TOP) return new GrpcError(status.INTERNAL, `node ${this.nodeId} (${this.address}): INVALID_ARGUMENT: ballot round ${ballot.round} is above the ceiling ${TOP} (2^62)`);
    const above = ballotGreater(ballot, this.promised) || (!strict && ballot.round === this.promised.round && ballot.proposerId === this.promised.proposerId);
    if (!above) return 'rejected';
    this.promised = ballot;
    return 'ok';
  }
  prepare(request: { ballot?: Ballot; fromSlot: bigint }): Observable<PrepareResponse> {
    const v = this.vote(request.ballot, true);
    if (v instanceof GrpcError) return throwError(() => v);
    if (v === 'rejected') return of({ requestId: 0n, outcome: { $case: 'rejected', value: { promised: this.promised } } });
    return of({ requestId: 0n, outcome: { $case: 'promised', value: { ballot: request.ballot, accepted: [], truncated: false, committedIndex: 0n } } });
  }
  accept(request: { accept?: { ballot?: Ballot; slot: bigint } }): Observable<AcceptResponse> {
    if (!request.accept) return of({ requestId: 0n, outcome: { $case: 'committed', value: { committedIndex: 0n, durableCommittedIndex: 0n } } } as AcceptResponse);
    const v = this.vote(request.accept.ballot, false);
    if (v instanceof GrpcError) return throwError(() => v);
    if (v === 'rejected') return of({ requestId: 0n, outcome: { $case: 'rejected', value: { promised: this.promised } } });
    return of({ requestId: 0n, outcome: { $case: 'accepted', value: { ballot: request.accept.ballot, slot: request.accept.slot, committedIndex: 0n, durableCommittedIndex: 0n } } });
  }
  status(): Promise<StatusResponse> {
    return Promise.resolve({ nodeId: this.nodeId, promised: this.promised, committedIndex: 0n } as StatusResponse);
  }
  learn(): Promise<LearnResponse> {
    return Promise.resolve({ chosen: [], committedIndex: 0n, oldestKeptSlot: 0n, snapshotSlot: 0n });
  }
  verifyClaims(): never {
    throw new Error('not used');
  }
  stateSnapshot(): never {
    throw new Error('not used');
  }
  installStateSnapshot(): never {
    throw new Error('not used');
  }
  close(): void {
    return undefined;
  }
}

function proposerOver(links: readonly AcceptorLink[], onCannotChoose?: (reason: string) => void): ProposerNode {
  const settings = {
    id: 1,
    windowSlots: 2,
    batchCommands: 64,
    partialSlots: 1,
    acceptFanout: links.length,
    fanoutExpandMs: 20,
    maxValueBytes: 1 << 20,
    requestDeadlineMs: 50,
    tickMs: 5,
    retainChosenSlots: 1000,
    retainChosenBytes: 1 << 20,
  };
  const { node } = assembleProposer(settings, { links, initialRound: 1_000n, random: () => 0.5, origin: 7n, logger, ...(onCannotChoose ? { onCannotChoose } : {}) });
  return node;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a proposer whose acceptors promised a ballot at the round ceiling (DESIGN section 12, "The ballot ceiling")', () => {
  it('answers FAILED_PRECONDITION naming the acceptors, the ballot, who can send it and what to do; never asks above the ceiling, nor again and again', async () => {
    // The reviewer's reproduction: one prepare at (2^62, 16) promised by 3 of 5 acceptors.
    const rival = { round: TOP, proposerId: 16 };
    const acceptors = [0, 1, 2, 3, 4].map((id) => new PromiseOnlyAcceptor(id, id < 3 ? rival : { round: 0n, proposerId: 0 }));
    const told: string[] = [];
    const node = proposerOver(acceptors, (reason) => told.push(reason));
    node.start();
    try {
      const answer = node.propose(command('a'));
      await expect(answer).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, trailers: { 'paxos-cannot-choose': 'ballot-ceiling' } });
      const message = ((await answer.catch((e: unknown) => e)) as GrpcError).message;
      expect(message).toContain('acceptors 0 (127.0.0.1:26700), 1 (127.0.0.1:26701), 2 (127.0.0.1:26702) promised ballot 4611686018427387904.16');
      expect(message).toContain('proposer 1 has no ballot above it');
      expect(message).toContain('any client can send such a prepare');
      expect(message).toContain("only a holder of proposer-16's certificate");
      expect(message).toContain('a new network');
      expect(node.cannotChoose).toBe(message);
      expect(told).toEqual([message]);
      // And the metric an operator alerts on.
      const registry = new Registry();
      proposerMetrics(registry).attach(node, acceptors);
      expect(await registry.getSingleMetricAsString('paxos_proposer_cannot_choose')).toMatch(/^paxos_proposer_cannot_choose 1$/m);
      // A later proposal is answered at once, with the same words; nothing else is sent.
      const sentBefore = acceptors.reduce((n, a) => n + a.sent.length, 0);
      await expect(node.propose(command('b'))).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, message });
      await sleep(300);
      expect(acceptors.reduce((n, a) => n + a.sent.length, 0)).toBe(sentBefore);
      expect(acceptors.flatMap((a) => a.sent).filter((b) => b.round > TOP)).toEqual([]);
      // A linearizable read says why too, instead of waiting out its deadline.
      await expect(node.readBarrier(5_000)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringContaining('a linearizable read needs a leader'), trailers: { 'paxos-cannot-choose': 'ballot-ceiling' } });
    } finally {
      node.stop();
    }
  });

  it('with the ceiling promise at a minority of acceptors it chooses through the others', async () => {
    const rival = { round: TOP, proposerId: 16 };
    const acceptors = [0, 1, 2, 3, 4].map((id) => new PromiseOnlyAcceptor(id, id < 2 ? rival : { round: 0n, proposerId: 0 }));
    const node = proposerOver(acceptors);
    node.start();
    try {
      // Nothing here makes a value chosen in the log (the fake acceptors keep no votes): the
      // proposer leads through acceptors 2-4 at a ballot below the ceiling and asks nothing above it.
      void node.propose(command('a')).catch(() => undefined);
      await sleep(300);
      expect(node.cannotChoose).toBeUndefined();
      expect(acceptors.flatMap((a) => a.sent).filter((b) => b.round > TOP)).toEqual([]);
      expect(acceptors[2]?.promised.round).toBeLessThan(TOP);
    } finally {
      node.stop();
    }
  });
});
