import type { AcceptorSnapshot, ChosenRecord, DurableChange } from '@paxos/consensus-core';
import type { AcceptorNodeStorage, ChosenHistoryStore } from './node-storage';
import type { SnapshotGeneration, StateSnapshotStore, StoredStateSnapshot } from './state-snapshot-store';

/**
 * An acceptor's disk in memory, for the node-level simulator: what survives a power loss is
 * exactly what was made durable. Votes and promises are durable once their (simulated) fdatasync
 * completed; the chosen history's tail after its last sync may be lost. One disk outlives many
 * storage incarnations (one per run of the acceptor process).
 */
export class MemoryDisk {
  snapshot: AcceptorSnapshot | undefined;
  /** Durable changes after the snapshot, with their sequence numbers. */
  changes: Array<{ readonly seq: number; readonly change: DurableChange }> = [];
  history: ChosenRecord[] = [];
  historyFirstSlot = 0n;
  /** History slots below this one were synced. */
  historySyncedEnd = 0n;
  /** True once some storage used this disk (a history created on a fresh disk is not "created" on an old one). */
  used = false;
  /**
   * The state snapshot files, as the acceptor app keeps them (storage/state-snapshot-file.ts):
   * `latest` is state.snapshot, `previous` state.snapshot.prev. A write syncs a temporary file,
   * renames the latest to the previous, then the temporary to the latest; a crash between the two
   * renames leaves no latest (interruptStateSnapshotWrite); a damaged latest is replaced without
   * being renamed, so that it never pushes out a whole previous. A damaged file (damageStateSnapshot)
   * fails its CRC when read, and a rename moves it with its damage.
   */
  stateSnapshots: { latest?: MemorySnapshotFile; previous?: MemorySnapshotFile } = {};

  /**
   * The process stopped between a state snapshot write's two renames: the latest went to be the
   * previous (the one before is gone), and the new one never took its place. A damaged latest is
   * not renamed (the second rename replaces it), so then nothing changed yet.
   */
  interruptStateSnapshotWrite(): void {
    const kept = this.stateSnapshots;
    // As write: a damaged latest is not moved over the previous (it is replaced in place).
    if (kept.latest && !kept.latest.damaged) this.stateSnapshots = { previous: kept.latest };
  }

  /** A state snapshot file is damaged on the disk (bit rot, a bad sector): its CRC fails from now on. */
  damageStateSnapshot(generation: SnapshotGeneration): boolean {
    const file = this.stateSnapshots[generation];
    if (!file || file.damaged) return false;
    this.stateSnapshots = { ...this.stateSnapshots, [generation]: { ...file, damaged: true } };
    return true;
  }

  /**
   * A power loss: the history keeps its synced part and, of what was not synced, a prefix of
   * `keep(unsynced)` records (what the page cache had written out); returns the records lost.
   */
  powerLoss(keep: (unsynced: number) => number): ChosenRecord[] {
    const synced = Number(this.historySyncedEnd - this.historyFirstSlot);
    const unsynced = this.history.length - synced;
    const lost = unsynced > 0 ? this.history.splice(synced + Math.max(0, Math.min(unsynced, keep(unsynced)))) : [];
    // What survived is on the disk now: a later power loss keeps it.
    this.historySyncedEnd = this.historyFirstSlot + BigInt(this.history.length);
    return lost;
  }
}

/** A state snapshot file on a MemoryDisk: its slot and body, and whether the disk damaged it since. */
export interface MemorySnapshotFile {
  readonly slot: bigint;
  readonly body: Buffer;
  readonly damaged?: boolean;
}

export interface MemoryStorageOptions {
  /** How long one fdatasync takes (ms), drawn per group commit. */
  readonly syncDelayMs: () => number;
  /** Asked before each group commit: a string fails that write (the storage stays unhealthy for `repairMs`). */
  readonly writeFault?: () => string | undefined;
  readonly repairMs?: number;
  /**
   * Negative control only: an append resolves before it is durable (an acceptor that answers
   * before persisting). A power loss then drops acknowledged votes.
   */
  readonly unsafeAckBeforeSync?: boolean;
  /** Told of chosen records the history no longer holds (retention, or a restart at an installed snapshot): a checker keeps every slot. */
  readonly released?: (records: readonly ChosenRecord[]) => void;
  /**
   * Called as a state snapshot write reaches its renames, with `stop`: calling it stops the
   * process between them (the disk keeps the previous snapshot alone, as
   * interruptStateSnapshotWrite leaves it, and this incarnation is dead: the caller crashes the
   * rest of the process); the write is then never answered.
   */
  readonly betweenSnapshotRenames?: (stop: () => void) => void;
}

