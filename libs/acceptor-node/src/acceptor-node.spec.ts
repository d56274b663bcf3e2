import { AcceptorCore, Quorum, type AcceptorReply } from '@paxos/consensus-core';
import { pino } from 'pino';
import { AcceptorNode } from './acceptor-node';
import { joinChosenHistory } from './join-history';
import { MemoryDisk, MemoryStorage, type MemoryStorageOptions } from './memory-storage';

const logger = pino({ level: 'silent' });
const ballot = (round: bigint) => ({ round, proposerId: 1 });
const value = (id: string) => ({ kind: 'batch' as const, commands: [{ clientRequestId: id, contentType: 'text/plain', data: new Uint8Array([1, 2, 3]) }] });

function start(disk: MemoryDisk, opts: Partial<MemoryStorageOptions> = {}, nodeOpts: { checkpointEveryRecords?: number; checkpointEveryBytes?: number; liveLogBytes?: () => number } = {}) {
  const storage = new MemoryStorage(disk, { syncDelayMs: () => 5, ...opts });
  if (nodeOpts.liveLogBytes) Object.defineProperty(storage, 'liveLogBytes', { get: nodeOpts.liveLogBytes });
  const { snapshot, changes } = storage.recovered();
  const core = new AcceptorCore(snapshot ? { restored: snapshot } : {});
  for (const c of changes) core.apply(c);
  joinChosenHistory(core, storage.history, logger);
  const node = new AcceptorNode(core, storage, {
    nodeId: 0,
    quorum: Quorum.majority(3),
    proposerIds: new Set([1]),
    checkpointEveryRecords: nodeOpts.checkpointEveryRecords ?? 4,
    ...(nodeOpts.checkpointEveryBytes !== undefined ? { checkpointEveryBytes: nodeOpts.checkpointEveryBytes } : {}),
    logger,
    onStorageFailure: () => undefined,
    onStorageRecovered: () => undefined,
    random: () => 0.5,
  });
  return { node, storage, core };
}

