// The log writer: one sequential loop that writes queued frames to the active segment and makes
// them durable with one fdatasync per batch (group commit). Frames queued while a write+fdatasync
// is in progress go out together in the next one. A failed write or fdatasync makes the writer
// unhealthy: everything queued is rejected, and a repair (truncate back to the last durable byte,
// fdatasync) is retried until it succeeds.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { LOG_LOST_FILE, fsyncDir, segmentName } from './data-dir';
import { StorageOverloadedError, StorageUnavailableError, ioFailure } from './errors';
import { FORMAT_VERSION, HEADER_BYTES, LOG_MAGIC, MAX_BATCH_BYTES, carriesZerosFlag, encodeHeader, markZeroSectors } from './framing';

export interface LogWriterHooks {
  /** Runs before each fdatasync of the log; a throw acts as a failed fdatasync (tests inject faults here). */
  beforeLogSync?: () => void | Promise<void>;
}

export interface LogWriterOptions {
  dir: string;
  nodeId: number;
  fsync: boolean;
  maxPendingRecords: number;
  maxPendingBytes: number;
  repairIntervalMs: number;
  logger?: Logger;
  hooks?: LogWriterHooks;
  /** Told of each group commit made durable: how long its fdatasync took and how many records it held. */
  onSync?: (seconds: number, records: number) => void;
}

type Item =
  | { kind: 'record'; frame: Buffer; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'rotate'; resolve: (gen: bigint) => void; reject: (e: Error) => void };

/** Why a log whose active segment was lost under the running node cannot go on, and what to do. */
function lostMessage(what: string): string {
  return (
    `${what}: the promises and votes it held are gone, and nothing written now would be found by a restart. ` +
    'This acceptor does not vote again; stop it, move its data dir aside as it is, and bring it back with npm run rejoin (README: "A damaged acceptor")'
  );
}

