import { createLogger } from '@paxos/grpc-kit';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { serialize } from 'node:v8';
import { HistoryRetention, KeptStateSnapshots, restoreAgreedState, StateApplier } from '@paxos/acceptor-node';
import { ChosenHistory } from './storage';
import type { ChosenRecord } from './storage/durable-types';
import { PREVIOUS_STATE_SNAPSHOT_FILE, STATE_SNAPSHOT_FILE, readStateSnapshot, stateSnapshotFiles, writeStateSnapshot } from './storage/state-snapshot-file';
import { status } from '@grpc/grpc-js';
import { tempDir } from './storage/storage-test-helpers';

const logger = createLogger('restore-state-test');
logger.level = 'silent';
const ballot = { round: 1n, proposerId: 1 };
/** Slots whose ids repeat (so sessions decide duplicates) with a no-op now and then. */
const record = (s: number): ChosenRecord => ({
  slot: BigInt(s),
  ballot,
  value: s % 9 === 4 ? { kind: 'noop' } : { kind: 'batch', commands: [{ clientRequestId: `c${s % 37}`, contentType: 'text/plain', data: Buffer.from(`v${s}`) }] },
});
const stateOf = (r: ReturnType<typeof restoreAgreedState>): AgreedState => {
  if (!('state' in r)) throw new Error(r.unavailable);
  return r.state;
};
const flipByte = (file: string) => {
  const bytes = readFileSync(file);
  bytes[bytes.length - 3] ^= 0x40;
  writeFileSync(file, bytes);
};
/** Polls until ok() holds; throws once 15 s pass without it (applying runs in the background). */
const waitFor = async (ok: () => boolean, what = 'the condition') => {
  const deadline = Date.now() + 15_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after 15 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Appends the chosen slots up to each of `tos` and waits for the applier's state snapshot there. */
async function snapshotsAt(history: ChosenHistory, applier: StateApplier, tos: readonly number[]): Promise<void> {
  for (const to of tos) {
    history.append(Array.from({ length: to - Number(history.endSlot) }, (_, k) => record(Number(history.endSlot) + k)));
    applier.catchUp();
    await waitFor(() => applier.state.appliedSlot === BigInt(to));
    await applier.snapshotWritten();
  }
}

describe('durable snapshots of an acceptor\'s agreed state', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('restore-state-')));
  afterEach(() => cleanup());

  it('are written as slots are applied, and a restart continues from the last one to the same state', async () => {
    const history = ChosenHistory.open(dir);
    history.append(Array.from({ length: 500 }, (_, s) => record(s)));
    const state = new AgreedState({});
    const applier = new StateApplier(history, { state }, logger, { store: stateSnapshotFiles(dir), everySlots: 120 });
    applier.catchUp();
    await waitFor(() => state.appliedSlot === 500n);
    // Fewer slots than the interval: applied, no new snapshot.
    history.append(Array.from({ length: 100 }, (_, s) => record(500 + s)));
    applier.catchUp();
    await waitFor(() => state.appliedSlot === 600n);
    await applier.stop();
    const restored = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger));
    expect(restored.appliedSlot).toBe(500n); // from the snapshot, not from slot 0
    for (const e of history.read(restored.appliedSlot, 1000, 1 << 30)) restored.advance(e);
    expect(restored.snapshot()).toEqual(state.snapshot());
    history.close();
  });

  it('falls back to the previous snapshot when the latest is damaged, and to slot 0 when both are', async () => {
    const history = ChosenHistory.open(dir);
    const applier = new StateApplier(history, { state: new AgreedState({}) }, logger, { store: stateSnapshotFiles(dir), everySlots: 100 });
    await snapshotsAt(history, applier, [200, 300]);
    expect(stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger)).appliedSlot).toBe(300n);
    flipByte(path.join(dir, STATE_SNAPSHOT_FILE));
    expect(stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger)).appliedSlot).toBe(200n);
    flipByte(path.join(dir, PREVIOUS_STATE_SNAPSHOT_FILE));
    expect(stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger)).appliedSlot).toBe(0n);
    history.close();
  });

  it('keeps an installed snapshot as both the latest and the previous one: the history restarts at its slot', async () => {
    const history = ChosenHistory.open(dir);
    const applier = new StateApplier(history, { state: new AgreedState({}) }, logger, { store: stateSnapshotFiles(dir), everySlots: 100 });
    history.append(Array.from({ length: 200 }, (_, s) => record(s)));
    applier.catchUp();
    await waitFor(() => applier.state.appliedSlot === 200n);
    await applier.snapshotWritten();
    // Another node's state at slot 500, installed as state-install.ts (acceptor-node) does.
    const other = new AgreedState({});
    for (let s = 0; s < 500; s++) other.advance(record(s));
    await applier.keepSnapshot(500n, encodeStateSnapshot(other.snapshot()));
    history.restartAt(500n);
    applier.install(new AgreedState({}, other.snapshot()));
    flipByte(path.join(dir, STATE_SNAPSHOT_FILE));
    const restored = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger));
    expect(restored.appliedSlot).toBe(500n);
    expect(restored.snapshot()).toEqual(other.snapshot());
    await applier.stop();
    history.close();
  });

  it('applies the history from slot 0 rather than a snapshot from before the registry\'s bounds, and takes one when the history below it is gone', async () => {
    const history = ChosenHistory.open(dir);
    history.append(Array.from({ length: 300 }, (_, s) => record(s)));
    const state = new AgreedState({});
    for (let s = 0; s < 200; s++) state.advance(record(s));
    await writeStateSnapshot(dir, 200n, serialize({ format: 2, state: state.snapshot() }));
    // The history from slot 0 is kept: it decides.
    expect(stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger)).appliedSlot).toBe(0n);
    // Dropped below slot 200 (retention): the old snapshot is all there is, and it holds nothing the bounds refuse.
    history.close();
    const { dir: other, cleanup: cleanupOther } = tempDir('restore-state-format2-');
    try {
      const retained = ChosenHistory.open(other);
      retained.restartAt(200n);
      retained.append(Array.from({ length: 100 }, (_, k) => record(200 + k)));
      await writeStateSnapshot(other, 200n, serialize({ format: 2, state: state.snapshot() }));
      const restored = stateOf(restoreAgreedState(stateSnapshotFiles(other), retained, {}, logger));
      expect(restored.appliedSlot).toBe(200n);
      expect(restored.snapshot()).toEqual(state.snapshot());
      retained.close();
    } finally {
      cleanupOther();
    }
  });

  it('applies the history from slot 0 rather than a format-3 snapshot holding more proposal numbers than the registry keeps (written before the bound)', async () => {
    const numbered = (s: number, n: number): ChosenRecord => {
      const v = encodeProposalValue(buildProposal({ proposalNumber: BigInt(n), proposerId: 1, leaderboard: [{ framework: 'alpha', score: String(n), pricePerPoint: '1.5', bid: '1', ask: '2' }], claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }] }));
      return { slot: BigInt(s), ballot, value: { kind: 'batch', commands: [{ clientRequestId: `p${s}`, contentType: v.contentType, data: v.data, verifiedBy: [0, 10] }] } };
    };
    // 10, 20, 30, then 5: a build before the bound took all four; under a bound of 2, 5 is refused (at or below 10, forgotten).
    const log = [10, 20, 30, 5].map((n, s) => numbered(s, n));
    const history = ChosenHistory.open(dir);
    history.append(log);
    const before = new AgreedState({ registry: { numbersMax: 1_000 } });
    for (const e of log) before.advance(e);
    await writeStateSnapshot(dir, 4n, serialize({ format: 3, state: before.snapshot() }));
    const fromZero = new AgreedState({ registry: { numbersMax: 2 } });
    for (const e of log) fromZero.advance(e);
    const restored = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, { numbersMax: 2 }, logger));
    for (const e of history.read(restored.appliedSlot, 1000, 1 << 30)) restored.advance(e);
    expect(restored.snapshot()).toEqual(fromZero.snapshot());
    history.close();
  });

  it('drops history only below the previous snapshot under a retention flag, and a restart rebuilds the same state', async () => {
    const history = ChosenHistory.open(dir, { segmentBytes: 4096 });
    const state = new AgreedState({});
    const snapshots = new KeptStateSnapshots(stateSnapshotFiles(dir));
    const retention = new HistoryRetention(history, 50n, logger, snapshots);
    retention.quorumCommittedIs(1000n);
    const applier = new StateApplier(history, { state }, logger, { store: snapshots, everySlots: 100, written: () => retention.snapshotWritten() });
    for (let s = 0; s < 1000; s += 50) {
      history.append(Array.from({ length: 50 }, (_, k) => record(s + k)));
      applier.settle();
      await waitFor(() => state.appliedSlot === BigInt(s + 50), `slot ${s + 50} applied`);
      // A snapshot still being written makes the applier skip the next one: each is waited for,
      // so snapshots (and the drops they allow) keep pace with the slots however slow the disk.
      await applier.snapshotWritten();
    }
    await applier.stop();
    // Snapshots about every 100 slots; history below the previous one dropped by whole segments.
    expect(history.firstSlot).toBeGreaterThan(500n);
    const restored = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger));
    expect(restored.appliedSlot).toBeGreaterThan(history.firstSlot);
    for (const e of history.read(restored.appliedSlot, 1000, 1 << 30)) restored.advance(e);
    expect(restored.snapshot()).toEqual(state.snapshot());
    // With the latest snapshot damaged, the previous one still covers the history's start.
    flipByte(path.join(dir, STATE_SNAPSHOT_FILE));
    const previous = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger));
    expect(previous.appliedSlot).toBeLessThan(restored.appliedSlot);
    expect(previous.appliedSlot).toBeGreaterThanOrEqual(history.firstSlot);
    for (const e of history.read(previous.appliedSlot, 1000, 1 << 30)) previous.advance(e);
    expect(previous.snapshot()).toEqual(state.snapshot());
    // With both damaged the node has no state, and says why.
    flipByte(path.join(dir, PREVIOUS_STATE_SNAPSHOT_FILE));
    const none = restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger);
    expect('unavailable' in none && none.unavailable).toMatch(/starts at slot \d+ and no state snapshot covers/);
    const unavailable = new StateApplier(history, none, logger);
    expect(() => unavailable.state).toThrow(expect.objectContaining({ code: status.UNAVAILABLE }));
    history.close();
  });

  it('after a restart from the previous snapshot, its next one replaces the damaged latest and keeps that previous: history drops only below a whole file', async () => {
    const history = ChosenHistory.open(dir, { segmentBytes: 4096 });
    const first = new StateApplier(history, { state: new AgreedState({}) }, logger, { store: stateSnapshotFiles(dir), everySlots: 100 });
    await snapshotsAt(history, first, [200, 300]);
    await first.stop();
    // The latest snapshot (300) damaged: the node restarts from the previous one (200).
    flipByte(path.join(dir, STATE_SNAPSHOT_FILE));
    const snapshots = new KeptStateSnapshots(stateSnapshotFiles(dir));
    const restored = restoreAgreedState(snapshots, history, {}, logger);
    expect(stateOf(restored).appliedSlot).toBe(200n);
    // Restored from the previous file: that is the one it gives and names.
    expect(snapshots.slotToGive).toBe(200n);
    const retention = new HistoryRetention(history, 0n, logger, snapshots);
    retention.quorumCommittedIs(10_000n);
    const applier = new StateApplier(history, restored, logger, { store: snapshots, everySlots: 100, written: () => retention.snapshotWritten() });
    history.append(Array.from({ length: 100 }, (_, k) => record(300 + k)));
    applier.catchUp();
    await waitFor(() => applier.state.appliedSlot === 400n);
    await applier.snapshotWritten();
    // Its first snapshot (400) replaced the damaged one in place; the whole one (200) stays the
    // previous (moved over it, a crash before the second rename would have left no usable file),
    // and history goes only below it.
    const kept = readStateSnapshot(dir, 'previous');
    expect('slot' in kept && kept.slot).toBe(200n);
    expect(history.firstSlot).toBeLessThanOrEqual(200n);
    history.append(Array.from({ length: 100 }, (_, k) => record(400 + k)));
    applier.catchUp();
    await waitFor(() => applier.state.appliedSlot === 500n);
    await applier.snapshotWritten();
    await applier.stop();
    // Two files it wrote now (400, 500): history below the previous one goes, and either file alone restores the state.
    expect(history.firstSlot).toBeGreaterThan(0n);
    expect(history.firstSlot).toBeLessThanOrEqual(400n);
    flipByte(path.join(dir, STATE_SNAPSHOT_FILE));
    const again = stateOf(restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger));
    expect(again.appliedSlot).toBe(400n);
    for (const e of history.read(again.appliedSlot, 1000, 1 << 30)) again.advance(e);
    expect(again.snapshot()).toEqual(applier.state.snapshot());
    history.close();
  });

  it('takes no snapshot below the history\'s first slot: the node has no state, so an install its history continues from is adopted', async () => {
    // A state.snapshot copied from another acceptor that was behind: its slot (500) is below where this history starts (1000).
    const history = ChosenHistory.open(dir);
    history.startAt(1000n);
    history.append(Array.from({ length: 100 }, (_, k) => record(1000 + k)));
    const behind = new AgreedState({});
    for (let s = 0; s < 500; s++) behind.advance(record(s));
    await writeStateSnapshot(dir, 500n, encodeStateSnapshot(behind.snapshot()));
    const restored = restoreAgreedState(stateSnapshotFiles(dir), history, {}, logger);
    expect('unavailable' in restored && restored.unavailable).toMatch(/starts at slot 1000 and no state snapshot covers.*its slot 500 is below the history's first slot 1000/);
    // Without state (not a state that cannot continue), which is what lets state-install.ts (acceptor-node) adopt one at 1000..1100.
    expect(new StateApplier(history, restored, logger).hasState).toBe(false);
    history.close();
  });
});