interface Pending {
  readonly seq: number;
  readonly change: DurableChange;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * One incarnation's storage on a MemoryDisk, with the contract of the acceptor's file storage:
 * appends are made durable in order by group commits, a failed write rejects what it held and
 * makes the storage unhealthy until repaired, a checkpoint replaces the changes it covers by the
 * snapshot. After crash() nothing of this incarnation reaches the disk any more.
 */
export class MemoryStorage implements AcceptorNodeStorage {
  readonly history: MemoryHistory;
  /** The state snapshots on this disk, written through this incarnation (none after crash()). */
  readonly stateSnapshots: StateSnapshotStore;
  private queue: Pending[] = [];
  private syncing = false;
  private nextSeq: number;
  private failure: string | undefined;
  private dead = false;

  constructor(
    private readonly disk: MemoryDisk,
    private readonly opts: MemoryStorageOptions,
  ) {
    // As the file history syncs its last segment at open: what an earlier incarnation wrote is durable now.
    disk.historySyncedEnd = disk.historyFirstSlot + BigInt(disk.history.length);
    this.history = new MemoryHistory(disk, !disk.used, opts.released);
    disk.used = true;
    this.stateSnapshots = { write: (slot, body) => this.writeStateSnapshot(slot, body), read: (generation) => readMemorySnapshot(this.disk, generation) };
    this.nextSeq = (disk.changes[disk.changes.length - 1]?.seq ?? 0) + 1;
  }

  /** What a restart recovers: the snapshot and the durable changes after it. */
  recovered(): { snapshot: AcceptorSnapshot | undefined; changes: DurableChange[] } {
    return { snapshot: this.disk.snapshot, changes: this.disk.changes.map((c) => c.change) };
  }

  get healthy(): boolean {
    return this.failure === undefined && !this.dead;
  }

  append(change: DurableChange): Promise<void> {
    if (this.dead) return new Promise(() => undefined);
    if (this.failure !== undefined) return Promise.reject(new Error(`storage is unhealthy: ${this.failure}`));
    return new Promise<void>((resolve, reject) => {
      const seq = this.nextSeq++;
      if (this.opts.unsafeAckBeforeSync) {
        this.queue.push({ seq, change, resolve: () => undefined, reject: () => undefined });
        resolve();
      } else this.queue.push({ seq, change, resolve, reject });
      this.startSync();
    });
  }

  checkpoint(snapshot: AcceptorSnapshot): Promise<void> {
    if (this.dead) return new Promise(() => undefined);
    if (this.failure !== undefined) return Promise.reject(new Error(`storage is unhealthy: ${this.failure}`));
    // Everything appended before this call is covered by the snapshot (the node took it after them).
    const cut = this.nextSeq;
    return new Promise<void>((resolve, reject) => {
      const finish = () => {
        if (this.dead) return;
        if (this.queue.some((p) => p.seq < cut)) {
          setTimeout(finish, 1);
          return;
        }
        if (this.failure !== undefined) {
          reject(new Error(`checkpoint failed: ${this.failure}`));
          return;
        }
        this.history.sync();
        this.disk.snapshot = snapshot;
        this.disk.changes = this.disk.changes.filter((c) => c.seq >= cut);
        resolve();
      };
      setTimeout(finish, this.opts.syncDelayMs());
    });
  }