export class LogWriter {
  /** Items from `head` on wait; the slots before it are empty. */
  private queue: (Item | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** True while the write loop runs; set and cleared synchronously (see drainQueue). */
  private looping = false;
  private running: Promise<void> = Promise.resolve();
  private repairTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private _healthy = true;
  /** The failure last logged; cleared by a write that succeeds. */
  private loggedFailure: string | undefined;
  private _lastError: string | undefined;
  /** Set when the active segment is no longer the file at its name (deleted, or replaced): never repaired in place. */
  private lost: string | undefined;
  /** The write of LOG_LOST_FILE once the segment was lost (close waits for it). */
  private lostRecorded: Promise<void> = Promise.resolve();
  /** The active segment's inode, once a stat of the open descriptor told it: a repair reopens the name only if it still is this file. */
  private segmentId: { dev: number; ino: number } | undefined;
  /** Bytes and records of segments before the active one that are not deleted yet. */
  retiredBytes = 0;
  retiredRecords = 0;
  activeRecords: number;
  fsyncs = 0;

  constructor(
    private readonly opts: LogWriterOptions,
    private fh: FileHandle,
    private gen: bigint,
    /** The durable end of the active segment: everything before it is written and synced. */
    private size: number,
    records: number,
    /** Whether the active segment's format carries ZEROS_FLAG (a version-1 segment kept from an older build does not). */
    private flagZeros = true,
  ) {
    this.activeRecords = records;
  }

  get healthy(): boolean {
    return this._healthy;
  }
  get lastError(): string | undefined {
    return this._lastError;
  }
  get generation(): bigint {
    return this.gen;
  }
  get activeBytes(): number {
    return this.size;
  }
  private get file(): string {
    return path.join(this.opts.dir, segmentName(this.gen));
  }
  private get pending(): number {
    return this.queue.length - this.head;
  }

  /** Resolves once `frame` is written and fdatasync'ed. */
  append(frame: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ kind: 'record', frame, resolve, reject }, frame.length);
    });
  }

  /** Starts a new segment after everything queued before this call is durable in the current one. */
  rotate(): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => this.enqueue({ kind: 'rotate', resolve, reject }, 0));
  }

  private enqueue(item: Item, bytes: number): void {
    if (this.closed) return item.reject(new StorageUnavailableError('storage is closed'));
    if (!this._healthy) return item.reject(new StorageUnavailableError(`storage is unhealthy: ${this._lastError}`));
    if (this.pending >= this.opts.maxPendingRecords || this.queuedBytes + bytes > this.opts.maxPendingBytes) {
      return item.reject(
        new StorageOverloadedError(
          `storage write queue is full (${this.pending} records, ${this.queuedBytes} bytes pending; bounds ` +
            `${this.opts.maxPendingRecords} records, ${this.opts.maxPendingBytes} bytes): the disk is slower than the load`,
        ),
      );
    }
    this.queue.push(item);
    this.queuedBytes += bytes;
    if (!this.looping) {
      this.looping = true;
      this.running = this.drainQueue();
    }
  }

  private shift(): Item {
    const item = this.queue[this.head] as Item;
    // A taken item leaves the queue at once: its slot kept its frame (up to a value's size) reachable
    // until more than 1,024 items had passed, up to a GiB of frames already written.
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  private rejectAll(err: Error): void {
    while (this.pending > 0) this.shift().reject(err);
    this.queuedBytes = 0;
  }

  // Bounded: each iteration removes at least one item from a bounded queue, or empties it.
  // `looping` is cleared in the same synchronous step that sees the queue empty: an append made in
  // the continuation of a resolved append must start a new loop, not queue behind a finished one.
  private async drainQueue(): Promise<void> {
    try {
      while (this.pending > 0) {
        if (!this._healthy) {
          this.rejectAll(new StorageUnavailableError(`storage is unhealthy: ${this._lastError}`));
          return;
        }
        const first = this.queue[this.head] as Item;
        if (first.kind === 'rotate') {
          this.shift();
          try {
            first.resolve(await this.startNextSegment());
          } catch (err) {
            this.fail(ioFailure('starting a new log segment', path.join(this.opts.dir, segmentName(this.gen + 1n)), err));
            first.reject(new StorageUnavailableError(this._lastError ?? String(err)));
          }
          continue;
        }
        const batch: { frame: Buffer; resolve: () => void; reject: (e: Error) => void }[] = [];
        let bytes = 0;
        while (this.pending > 0) {
          const next = this.queue[this.head] as Item;
          if (next.kind !== 'record' || (batch.length > 0 && bytes + next.frame.length > MAX_BATCH_BYTES)) break;
          this.shift();
          batch.push(next);
          bytes += next.frame.length;
        }
        this.queuedBytes -= bytes;
        // Where each frame lands decides whether its bytes hold sector-aligned zeros (framing.ts).
        let at = this.size;
        for (const b of batch) {
          if (this.flagZeros) markZeroSectors(b.frame, at);
          at += b.frame.length;
        }
        const data = batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((b) => b.frame), bytes);
        let op = 'write';
        try {
          await this.writeAll(data, this.size);
          op = 'fdatasync';
          // The link count is read beside the fdatasync, with no wait of its own: a segment deleted
          // under the running node still takes writes and syncs, into a file no restart will find.
          const links = this.fh.stat().then((st) => {
            this.segmentId = { dev: st.dev, ino: st.ino };
            return st.nlink;
          });
          links.catch(() => undefined); // awaited below unless the fdatasync fails first
          if (this.opts.fsync) {
            await this.opts.hooks?.beforeLogSync?.();
            const started = process.hrtime.bigint();
            await this.fh.datasync();
            this.fsyncs++;
            this.opts.onSync?.(Number(process.hrtime.bigint() - started) / 1e9, batch.length);
          }
          op = 'fstat';
          if ((await links) === 0) this.markLost(`${this.file} was deleted while this acceptor was writing it`);
        } catch (err) {
          this.fail(ioFailure(op, this.file, err));
          const e = new StorageUnavailableError(`not durable: ${this._lastError}`);
          for (const b of batch) b.reject(e);
          continue;
        }
        if (this.lost !== undefined) {
          this.fail(lostMessage(this.lost));
          const e = new StorageUnavailableError(`not durable: ${this._lastError}`);
          for (const b of batch) b.reject(e);
          continue;
        }
        this.size += bytes;
        this.activeRecords += batch.length;
        this.loggedFailure = undefined;
        for (const b of batch) b.resolve();
      }
    } finally {
      this.looping = false;
    }
  }

  private async writeAll(data: Buffer, position: number): Promise<void> {
    let done = 0;
    // Bounded: every iteration writes at least one byte or throws.
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${position + done}`);
      done += bytesWritten;
    }
  }

  private async startNextSegment(): Promise<bigint> {
    const gen = this.gen + 1n;
    const file = path.join(this.opts.dir, segmentName(gen));
    // Any file of this name is a leftover of an interrupted rotation (the active segment is the
    // highest one), so it is overwritten.
    const fh = await fsp.open(file, 'w');
    try {
      // The segment being retired is whole and synced (a rotation runs only while healthy, after
      // every write queued before it): its size goes into the new header, so that recovery can
      // tell it cut back at a record boundary, which otherwise reads as a whole segment.
      const header = encodeHeader({ magic: LOG_MAGIC, formatVersion: FORMAT_VERSION, nodeId: this.opts.nodeId, generation: gen, previousBytes: this.size });
      const { bytesWritten } = await fh.write(header, 0, header.length, 0);
      if (bytesWritten !== header.length) throw new Error(`short header write (${bytesWritten} bytes)`);
      if (this.opts.fsync) {
        await fh.datasync();
        await fsyncDir(this.opts.dir);
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(file, { force: true }).catch(() => undefined);
      // The removal made durable: a header-only segment that came back after a power loss, beside
      // an old segment that took records after it, would refuse the next start as corruption.
      if (this.opts.fsync) await fsyncDir(this.opts.dir).catch(() => undefined);
      throw err;
    }
    const old = this.fh;
    this.retiredBytes += this.size;
    this.retiredRecords += this.activeRecords;
    this.fh = fh;
    this.segmentId = undefined;
    this.gen = gen;
    this.size = HEADER_BYTES;
    this.activeRecords = 0;
    this.flagZeros = carriesZerosFlag(FORMAT_VERSION);
    await old.close().catch((err: unknown) => this.opts.logger?.warn({ err }, 'closing a retired log segment failed'));
    return gen;
  }

  /** Marks storage unhealthy (idempotent) and schedules repair attempts. */
  fail(message: string): void {
    // Once per failure: a repair that works (a truncate, even on a full disk) followed by the same
    // failure again is one episode, not a line every repair interval.
    if (this._healthy && message !== this.loggedFailure) this.opts.logger?.error({ storageError: message }, 'storage failed: this acceptor stops voting until it recovers');
    this.loggedFailure = message;
    this._healthy = false;
    this._lastError = message;
    this.scheduleRepair();
  }

  /**
   * The active segment is not the file this writer made durable any more: never written or repaired
   * again, and a file beside the segments says so, so that a restart refuses to start from the
   * segments that are left (they would look whole without the lost one's promises and votes).
   */
  private markLost(reason: string): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    const file = path.join(this.opts.dir, LOG_LOST_FILE);
    this.lostRecorded = fsp
      .writeFile(file, `${lostMessage(reason)}\n`)
      .then(() => (this.opts.fsync ? fsyncDir(this.opts.dir) : undefined))
      .catch((err: unknown) => this.opts.logger?.error({ err, file }, 'could not record that the vote log was lost: do not restart this acceptor, bring it back with npm run rejoin'));
  }

  /** A repair found the segment lost: recorded, logged, and never repaired. */
  private lostInRepair(reason: string): false {
    this.markLost(reason);
    this._lastError = lostMessage(reason);
    this.opts.logger?.error({ storageError: this._lastError }, 'storage failed: this acceptor stops voting');
    return false;
  }

  private scheduleRepair(): void {
    if (this.closed || this.lost !== undefined || this.repairTimer !== undefined) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      void this.repair();
    }, this.opts.repairIntervalMs);
    this.repairTimer.unref();
  }

  /** Truncates the active segment back to its durable end and syncs it; healthy again on success. */
  async repair(): Promise<boolean> {
    if (this._healthy || this.closed || this.lost !== undefined) return this._healthy;
    if (this.looping) {
      this.scheduleRepair();
      return false;
    }
    try {
      // The segment may have been deleted or replaced while the writer was failed (no write read its
      // link count then): the open descriptor says whether it is still linked, and which file it is.
      const before = await this.fh.stat().catch(() => undefined);
      if (before !== undefined) {
        this.segmentId = { dev: before.dev, ino: before.ino };
        if (before.nlink === 0) return this.lostInRepair(`${this.file} was deleted while this acceptor was writing it`);
      }
      await this.fh.close().catch(() => undefined);
      try {
        this.fh = await fsp.open(this.file, 'r+');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.lostInRepair(`${this.file} was deleted or moved away while this acceptor was writing it`);
        throw err;
      }
      const st = await this.fh.stat();
      const id = this.segmentId;
      if (id !== undefined && (st.dev !== id.dev || st.ino !== id.ino)) {
        return this.lostInRepair(`${this.file} was replaced by another file while this acceptor was writing it`);
      }
      if (st.size < this.size) {
        // Not the segment this writer made durable (it was deleted and another file put there).
        return this.lostInRepair(`${this.file} holds ${st.size} bytes, less than the ${this.size} this acceptor made durable in it`);
      }
      await this.fh.truncate(this.size);
      if (this.opts.fsync) await this.fh.datasync();
    } catch (err) {
      this._lastError = ioFailure('repair (truncate to the last durable byte and fdatasync)', this.file, err);
      this.scheduleRepair();
      return false;
    }
    this._healthy = true;
    this._lastError = undefined;
    this.opts.logger?.debug({ file: this.file, size: this.size }, 'the log is cut back to its last durable byte and writable again');
    return true;
  }

  /** Waits for everything queued to be written and synced, then closes the active segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Bounded: appends after `closed` are refused, so the queue only shrinks.
    while (this.looping) await this.running;
    this.closed = true;
    if (this.repairTimer !== undefined) clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
    // A segment deleted while no write came to read its link count (an idle node stopped): the
    // restart must refuse the segments left all the same.
    if (this.lost === undefined) {
      const st = await this.fh.stat().catch(() => undefined);
      if (st?.nlink === 0) {
        this.markLost(`${this.file} was deleted while this acceptor ran`);
        this.opts.logger?.error({ storageError: lostMessage(this.lost ?? '') }, 'the vote log was lost while this acceptor ran: it must not be restarted on this data dir');
      }
    }
    await this.lostRecorded;
    // An unhealthy writer's handle may already be closed by a failed repair.
    await this.fh.close().catch((err: unknown) => {
      if (this._healthy) throw err;
    });
  }
}
