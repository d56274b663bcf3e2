import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { ProposeRequest, ProposeResponse } from '@paxos/proto';
import { AnswerBudget } from '@paxos/grpc-kit';
import { PROPOSAL_AWAITED_BYTES, proposerService, type ProposerServiceDeps } from './proposer-service';
import { ValueChecker } from './value-check';

/** A proposer service over a stand-in node (what it is asked to propose and abandon is the test's). */
const serviceOver = (node: object, proposeTimeoutMs: number) =>
  proposerService({ node: { reachable: () => 3, quorum: { n: 3, q: 2 }, ...node }, links: [], checker: new ValueChecker(1024, () => undefined), proposeTimeoutMs, logger: { warn: () => undefined } } as unknown as ProposerServiceDeps);
/** A stream as grpc-js hands it over: its messages come as 'data' events. */
const stream = () => Object.assign(new EventEmitter(), { cancelled: false, getDeadline: () => Infinity, pause: () => undefined, resume: () => undefined, write: () => true, end: () => undefined });
const proposal = (id: string) => ({ clientRequestId: id, value: { contentType: 'text/plain', data: Buffer.from(id) }, includeVotes: false });

describe('unary Propose read after its deadline', () => {
  it('is DEADLINE_EXCEEDED without being proposed (a paused proposer that resumes does not fill slots with copies its client retried elsewhere)', async () => {
    const proposed: string[] = [];
    const service = serviceOver({ propose: (c: { clientRequestId: string }) => (proposed.push(c.clientRequestId), new Promise(() => undefined)), abandon: () => undefined }, 5000);
    const call = (deadline: number, cancelled = false) =>
      Object.assign(new EventEmitter(), { request: { clientRequestId: 'late', value: { contentType: 'text/plain', data: Buffer.from('x') }, includeVotes: false }, getDeadline: () => deadline, cancelled }) as unknown as ServerUnaryCall<ProposeRequest, ProposeResponse>;
    for (const c of [call(Date.now() - 1000), call(Date.now() + 60_000, true)]) {
      const answer = await new Promise<{ code?: number; details?: string }>((resolve) => service.propose(c, (err) => resolve(err ?? {})));
      expect(answer).toMatchObject({ code: status.DEADLINE_EXCEEDED, details: expect.stringContaining('not proposed; retry with the same client_request_id') });
    }
    expect(proposed).toEqual([]);
    // A call with time left is proposed.
    const answered = new Promise((resolve) => service.propose(call(Date.now() + 50), resolve));
    await new Promise((r) => setImmediate(r));
    expect(proposed).toEqual(['late']);
    await answered;
  });
});

describe('stream proposals read just before their client gave up', () => {
  it('are not proposed when the cancellation comes with them (ProposeStream and ProposeBulk)', async () => {
    const proposed: string[] = [];
    const service = serviceOver({ propose: (c: { clientRequestId: string }) => (proposed.push(c.clientRequestId), new Promise(() => undefined)), abandon: () => undefined }, 5000);
    const given = stream();
    service.proposeStream(given as never);
    given.emit('data', { proposal: proposal('s-late') });
    given.cancelled = true; // read in the same chunk as the message, a turn after it
    const bulk = stream();
    service.proposeBulk(bulk as never);
    bulk.emit('data', { proposals: [proposal('b-late-1'), proposal('b-late-2')] });
    bulk.cancelled = true;
    await new Promise((r) => setImmediate(r));
    expect(proposed).toEqual([]);
    // Streams their clients still wait on are proposed.
    const live = stream();
    service.proposeStream(live as never);
    live.emit('data', { proposal: proposal('s-live') });
    const liveBulk = stream();
    service.proposeBulk(liveBulk as never);
    liveBulk.emit('data', { proposals: [proposal('b-live')] });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(proposed.sort()).toEqual(['b-live', 's-live']);
  });
});

describe('a stream its client cancels', () => {
  it('stops waiting for its proposals still in flight (a retry then hears the first answer, not a duplicate)', async () => {
    const abandoned: string[] = [];
    const service = serviceOver({ propose: () => new Promise(() => undefined), abandon: (id: string) => abandoned.push(id) }, 60_000);
    const s = stream();
    service.proposeStream(s as never);
    s.emit('data', { proposal: proposal('s-1') });
    s.emit('data', { proposal: proposal('s-2') });
    const b = stream();
    service.proposeBulk(b as never);
    b.emit('data', { proposals: [proposal('b-1')] });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(abandoned).toEqual([]);
    s.cancelled = true;
    s.emit('cancelled');
    b.cancelled = true;
    b.emit('cancelled');
    expect(abandoned.sort()).toEqual(['b-1', 's-1', 's-2']);
  });
});

