// WatchChosen over a real gRPC server (plaintext, in process), with the proposer's log and a
// stand-in acceptor whose chosen history reaches further than this proposer has delivered (another
// proposer chose those slots, or this one restarted and is still learning them).
import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import { type ChosenEntry, Quorum } from '@paxos/consensus-core';
import { AnswerBudget, createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { type LearnResponse, ProposerServiceClient, ProposerServiceService, type WatchChosenResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { ballotToWire, slotValueToWire } from '@paxos/wire';
import { createHash } from 'node:crypto';
import type { AcceptorLink } from './acceptor-link';
import { ChosenLog } from './chosen-log';
import { LogReader } from './log-reader';
import { proposerService, type ProposerServiceDeps } from './proposer-service';

const logger = createLogger('watch-chosen-spec');
logger.level = 'silent';
const ballot = { round: 1n, proposerId: 1 };

/** Slot i carries id c<i>, but slot 50 carries a second copy of slot 45's id. */
const entry = (i: number): ChosenEntry => ({
  slot: BigInt(i),
  ballot,
  value: { kind: 'batch', commands: [{ clientRequestId: i === 50 ? 'c45' : `c${i}`, contentType: 'text/plain', data: Buffer.from(`v${i}`) }] },
});

/** An acceptor holding every slot of `held` in its chosen history, answering Learn as an acceptor does. */
function historyLink(held: readonly ChosenEntry[]): AcceptorLink {
  return {
    nodeId: 0,
    up: true,
    learn: async (from: bigint, max: number): Promise<LearnResponse> => ({
      chosen: held.filter((e) => e.slot >= from).slice(0, max).map((e) => ({ slot: e.slot, ballot: ballotToWire(e.ballot), value: slotValueToWire(e.value) })),
      committedIndex: BigInt(held.length),
      oldestKeptSlot: 0n,
      snapshotSlot: 0n,
    }),
  } as unknown as AcceptorLink;
}

/** The proposer service over `deps` on a plaintext loopback server, and a client of it. */
async function serve(deps: ProposerServiceDeps): Promise<{ server: Awaited<ReturnType<typeof startGrpcServer>>; client: ProposerServiceClient }> {
  const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: proposerService(deps) }] });
  return { server, client: new ProposerServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure()) };
}

