import { Metadata, status } from '@grpc/grpc-js';
import { Quorum } from '@paxos/consensus-core';
import { StatusResponse, StorageStatus } from '@paxos/proto';
import type { AcceptorLink } from './acceptor-link';
import type { ClusterStatusResponse } from '@paxos/proto';
import { clusterStatus, ClusterStatusRounds, fanOutDeadlineMs } from './cluster-status';

/** A link whose Status answers `s`, or fails when s is undefined. */
const link = (address: string, s?: Partial<StatusResponse>): AcceptorLink =>
  ({ address, status: async () => (s ? StatusResponse.fromPartial({ committedIndex: 9n, ...s }) : Promise.reject(new Error('down'))) }) as unknown as AcceptorLink;

describe('ClusterStatus', () => {
  it('counts only voting acceptors toward the quorum: a failed storage or a rejoin is alive but no vote', async () => {
    const failed = { storage: StorageStatus.fromPartial({ healthy: false, error: 'fdatasync: EIO' }) };
    const links = [link('a:0', {}), link('a:1', { rejoining: true }), link('a:2', failed)];
    const r = await clusterStatus(links, Quorum.majority(3), 100);
    expect(r).toMatchObject({ alive: 3, voting: 1, quorumAlive: false, holdingLatest: 3, committedIndex: 9n });
    const healthy = await clusterStatus([link('a:0', {}), link('a:1', { rejoining: true }), link('a:2', {})], Quorum.majority(3), 100);
    expect(healthy).toMatchObject({ alive: 3, voting: 2, quorumAlive: true });
    const down = await clusterStatus([link('a:0', {}), link('a:1'), link('a:2')], Quorum.majority(3), 100);
    expect(down).toMatchObject({ alive: 1, voting: 1, quorumAlive: false });
  });
});

describe('ClusterStatus of a node that did not answer in time', () => {
  it('names the node deadline the call ran with, not how long grpc-js measured the wait', async () => {
    const passed = (details: string) => Object.assign(new Error(`4 DEADLINE_EXCEEDED: ${details}`), { code: status.DEADLINE_EXCEEDED, details, metadata: new Metadata() });
    const slow = (details: string) => ({ address: 'a:1', status: () => Promise.reject(passed(details)) }) as unknown as AcceptorLink;
    const r = await clusterStatus([link('a:0', {}), slow('Deadline exceeded after 0.007s,remote_addr=127.0.0.1:7101')], Quorum.majority(3), 1);
    expect(r.nodes[1]?.error).toBe(
      'DEADLINE_EXCEEDED: no answer within the node deadline of 1 ms (node_deadline_ms, rounded down to one significant digit): the node paused or overloaded, or ask with a longer node_deadline_ms',
    );
    // Noticed long after it passed: the proposer was held, and says so.
    const held = await clusterStatus([slow('Deadline exceeded after 3.2s')], Quorum.majority(1), 100);
    expect(held.nodes[0]?.error).toContain('no answer within the node deadline of 100 ms (node_deadline_ms, rounded down to one significant digit, noticed after 3.2 s: this proposer did not run meanwhile)');
    // A server's own DEADLINE_EXCEEDED, and other failures, keep their message.
    const own = await clusterStatus([slow('the acceptor gave up')], Quorum.majority(1), 100);
    expect(own.nodes[0]?.error).toBe('DEADLINE_EXCEEDED: the acceptor gave up');
  });
});

describe('ClusterStatus calls at once', () => {
  it('share one fan-out per node deadline: calls that arrive while it runs take its answer, and the next call starts another', async () => {
    const polls: Array<{ ms: number; answer: (r: ClusterStatusResponse) => void }> = [];
    const rounds = new ClusterStatusRounds((ms) => new Promise((answer) => polls.push({ ms, answer })));
    const answer = (n: number) => ({ alive: n }) as ClusterStatusResponse;
    const first = rounds.ask(100);
    // 256 calls while the first fan-out runs: none starts another; another deadline has its own.
    const later = Array.from({ length: 256 }, () => rounds.ask(100));
    const other = rounds.ask(500);
    await new Promise((r) => setImmediate(r));
    expect(polls.map((p) => p.ms)).toEqual([100, 500]);
    polls[0]?.answer(answer(1));
    await expect(first).resolves.toMatchObject({ alive: 1 });
    expect((await Promise.all(later)).map((r) => r.alive)).toEqual(Array(256).fill(1));
    polls[1]?.answer(answer(3));
    await expect(other).resolves.toMatchObject({ alive: 3 });
    // Nothing runs: the next call starts a fan-out of its own.
    void rounds.ask(100);
    await new Promise((r) => setImmediate(r));
    expect(polls).toHaveLength(3);
  });

  it('asked with many different node deadlines, share a few fan-outs, each within the deadline its calls asked', async () => {
    const polls: Array<{ ms: number; answer: (r: ClusterStatusResponse) => void }> = [];
    const rounds = new ClusterStatusRounds((ms) => new Promise((answer) => polls.push({ ms, answer })));
    // One client, one deadline a call: keyed by the deadline as asked, each started a fan-out to every acceptor.
    const asked = Array.from({ length: 4096 }, (_, i) => i + 1);
    const calls = asked.map((ms) => rounds.ask(ms));
    await new Promise((r) => setImmediate(r));
    expect(polls.length).toBeLessThanOrEqual(39);
    expect(new Set(polls.map((p) => p.ms)).size).toBe(polls.length);
    for (const p of polls) p.answer({ alive: p.ms } as ClusterStatusResponse);
    const answered = await Promise.all(calls);
    // Each call's fan-out waited for no node longer than the call asked, and at least half as long.
    for (const [i, r] of answered.entries()) {
      expect(r.alive).toBeLessThanOrEqual(asked[i] as number);
      expect(2 * r.alive).toBeGreaterThan(asked[i] as number);
    }
    // The default and the largest run as asked.
    expect([fanOutDeadlineMs(1000), fanOutDeadlineMs(30_000), fanOutDeadlineMs(1999), fanOutDeadlineMs(1)]).toEqual([1000, 30_000, 1000, 1]);
  });

  it('a fan-out that throws fails its calls and leaves the next call a fan-out of its own', async () => {
    let calls = 0;
    const rounds = new ClusterStatusRounds(() => {
      calls++;
      throw new Error('boom');
    });
    await expect(rounds.ask(100)).rejects.toThrow('boom');
    await expect(rounds.ask(100)).rejects.toThrow('boom');
    expect(calls).toBe(2);
  });
});