describe('AcceptorNode over storage that loses what was not synced', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers a promise only once it is durable, and keeps it through a power loss', async () => {
    const disk = new MemoryDisk();
    const { node, storage } = start(disk);
    let reply: AcceptorReply | undefined;
    void node.handle({ type: 'prepare', ballot: ballot(7n), fromSlot: 0n }).then((r) => (reply = r));
    await jest.advanceTimersByTimeAsync(2);
    expect(reply).toBeUndefined();
    expect(disk.changes).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(5);
    expect(reply?.type).toBe('promise');
    storage.crash();
    disk.powerLoss(() => 0);
    expect(start(disk).core.promised).toEqual(ballot(7n));
  });

  it('loses an unanswered vote at a power loss, never an answered one', async () => {
    const disk = new MemoryDisk();
    const { node, storage } = start(disk);
    await Promise.all([node.handle({ type: 'prepare', ballot: ballot(2n), fromSlot: 0n }), jest.advanceTimersByTimeAsync(10)]);
    const answered = node.handle({ type: 'accept', ballot: ballot(2n), slot: 0n, value: value('a') });
    await jest.advanceTimersByTimeAsync(10);
    expect((await answered).type).toBe('accepted');
    void node.handle({ type: 'accept', ballot: ballot(2n), slot: 1n, value: value('b') });
    await jest.advanceTimersByTimeAsync(1);
    storage.crash();
    const after = start(disk).core.snapshot();
    expect(after.accepted.map((e) => e.slot)).toEqual([0n]);
  });

  it('keeps the committed index and the chosen values through a restart and checkpoints', async () => {
    const disk = new MemoryDisk();
    const { node, storage } = start(disk);
    await Promise.all([node.handle({ type: 'prepare', ballot: ballot(3n), fromSlot: 0n }), jest.advanceTimersByTimeAsync(10)]);
    for (let s = 0n; s < 6n; s++) {
      await Promise.all([node.handle({ type: 'accept', ballot: ballot(3n), slot: s, value: value(`v${s}`) }), jest.advanceTimersByTimeAsync(10)]);
    }
    await node.handle(undefined, [{ type: 'commit', ballot: ballot(3n), slot: 0n }, { type: 'commit', ballot: ballot(3n), slot: 1n }, { type: 'commit', ballot: ballot(3n), slot: 2n }]);
    await jest.advanceTimersByTimeAsync(50);
    expect(disk.snapshot).toBeDefined();
    storage.crash();
    const restarted = start(disk);
    expect(restarted.core.committedIndex).toBe(3n);
    expect(restarted.storage.history.read(0n, 10, 1 << 20).map((r) => r.slot)).toEqual([0n, 1n, 2n]);
  });

  it('answers a failed write with INTERNAL and votes again once the storage is repaired', async () => {
    const disk = new MemoryDisk();
    let fault: string | undefined = 'EIO: fdatasync failed';
    const { node, storage } = start(disk, { writeFault: () => fault, repairMs: 20 });
    const failed = node.handle({ type: 'prepare', ballot: ballot(4n), fromSlot: 0n });
    const outcome = failed.then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await jest.advanceTimersByTimeAsync(10);
    expect(await outcome).toMatch(/storage failed: not durable: EIO: fdatasync failed; the vote was not cast/);
    expect(storage.healthy).toBe(false);
    fault = undefined;
    await jest.advanceTimersByTimeAsync(1100);
    expect(storage.healthy).toBe(true);
    const again = node.handle({ type: 'prepare', ballot: ballot(5n), fromSlot: 0n });
    await jest.advanceTimersByTimeAsync(10);
    expect((await again).type).toBe('promise');
  });

  it('votes again after a failed write only once all its core holds is durable: a reply that writes nothing rests on it', async () => {
    const disk = new MemoryDisk();
    let fault: string | undefined = 'EIO: fdatasync failed';
    const { node, storage } = start(disk, { writeFault: () => fault, repairMs: 20 });
    // Prepare(5) is not written, but the core kept the promise.
    const failed = node.handle({ type: 'prepare', ballot: ballot(5n), fromSlot: 0n }).catch((e: Error) => e.message);
    await jest.advanceTimersByTimeAsync(10);
    expect(await failed).toMatch(/the vote was not cast/);
    fault = undefined;
    await jest.advanceTimersByTimeAsync(1100);
    // An Accept at ballot 4 is rejected from that promise, with no write of its own.
    const rejected = node.handle({ type: 'accept', ballot: ballot(4n), slot: 0n, value: value('a') });
    await jest.advanceTimersByTimeAsync(10);
    expect(await rejected).toMatchObject({ type: 'reject', promised: ballot(5n) });
    // The promise the reject rests on survives a power loss (the checkpoint before voting again).
    storage.crash();
    disk.powerLoss(() => 0);
    expect(start(disk).core.promised).toEqual(ballot(5n));
  });

  it('stops voting when the storage failed with no request to see it (the history written on its idle timer), and votes again once healthy', async () => {
    const disk = new MemoryDisk();
    const { node, storage } = start(disk);
    await Promise.all([node.handle({ type: 'prepare', ballot: ballot(3n), fromSlot: 0n }), jest.advanceTimersByTimeAsync(10)]);
    let failed: string | undefined = 'the chosen history cannot be written: writing chosen-0.seg failed: ENOSPC';
    Object.defineProperty(storage, 'healthy', { get: () => failed === undefined });
    Object.defineProperty(storage, 'lastError', { get: () => failed });
    // A prepare writes to the vote log only, which works: it must not be answered all the same.
    const refused = node.handle({ type: 'prepare', ballot: ballot(4n), fromSlot: 0n }).catch((e: Error) => e.message);
    await jest.advanceTimersByTimeAsync(10);
    expect(await refused).toMatch(/storage failed \(the chosen history cannot be written: .*ENOSPC\); this node does not vote/);
    expect(node.failure).toMatch(/ENOSPC/);
    failed = undefined;
    await jest.advanceTimersByTimeAsync(1100);
    expect(node.failure).toBeUndefined();
    const again = node.handle({ type: 'prepare', ballot: ballot(5n), fromSlot: 0n });
    await jest.advanceTimersByTimeAsync(10);
    expect((await again).type).toBe('promise');
  });

  it('checkpoints once the live log holds checkpointEveryBytes, however few its records (large values)', async () => {
    const disk = new MemoryDisk();
    let logBytes = 0;
    const { node } = start(disk, {}, { checkpointEveryRecords: 10_000, checkpointEveryBytes: 3_000_000, liveLogBytes: () => logBytes });
    await Promise.all([node.handle({ type: 'prepare', ballot: ballot(3n), fromSlot: 0n }), jest.advanceTimersByTimeAsync(10)]);
    for (let s = 0n; s < 3n; s++) {
      logBytes += 1_048_576;
      await Promise.all([node.handle({ type: 'accept', ballot: ballot(3n), slot: s, value: value(`v${s}`) }), jest.advanceTimersByTimeAsync(10)]);
      await jest.advanceTimersByTimeAsync(50);
      // Below 3 MB: no checkpoint; at 3 MiB: one, though 4 records are far below 10,000.
      expect(disk.snapshot !== undefined).toBe(s === 2n);
    }
  });
});