describe('WatchChosen', () => {
  it('sends a slot only once this proposer applied it, so a copy read from an acceptor further ahead is marked duplicate', async () => {
    const held = Array.from({ length: 60 }, (_, i) => entry(i));
    // This proposer delivered slots 0-39 and keeps the newest 16; the acceptor holds 0-59.
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: (d) => createHash('sha256').update(d).digest('hex') }) });
    log.learn(held.slice(0, 40));
    const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([historyLink(held)], log, () => 60n) };
    const deps = { node, links: [], proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 5000, watcherBufferBytes: 1 << 20 } as unknown as ProposerServiceDeps;
    const { server, client } = await serve(deps);
    try {
      const got: WatchChosenResponse[] = [];
      const call = client.watchChosen({ fromSlot: 0n }, { deadline: new Date(Date.now() + 10_000) });
      const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
      await new Promise<void>((resolve) =>
        call.on('data', (r: WatchChosenResponse) => {
          got.push(r);
          if (r.slot === 39n) resolve();
        }),
      );
      // Nothing past what this proposer applied has been sent (the copy's mark below is what proves it).
      expect(got.map((r) => r.slot)).toEqual(held.slice(0, 40).map((e) => e.slot));
      // The proposer learns the rest: each slot is sent once, in order, the copy marked.
      const rest = new Promise<void>((resolve) => call.on('data', (r: WatchChosenResponse) => r.slot === 59n && resolve()));
      log.learn(held.slice(40));
      await rest;
      expect(got.map((r) => r.slot)).toEqual(held.map((e) => e.slot));
      expect(got[45]?.outcomes[0]).toMatchObject({ clientRequestId: 'c45', duplicate: false, forgotten: false });
      expect(got[50]?.outcomes[0]).toMatchObject({ clientRequestId: 'c45', duplicate: true, firstSlot: 45n, forgotten: false });
      expect(got.every((r) => r.outcomes.every((o) => !o.forgotten))).toBe(true);
      call.cancel();
      expect((await ended).code).toBe(status.CANCELLED);
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });

  it('tells a watcher refused mid-stream where to resume', async () => {
    const held = Array.from({ length: 40 }, (_, i) => entry(i));
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: (d) => createHash('sha256').update(d).digest('hex') }) });
    log.learn(held);
    // The acceptor answers pages of 10 slots, then stops answering.
    const link = historyLink(held);
    const learn = link.learn.bind(link);
    const flaky = {
      ...link,
      learn: async (from: bigint, max: number, deadlineMs: number): Promise<LearnResponse> => {
        if (from >= 10n) throw Object.assign(new Error('Deadline exceeded after 2.000s'), { code: status.DEADLINE_EXCEEDED });
        return learn(from, Math.min(max, 10), deadlineMs);
      },
    } as unknown as AcceptorLink;
    const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([flaky], log, () => 40n) };
    const deps = { node, links: [], proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 5000, watcherBufferBytes: 1 << 20 } as unknown as ProposerServiceDeps;
    const { server, client } = await serve(deps);
    try {
      const got: bigint[] = [];
      const call = client.watchChosen({ fromSlot: 0n }, { deadline: new Date(Date.now() + 10_000) });
      call.on('data', (r: WatchChosenResponse) => got.push(r.slot));
      const err = await new Promise<ServiceError>((resolve) => call.on('error', resolve));
      expect(got).toEqual(held.slice(0, 10).map((e) => e.slot));
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toMatch(/\(slots below 10 were sent: resume with WatchChosen from_slot 10\)$/);
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });

  it('tells a watcher below the kept history where the log goes on, not to resume at the slot it cannot read', async () => {
    const held = Array.from({ length: 60 }, (_, i) => entry(i));
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: (d) => createHash('sha256').update(d).digest('hex') }) });
    log.learn(held);
    // The acceptor answers pages of 10 slots from slot 0, until it drops every slot below 30
    // (retention, once a snapshot at 35 covers them) after the first page was read.
    let oldest = 0n;
    const link = {
      nodeId: 0,
      up: true,
      learn: async (from: bigint, max: number): Promise<LearnResponse> => {
        const chosen = from < oldest ? [] : held.filter((e) => e.slot >= from).slice(0, Math.min(max, 10));
        if (from === 0n) oldest = 30n;
        return { chosen: chosen.map((e) => ({ slot: e.slot, ballot: ballotToWire(e.ballot), value: slotValueToWire(e.value) })), committedIndex: 60n, oldestKeptSlot: oldest, snapshotSlot: oldest === 0n ? 0n : 35n };
      },
    } as unknown as AcceptorLink;
    const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([link], log, () => 60n) };
    const deps = { node, links: [], proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 5000, watcherBufferBytes: 1 << 20 } as unknown as ProposerServiceDeps;
    const { server, client } = await serve(deps);
    const watch = async (fromSlot: bigint): Promise<{ got: bigint[]; err: ServiceError }> => {
      const got: bigint[] = [];
      const call = client.watchChosen({ fromSlot }, { deadline: new Date(Date.now() + 10_000) });
      call.on('data', (r: WatchChosenResponse) => got.push(r.slot));
      return { got, err: await new Promise<ServiceError>((resolve) => call.on('error', resolve)) };
    };
    try {
      // It fell behind mid-stream: what was sent, and where the log goes on.
      const behind = await watch(0n);
      expect(behind.got).toEqual(held.slice(0, 10).map((e) => e.slot));
      expect(behind.err.code).toBe(status.OUT_OF_RANGE);
      expect(behind.err.details).toMatch(/the state snapshot at slot 35 covers it/);
      expect(behind.err.details).toMatch(/\(slots below 10 were sent; slot 10 is no longer kept: resume with WatchChosen from_slot 30, where the kept log goes on\)$/);
      expect(behind.err.details).not.toMatch(/resume with WatchChosen from_slot 10/);
      // Started below it: nothing was sent, and from_slot itself is not offered again.
      const below = await watch(5n);
      expect(below.got).toEqual([]);
      expect(below.err.code).toBe(status.OUT_OF_RANGE);
      expect(below.err.details).toMatch(/\(nothing was sent; slot 5 is no longer kept: resume with WatchChosen from_slot 30, where the kept log goes on\)$/);
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });

  it("counts what waits for a watcher in the server's answer budget, stops writing at its share, and gives it back when the watcher leaves", async () => {
    const big = (i: number): ChosenEntry => ({ slot: BigInt(i), ballot, value: { kind: 'batch', commands: [{ clientRequestId: `b${i}`, contentType: 'application/octet-stream', data: Buffer.alloc(512 * 1024, i % 256) }] } });
    // About 50 MiB of slots of 512 KiB: the stream's own buffer (16 messages) would hold 8 MiB.
    const held = Array.from({ length: 100 }, (_, i) => big(i));
    const log = new ChosenLog({ retainedSlotsMax: 200, retainedBytesMax: 1 << 27, state: new AgreedState({ digest: (d) => createHash('sha256').update(d).digest('hex') }) });
    log.learn(held);
    const share = 4 * 1024 * 1024;
    const answers = new AnswerBudget({ totalBytes: share, perPeerBytes: share });
    const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([], log, () => 100n) };
    // The watcher's own bound far above the budget: the budget is what stops the pump.
    const deps = { node, links: [], proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 60_000, watcherBufferBytes: 1 << 30, answers } as unknown as ProposerServiceDeps;
    const { server, client } = await serve(deps);
    try {
      const call = client.watchChosen({ fromSlot: 0n }, { deadline: new Date(Date.now() + 30_000) });
      call.on('error', () => undefined);
      call.pause(); // a client that reads nothing
      // The client library takes messages into its own buffer though the call is paused (grpc-js
      // reads on, at its own pace), which gives bytes back and lets the pump write on: asserted is
      // what the budget saw meanwhile: it reached the share, and never passed it by more than one slot.
      const seen: number[] = [];
      for (let i = 0; i < 200 && answers.heldBytes < share; i++) {
        await new Promise((r) => setTimeout(r, 25));
        seen.push(answers.heldBytes);
      }
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 25));
        seen.push(answers.heldBytes);
      }
      expect(Math.max(...seen)).toBeGreaterThanOrEqual(share);
      expect(Math.max(...seen)).toBeLessThanOrEqual(share + 513 * 1024);
      call.cancel();
      for (let i = 0; i < 200 && answers.heldBytes > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(answers.heldBytes).toBe(0);
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });
});

