// The acceptor's durable storage: an append-only, CRC-framed log of promises and votes with group
// commit, folded into a snapshot at checkpoints, and the chosen history (every chosen slot's value,
// see chosen-history.ts). A promise or vote is fdatasync'ed before append() resolves, so the caller
// replies only after its state is on disk.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { RejoinFloor } from '@paxos/consensus-core';
import type { AcceptorSnapshot, DurableChange } from './durable-types';
import { ChosenHistory, HISTORY_DIR } from './chosen-history';
import { lockDataDirAcrossProcesses } from './data-dir-lock';
import { LEGACY_HISTORY_FILE } from './legacy-history';
import { claimDataDir, fsyncDir, lockDataDir, NODE_FILE, type NodeFile, prepareDataDir, recordedRejoinFloor, segmentGeneration, segmentName, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE } from './data-dir';
import { StorageUnavailableError, ioFailure, openFailure } from './errors';
import { carriesZerosFlag, encodeFrame } from './framing';
import { LogWriter, type LogWriterHooks } from './log-writer';
import { encodeChange } from './record-codec';
import { listSegments, recover } from './recovery';
import { writeSnapshotFile } from './snapshot-file';

export interface StorageTestHooks extends LogWriterHooks {
  /** Runs after the new snapshot is renamed into place, before old segments are deleted; a throw simulates a crash there. */
  afterSnapshotRename?: () => void | Promise<void>;
}

export interface StorageOptions {
  dataDir: string;
  nodeId: number;
  /** The network's number of acceptors: recorded in node.json at first start, and a start with another one is refused. */
  clusterSize?: number;
  /** A rejoin's floor (an acceptor that lost its data): recorded in node.json of a new dir; see claimDataDir. */
  rejoin?: RejoinFloor;
  /** Default true; false only for tests that say so (nothing is then durable across a machine crash). */
  fsync?: boolean;
  /** `checkpointDue` turns true once the live log holds this many records (default 100 000). */
  checkpointEveryRecords?: number;
  logger?: Logger;
  /** Bounds of the write queue; an append beyond them is refused with StorageOverloadedError. */
  maxPendingRecords?: number;
  maxPendingBytes?: number;
  /** How often an unhealthy storage retries its repair (default 1000 ms). */
  repairIntervalMs?: number;
  /** Size at which a chosen history segment is sealed (default HISTORY_SEGMENT_BYTES). */
  historySegmentBytes?: number;
  /** Told of each group commit of the vote log: its fdatasync's seconds and its records (metrics). */
  onSync?: (seconds: number, records: number) => void;
  testHooks?: StorageTestHooks;
}

export interface RecoveredState {
  snapshot: AcceptorSnapshot | null;
  changes: DurableChange[];
  warnings: string[];
  /** The rejoin floor node.json records (this acceptor once lost its data), if any. */
  rejoin?: RejoinFloor;
}

export interface StorageStats {
  logBytes: number;
  fsyncs: number;
  records: number;
  snapshotSlot: bigint;
  dataDir: string;
}

const DEFAULT_CHECKPOINT_EVERY = 100_000;
const DEFAULT_MAX_PENDING_RECORDS = 100_000;
const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

export class AcceptorStorage {
  private closing: Promise<void> | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  private snapshotSlot: bigint;
  private readonly checkpointEvery: number;

  private constructor(
    private readonly opts: StorageOptions,
    private readonly fsync: boolean,
    private readonly writer: LogWriter,
    private readonly unlock: () => Promise<void>,
    snapshot: AcceptorSnapshot | null,
    /** Every chosen slot's value. */
    readonly history: ChosenHistory,
  ) {
    this.snapshotSlot = snapshot?.committedIndex ?? 0n;
    this.checkpointEvery = opts.checkpointEveryRecords ?? DEFAULT_CHECKPOINT_EVERY;
  }

  /** Validates the data dir's owner, takes its lock, recovers the state and truncates a torn tail. */
  static async open(opts: StorageOptions): Promise<{ storage: AcceptorStorage; recovered: RecoveredState }> {
    try {
      return await AcceptorStorage.openDir(opts);
    } catch (err) {
      // A file that cannot be read (its mode, an I/O error) is named with what to do, not thrown bare.
      throw openFailure(err);
    }
  }