  /**
   * A state snapshot becomes the latest after one (simulated) sync, the one it replaces the
   * previous when that one is whole (StateSnapshotStore.write); a write fault rejects it and keeps both as they were; a crash first loses it, and
   * one that lands between the renames (betweenSnapshotRenames) leaves the previous alone. As
   * the file store's rename of a missing latest, a write with no latest keeps the previous.
   */
  private writeStateSnapshot(slot: bigint, body: Buffer): Promise<{ previousSlot: bigint | undefined }> {
    if (this.dead) return new Promise(() => undefined);
    const fault = this.opts.writeFault?.();
    const copy = Buffer.from(body);
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (this.dead) return;
        if (fault !== undefined) {
          reject(new Error(`the state snapshot was not written: ${fault}`));
          return;
        }
        this.opts.betweenSnapshotRenames?.(() => {
          this.disk.interruptStateSnapshotWrite();
          this.crash();
        });
        if (this.dead) return;
        const kept = this.disk.stateSnapshots;
        const previous = kept.latest && !kept.latest.damaged ? kept.latest : kept.previous;
        this.disk.stateSnapshots = { latest: { slot, body: copy }, ...(previous ? { previous } : {}) };
        resolve({ previousSlot: previous && !previous.damaged ? previous.slot : undefined });
      }, this.opts.syncDelayMs());
    });
  }

  /** The process dies: queued appends are never answered and never reach the disk. */
  crash(): void {
    this.dead = true;
    this.queue = [];
  }

  private startSync(): void {
    if (this.syncing || this.dead) return;
    this.syncing = true;
    const batch = this.queue.splice(0, this.queue.length);
    const fault = this.opts.writeFault?.();
    setTimeout(() => {
      this.syncing = false;
      if (this.dead) return;
      if (fault !== undefined) {
        this.fail(fault, batch);
        return;
      }
      for (const p of batch) this.disk.changes.push({ seq: p.seq, change: p.change });
      for (const p of batch) p.resolve();
      if (this.queue.length > 0) this.startSync();
    }, this.opts.syncDelayMs());
  }

  private fail(reason: string, batch: readonly Pending[]): void {
    this.failure = reason;
    const all = [...batch, ...this.queue.splice(0, this.queue.length)];
    for (const p of all) p.reject(new Error(`not durable: ${reason}`));
    setTimeout(() => {
      if (!this.dead) this.failure = undefined;
    }, this.opts.repairMs ?? 50);
  }
}

/** The chosen history on a MemoryDisk (written at once, durable at sync or at a checkpoint). */
export class MemoryHistory implements ChosenHistoryStore {
  readonly file = 'memory:history';

  constructor(
    private readonly disk: MemoryDisk,
    readonly created: boolean,
    private readonly released?: (records: readonly ChosenRecord[]) => void,
  ) {}

  get firstSlot(): bigint {
    return this.disk.historyFirstSlot;
  }

  get endSlot(): bigint {
    return this.disk.historyFirstSlot + BigInt(this.disk.history.length);
  }

  get durableEnd(): bigint {
    return this.disk.historySyncedEnd;
  }

  append(records: readonly ChosenRecord[]): void {
    let expected = this.endSlot;
    for (const r of records) {
      if (r.slot !== expected) throw new Error(`assertion: chosen history append of slot ${r.slot}, expected ${expected}`);
      expected += 1n;
    }
    this.disk.history.push(...records);
  }

  read(from: bigint, maxEntries: number, maxBytes: number): ChosenRecord[] {
    if (from < this.firstSlot) throw new Error(`assertion: read from slot ${from} below the history's first slot ${this.firstSlot}`);
    const out: ChosenRecord[] = [];
    let bytes = 0;
    for (let i = Number(from - this.firstSlot); i < this.disk.history.length && out.length < maxEntries; i++) {
      const r = this.disk.history[i] as ChosenRecord;
      const size = r.value.kind === 'batch' ? r.value.commands.reduce((n, c) => n + c.data.length, 0) : 0;
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(r);
      bytes += size;
    }
    return out;
  }

  startAt(slot: bigint): void {
    if (this.disk.history.length > 0) throw new Error(`assertion: startAt(${slot}) on a history holding slots`);
    this.disk.historyFirstSlot = slot;
    this.disk.historySyncedEnd = slot;
  }

  restartAt(slot: bigint): void {
    if (slot <= this.endSlot) throw new Error(`assertion: restartAt(${slot}) on a history that holds slots up to ${this.endSlot}`);
    this.released?.(this.disk.history);
    this.disk.history = [];
    this.disk.historyFirstSlot = slot;
    this.disk.historySyncedEnd = slot;
  }

  dropBelow(slot: bigint): bigint {
    // Never the slots not yet synced, as the file history keeps the segment it writes.
    const end = slot < this.disk.historySyncedEnd ? slot : this.disk.historySyncedEnd;
    if (end <= this.firstSlot) return this.firstSlot;
    const dropped = this.disk.history.splice(0, Number(end - this.firstSlot));
    this.disk.historyFirstSlot = end;
    this.released?.(dropped);
    return end;
  }

  sync(): void {
    this.disk.historySyncedEnd = this.endSlot;
  }
}

function readMemorySnapshot(disk: MemoryDisk, generation: SnapshotGeneration): StoredStateSnapshot {
  const kept = disk.stateSnapshots[generation];
  if (!kept) return { missing: 'none written yet' };
  if (kept.damaged) return { missing: `memory:${generation === 'latest' ? 'state.snapshot' : 'state.snapshot.prev'} fails its CRC` };
  return { slot: kept.slot, body: kept.body };
}