describe('a unary Propose its client cancels', () => {
  it('stops waiting for its proposal: the waiter and its timer go at once, not at the deadline', async () => {
    const abandoned: string[] = [];
    const service = serviceOver({ propose: () => new Promise(() => undefined), abandon: (id: string) => abandoned.push(id) }, 60_000);
    // A client that cancels and sends again, many times, with an hour's deadline: the calls it
    // cancelled no longer count against --max-calls-per-client, so what they hold must go with them.
    const answers: Array<{ code?: number }> = [];
    for (let i = 0; i < 100; i++) {
      const call = Object.assign(new EventEmitter(), {
        request: { clientRequestId: 'u-1', value: { contentType: 'text/plain', data: Buffer.alloc(512, i) }, includeVotes: false },
        getDeadline: () => Date.now() + 3_600_000,
        cancelled: false,
      });
      service.propose(call as unknown as ServerUnaryCall<ProposeRequest, ProposeResponse>, (err) => answers.push(err ?? {}));
      await new Promise((r) => setImmediate(r));
      call.cancelled = true;
      call.emit('cancelled');
    }
    await new Promise((r) => setImmediate(r));
    expect(abandoned).toHaveLength(100);
    expect(answers).toHaveLength(100);
    expect(answers.every((a) => a.code === status.CANCELLED)).toBe(true);
  });
});

describe('a proposal whose deadline passes while the proposer learns the chosen log', () => {
  it('says the proposer is still learning (at which slot), not only how many acceptors are reachable', async () => {
    const service = serviceOver({ propose: () => new Promise(() => undefined), abandon: () => undefined, learning: 'the proposer is still learning the chosen log (at slot 1450) and takes client work once it has' }, 20);
    const call = Object.assign(new EventEmitter(), { request: proposal('held'), getDeadline: () => Infinity, cancelled: false }) as unknown as ServerUnaryCall<ProposeRequest, ProposeResponse>;
    const answer = await new Promise<{ code?: number; details?: string }>((resolve) => service.propose(call, (err) => resolve(err ?? {})));
    expect(answer).toMatchObject({ code: status.DEADLINE_EXCEEDED, details: expect.stringContaining('still learning the chosen log (at slot 1450)') });
  });
});

describe('proposals a client keeps waiting on its streams', () => {
  it('count in its share of the answer budget at what an awaited proposal costs: its streams stop reading at the share (ProposeStream and ProposeBulk)', async () => {
    const share = 1024 * 1024;
    const answers = new AnswerBudget({ totalBytes: 4 * share, perPeerBytes: share });
    // A retry of one id in flight, sent again and again: each waits for the id's outcome.
    const service = proposerService({
      node: { reachable: () => 3, quorum: { n: 3, q: 2 }, propose: () => new Promise(() => undefined), abandon: () => undefined },
      links: [],
      checker: new ValueChecker(1024, () => undefined),
      proposeTimeoutMs: 60_000,
      answers,
      logger: { warn: () => undefined },
    } as unknown as ProposerServiceDeps);
    /** A stream of the one client, and whether it is paused now. */
    const ofClient = () => {
      const flag = { paused: false };
      const s = Object.assign(stream(), { getPeer: () => 'one-client', getAuthContext: () => null, pause: () => void (flag.paused = true), resume: () => void (flag.paused = false) });
      return { s, flag };
    };
    let read = 0;
    for (let i = 0; i < 16; i++) {
      const one = ofClient();
      service.proposeStream(one.s as never);
      for (let j = 0; j < 4096 && !one.flag.paused; j++, read++) one.s.emit('data', { proposal: proposal('again') });
      const bulk = ofClient();
      service.proposeBulk(bulk.s as never);
      for (let j = 0; j < 64 && !bulk.flag.paused; j++, read += 64) bulk.s.emit('data', { proposals: Array.from({ length: 64 }, () => proposal('again')) });
    }
    await new Promise((r) => setImmediate(r));
    // Each new stream reads one message before it sees the share held. At 256 bytes each (the place
    // of an answer) the share took 4,096 proposals, each about 3 KB of heap.
    expect(read).toBeLessThanOrEqual(share / PROPOSAL_AWAITED_BYTES + 16 * (1 + 64));
    expect(answers.full('one-client')).toBe(true);
  });
});