describe('WatchChosen and a state snapshot the proposer installs', () => {
  it('tells a watcher waiting below the snapshot at once, not at the next slot delivered', async () => {
    const digest = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest }) });
    log.learn(Array.from({ length: 10 }, (_, i) => entry(i)));
    // The acceptors dropped every slot below 30, which a snapshot at 30 covers.
    const link = {
      nodeId: 0,
      up: true,
      learn: async (): Promise<LearnResponse> => ({ chosen: [], committedIndex: 40n, oldestKeptSlot: 30n, snapshotSlot: 30n }),
    } as unknown as AcceptorLink;
    const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([link], log, () => 40n) };
    const deps = { node, links: [], proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 5000, watcherBufferBytes: 1 << 20 } as unknown as ProposerServiceDeps;
    const { server, client } = await serve(deps);
    try {
      const got: bigint[] = [];
      const call = client.watchChosen({ fromSlot: 8n }, { deadline: new Date(Date.now() + 10_000) });
      const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
      await new Promise<void>((resolve) =>
        call.on('data', (r: WatchChosenResponse) => {
          got.push(r.slot);
          if (r.slot === 9n) resolve();
        }),
      );
      // The watcher waits at slot 10; the proposer continues from a snapshot at 30 (no slot is delivered after it).
      const state = new AgreedState({ digest });
      for (let i = 0; i < 30; i++) state.advance({ slot: BigInt(i), ballot, value: { kind: 'noop' } });
      log.installSnapshot(state);
      const err = await ended;
      expect(got).toEqual([8n, 9n]);
      expect(err.code).toBe(status.OUT_OF_RANGE);
      expect(err.details).toMatch(/slot 10 is no longer kept: resume with WatchChosen from_slot 30/);
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });
});
