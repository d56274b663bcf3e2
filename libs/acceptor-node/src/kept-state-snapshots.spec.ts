import type { ChosenRecord } from '@paxos/consensus-core';
import { pino } from 'pino';
import { AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import { HistoryRetention } from './history-retention';
import { restoreAgreedState } from './restore-state';
import { KeptStateSnapshots } from './kept-state-snapshots';
import { MemoryDisk, MemoryStorage } from './memory-storage';
import type { SnapshotGeneration, StateSnapshotStore } from './state-snapshot-store';

const logger = pino({ level: 'silent' });
const body = (slot: bigint) => Buffer.from(`state at ${slot}`);
const record = (slot: bigint): ChosenRecord => ({ slot, ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } });

/** A disk's snapshot store, counting the reads that reach it. */
function counted(disk: MemoryDisk, opts: { writeFault?: () => string | undefined } = {}) {
  const storage = new MemoryStorage(disk, { syncDelayMs: () => 0, ...opts });
  const reads: SnapshotGeneration[] = [];
  const store: StateSnapshotStore = {
    write: (slot, b) => storage.stateSnapshots.write(slot, b),
    read: (generation) => {
      reads.push(generation);
      return storage.stateSnapshots.read(generation);
    },
  };
  return { storage, store, reads };
}

function diskWith(latest: bigint, previous: bigint): MemoryDisk {
  const disk = new MemoryDisk();
  disk.stateSnapshots = { latest: { slot: latest, body: body(latest) }, previous: { slot: previous, body: body(previous) } };
  return disk;
}

describe('KeptStateSnapshots: the snapshot an acceptor can give, in one place', () => {
  it('names what give serves: the latest while whole, the previous once the latest was found damaged', () => {
    const disk = diskWith(20n, 10n);
    const { store } = counted(disk);
    const kept = new KeptStateSnapshots(store);
    expect(kept.slotToGive).toBe(20n);
    disk.damageStateSnapshot('latest');
    // Not read again for a report: a damaged file is found when it is read.
    expect(kept.slotToGive).toBe(20n);
    const given = kept.give();
    expect('slot' in given && given.slot).toBe(10n);
    expect(kept.slotToGive).toBe(10n);
    // Only the previous one is whole now: the history may go no further.
    expect(kept.coveredBelow).toBeUndefined();
  });

  it('after a restore from the previous file (the latest damaged), names the previous one', () => {
    const disk = diskWith(20n, 10n);
    disk.damageStateSnapshot('latest');
    const kept = new KeptStateSnapshots(counted(disk).store);
    // As restoreAgreedState reads: the latest, then the previous.
    expect('missing' in kept.read('latest')).toBe(true);
    expect(kept.read('previous')).toMatchObject({ slot: 10n });
    expect(kept.slotToGive).toBe(10n);
    const given = kept.give();
    expect('slot' in given && given.slot).toBe(10n);
  });

  it('names none when neither file can be given, and the latest when only the previous is damaged', () => {
    const disk = diskWith(20n, 10n);
    disk.damageStateSnapshot('previous');
    const kept = new KeptStateSnapshots(counted(disk).store);
    expect(kept.slotToGive).toBe(20n);
    disk.damageStateSnapshot('latest');
    expect('missing' in kept.give()).toBe(true);
    expect(kept.slotToGive).toBeUndefined();
    expect(kept.coveredBelow).toBeUndefined();
  });

  it('reads each file once for its reports, not per report', () => {
    const { store, reads } = counted(diskWith(20n, 10n));
    const kept = new KeptStateSnapshots(store);
    for (let i = 0; i < 100; i++) expect(kept.slotToGive).toBe(20n);
    expect(reads).toEqual(['latest']);
  });

  it('follows each write: a damaged latest replaced in place keeps the previous, and both cover the history again', async () => {
    const disk = diskWith(20n, 10n);
    const { store, reads } = counted(disk);
    const kept = new KeptStateSnapshots(store);
    disk.damageStateSnapshot('latest');
    kept.give();
    expect([kept.slotToGive, kept.coveredBelow]).toEqual([10n, undefined]);
    await kept.write(30n, body(30n));
    expect([kept.slotToGive, kept.coveredBelow]).toEqual([30n, 10n]);
    await kept.write(40n, body(40n));
    expect([kept.slotToGive, kept.coveredBelow]).toEqual([40n, 30n]);
    // Written, not read back for the reports.
    const before = reads.length;
    expect(kept.slotToGive).toBe(40n);
    expect(reads.length).toBe(before);
  });

  it('looks at the files again after a write that failed', async () => {
    const faults: { next?: string } = {};
    const disk = diskWith(20n, 10n);
    const { store, reads } = counted(disk, { writeFault: () => faults.next });
    const kept = new KeptStateSnapshots(store);
    await kept.write(30n, body(30n));
    expect(reads).toEqual([]);
    faults.next = 'EIO';
    await expect(kept.write(40n, body(40n))).rejects.toThrow(/EIO/);
    expect(kept.coveredBelow).toBeUndefined();
    expect(kept.slotToGive).toBe(30n);
    expect(reads).toEqual(['latest']);
  });
});