  private static async openDir(opts: StorageOptions): Promise<{ storage: AcceptorStorage; recovered: RecoveredState }> {
    if (!Number.isInteger(opts.nodeId) || opts.nodeId < 0 || opts.nodeId > 0xffffffff) {
      throw new RangeError(`nodeId must be a uint32: ${opts.nodeId}`);
    }
    const dir = path.resolve(opts.dataDir);
    const fsync = opts.fsync ?? true;
    await prepareDataDir(dir);
    const names = await fsp.readdir(dir);
    const hasData = names.some((n) => n === SNAPSHOT_FILE || n === SNAPSHOT_TMP_FILE || n === HISTORY_DIR || n === LEGACY_HISTORY_FILE || segmentGeneration(n) !== undefined);
    // The locks first: claiming may write node.json (a dir made before it recorded the network's
    // size is stamped), which only the process that holds the dir may do.
    const unlockInProcess = lockDataDir(dir);
    let unlockDir = unlockInProcess;
    let history: ChosenHistory;
    let node: NodeFile;
    try {
      const release = lockDataDirAcrossProcesses(dir);
      unlockDir = () => {
        release();
        unlockInProcess();
      };
      node = await claimDataDir(dir, opts.nodeId, hasData, opts.clusterSize, opts.rejoin);
      history = ChosenHistory.open(dir, opts.historySegmentBytes !== undefined ? { segmentBytes: opts.historySegmentBytes } : {});
    } catch (err) {
      unlockDir();
      throw err;
    }
    if (history.leftovers !== undefined) opts.logger?.warn({ removed: history.leftovers }, 'the chosen history held an index without its segment, as an earlier build left one killed in a retention drop: removed');
    if (history.repaired !== undefined) opts.logger?.warn({ repaired: history.repaired }, 'the chosen history ends in a damaged record: it is kept up to the last good one (the vote log and catch-up refill the rest; the file is cut there at the next write)');
    const unlock = async (): Promise<void> => {
      try {
        history.close();
      } finally {
        unlockDir();
      }
    };
    try {
      // The history is written only once the vote log exists: a history that holds slots proves a log.
      const logExpected = history.endSlot > 0n ? `the chosen history holds slots ${history.firstSlot}..${history.endSlot}` : undefined;
      const rec = await recover(dir, opts.nodeId, fsync, opts.logger, logExpected !== undefined ? { logExpected } : {});
      const fh = await fsp.open(path.join(dir, segmentName(rec.activeGeneration)), 'r+');
      const writer = new LogWriter(
        {
          dir,
          nodeId: opts.nodeId,
          fsync,
          maxPendingRecords: opts.maxPendingRecords ?? DEFAULT_MAX_PENDING_RECORDS,
          maxPendingBytes: opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
          repairIntervalMs: opts.repairIntervalMs ?? 1000,
          logger: opts.logger,
          hooks: opts.testHooks,
          ...(opts.onSync ? { onSync: opts.onSync } : {}),
        },
        fh,
        rec.activeGeneration,
        rec.activeSize,
        rec.activeRecords,
        carriesZerosFlag(rec.activeFormatVersion),
      );
      writer.retiredBytes = rec.olderBytes;
      writer.retiredRecords = rec.olderRecords;
      const storage = new AcceptorStorage({ ...opts, dataDir: dir }, fsync, writer, unlock, rec.snapshot, history);
      opts.logger?.info(
        {
          dataDir: dir,
          records: rec.changes.length,
          snapshotSlot: storage.snapshotSlot,
          history: `${history.firstSlot}..${history.endSlot}`,
          warnings: rec.warnings.length,
        },
        'acceptor storage recovered',
      );
      const rejoin = recordedRejoinFloor(node, path.join(dir, NODE_FILE));
      return { storage, recovered: { snapshot: rec.snapshot, changes: rec.changes, warnings: rec.warnings, ...(rejoin !== undefined ? { rejoin } : {}) } };
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  /**
   * The vote log and the chosen history both write: a failed history write (ENOSPC, EIO) makes
   * the storage unhealthy too, until the history repaired itself (it tries on a timer after a
   * write that failed for want of space; after an I/O error only a restart repairs it).
   */
  get healthy(): boolean {
    return this.writer.healthy && this.history.healthy;
  }
  get lastError(): string | undefined {
    return this.writer.lastError ?? (this.history.failureReason === undefined ? undefined : `the chosen history cannot be written: ${this.history.failureReason}`);
  }
  /** Bytes of the live log: the segments since the last checkpoint. */
  get liveLogBytes(): number {
    return this.writer.retiredBytes + this.writer.activeBytes;
  }

  /** True once the live log holds `checkpointEveryRecords` records: time to call checkpoint(). */
  get checkpointDue(): boolean {
    return this.writer.retiredRecords + this.writer.activeRecords >= this.checkpointEvery;
  }

  /**
   * Resolves only after the change is written and fdatasync'ed; concurrent appends share one
   * write + fdatasync. Rejects (StorageUnavailableError) while storage is unhealthy or closed, and
   * (StorageOverloadedError) when the write queue is full: then no reply may be sent.
   */
  append(change: DurableChange): Promise<void> {
    if (this.closing) return Promise.reject(new StorageUnavailableError('storage is closed'));
    let frame: Buffer;
    try {
      frame = encodeFrame(encodeChange(change));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.append(frame);
  }

  /**
   * Folds the state into a snapshot and restarts the log. `snapshot` must reflect every change
   * passed to append() before this call (take it synchronously just before calling): those changes
   * stay in the old segments, which are deleted once the snapshot is durable; changes appended
   * after this call go to the new segment and are replayed on top of the snapshot. Crash-safe at
   * every step: until the snapshot's rename is durable the old snapshot and all segments are used.
   */
  checkpoint(snapshot: AcceptorSnapshot): Promise<void> {
    if (this.closing) return Promise.reject(new StorageUnavailableError('storage is closed'));
    if (!this.healthy) return Promise.reject(new StorageUnavailableError(`storage is unhealthy: ${this.lastError}`));
    // Rotate now, synchronously in call order, so that the segment boundary matches the snapshot.
    const rotated = this.writer.rotate();
    rotated.catch(() => undefined); // handled in finishCheckpoint; this only keeps it from counting as unhandled
    const run = this.checkpointChain.then(() => this.finishCheckpoint(snapshot, rotated));
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private async finishCheckpoint(snapshot: AcceptorSnapshot, rotated: Promise<bigint>): Promise<void> {
    const gen = await rotated;
    const dir = this.opts.dataDir;
    try {
      // The snapshot drops votes below its committed index: the chosen values there must be durable first.
      this.history.sync();
    } catch (err) {
      // The history's own message names its file (and says whether it heals).
      this.writer.fail(`checkpoint not taken: ${(err as Error).message}`);
      throw new StorageUnavailableError(`checkpoint failed: ${this.lastError}`);
    }
    try {
      await writeSnapshotFile(dir, this.opts.nodeId, snapshot, gen, this.fsync);
    } catch (err) {
      await fsp.rm(path.join(dir, SNAPSHOT_TMP_FILE), { force: true }).catch(() => undefined);
      this.writer.fail(ioFailure('write', path.join(dir, SNAPSHOT_FILE), err));
      throw new StorageUnavailableError(`checkpoint failed: ${this.lastError}`);
    }
    this.snapshotSlot = snapshot.committedIndex;
    await this.opts.testHooks?.afterSnapshotRename?.();
    let removed = 0;
    for (const old of await listSegments(dir)) {
      if (old >= gen) continue;
      await fsp.rm(path.join(dir, segmentName(old)), { force: true });
      removed++;
    }
    if (removed > 0 && this.fsync) await fsyncDir(dir);
    if (this.writer.generation === gen) {
      // No later checkpoint rotated meanwhile: every segment before the active one is gone.
      this.writer.retiredBytes = 0;
      this.writer.retiredRecords = 0;
    }
    this.opts.logger?.info({ snapshotSlot: snapshot.committedIndex, segment: gen.toString(), removed }, 'checkpoint written');
  }

  stats(): StorageStats {
    return {
      logBytes: this.writer.retiredBytes + this.writer.activeBytes,
      fsyncs: this.writer.fsyncs,
      records: this.writer.retiredRecords + this.writer.activeRecords,
      snapshotSlot: this.snapshotSlot,
      dataDir: this.opts.dataDir,
    };
  }

  /** For SIGTERM: refuses new appends, waits for queued writes and fsyncs and any checkpoint, closes files. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.checkpointChain;
      await this.writer.close();
      await this.unlock();
    })();
    return this.closing;
  }
}