describe('history retention by the snapshots the node can give', () => {
  /** A node's history of slots [0, end), all synced, with retention over its snapshot files. */
  function node(end: bigint, retainSlots: bigint, quorumCommitted = end) {
    const disk = new MemoryDisk();
    const { storage, store } = counted(disk);
    storage.history.append(Array.from({ length: Number(end) }, (_, i) => record(BigInt(i))));
    storage.history.sync();
    const kept = new KeptStateSnapshots(store);
    const retention = new HistoryRetention(storage.history, retainSlots, logger, kept);
    retention.quorumCommittedIs(quorumCommitted);
    return { disk, history: storage.history, kept, retention };
  }
  const afterRequest = () => new Promise((r) => setImmediate(r));

  it('drops only below both whole files, never above the snapshot it gives', async () => {
    const { history, kept, retention } = node(500n, 10n);
    await kept.write(100n, body(100n));
    retention.snapshotWritten();
    expect(history.firstSlot).toBe(0n); // one snapshot: nothing goes
    await kept.write(200n, body(200n));
    retention.snapshotWritten();
    expect(history.firstSlot).toBe(100n);
    expect(history.firstSlot).toBeLessThanOrEqual(kept.slotToGive as bigint);
  });

  it('drops nothing more once the latest was found damaged, until a write makes two whole files again', async () => {
    const { disk, history, kept, retention } = node(1000n, 10n, 150n);
    await kept.write(100n, body(100n));
    await kept.write(200n, body(200n));
    retention.snapshotWritten();
    // Held at the quorum's committed index (150), short of the previous snapshot (200).
    expect(history.firstSlot).toBe(100n);
    await kept.write(300n, body(300n));
    retention.snapshotWritten();
    expect(history.firstSlot).toBe(150n);
    // The latest (300) is damaged under the node and a transfer finds it: the node gives 200.
    disk.damageStateSnapshot('latest');
    expect('slot' in kept.give() && kept.slotToGive).toBe(200n);
    // The quorum moves on: the held drop may not go past the one file left whole (or at all: one
    // more damaged file would cost the state), however far the quorum is.
    retention.quorumCommittedIs(900n);
    await afterRequest();
    expect(history.firstSlot).toBe(150n);
    // The next snapshot replaces the damaged latest in place and keeps 200: both whole again.
    await kept.write(400n, body(400n));
    retention.snapshotWritten();
    expect(history.firstSlot).toBe(200n);
    expect(history.firstSlot).toBeLessThanOrEqual(kept.slotToGive as bigint);
  });
});

describe('a snapshot file whose slot field was damaged (outside its CRC)', () => {
  /** The encoded state of an empty log applied up to `slot`. */
  const stateAt = (slot: bigint): Buffer => {
    const s = new AgreedState({});
    for (let i = 0n; i < slot; i++) s.advance({ slot: i, ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } });
    return encodeStateSnapshot(s.snapshot());
  };

  it('is not given nor trusted by retention once the restore found its state at another slot, until writes replace it', async () => {
    const disk = new MemoryDisk();
    // Slot 20's state under a header that says 2^32 + 20 (a flipped bit in the slot field).
    disk.stateSnapshots = { latest: { slot: 4294967316n, body: stateAt(20n) }, previous: { slot: 10n, body: stateAt(10n) } };
    const { storage, store } = counted(disk);
    const kept = new KeptStateSnapshots(store);
    const restored = restoreAgreedState(kept, storage.history, {}, logger);
    expect('state' in restored && restored.state.appliedSlot).toBe(10n);
    // Before, Learn and Status named slot 4294967316 and give() served a file every installer refuses.
    expect(kept.slotToGive).toBe(10n);
    const given = kept.give();
    expect('slot' in given && given.slot).toBe(10n);
    expect(kept.coveredBelow).toBeUndefined();
    // The store keeps the damaged file as the previous one (its CRC holds): still not counted.
    await kept.write(30n, stateAt(30n));
    expect(kept.slotToGive).toBe(30n);
    expect(kept.coveredBelow).toBeUndefined();
    await kept.write(40n, stateAt(40n));
    expect(kept.coveredBelow).toBe(30n);
  });
});
