// The chosen history: every chosen slot's value, kept on disk as a gapless prefix of the log
// [firstSlot, endSlot), in append-only segment files of CRC frames (framing.ts), one record per
// slot: history/chosen-<first slot>.seg. Why not SQLite (the first version): each value is already
// written once by the vote log, and SQLite wrote it twice more (its WAL, then the checkpoint into
// the database, with an fsync of 16 MiB on the node's only thread every 16 MiB). Measured on the
// bulk benchmark (23 acceptors, C=256), the history in SQLite took acceptors from 324-474 to
// 542-599 µs of CPU per chosen value; a plain append is one write of the frames per flush.
//
// Durability: a chosen record is an optimisation of the protocol (the votes in the vote log are
// what make a value chosen), so appends are not synced one by one; sync() makes everything
// appended so far durable, and the vote log drops accepted entries below the committed index only
// at a checkpoint, which calls sync() first. A power loss may therefore damage only the unsynced
// end of the last segment: opening truncates the last segment at its first bad frame, and
// joinChosenHistory refills from the vote log what a checkpoint has not yet covered, or refuses to
// start when the damage reaches below the last checkpoint (a synced record was damaged). A sealed
// segment was synced when it was sealed, so any bad frame in it is corruption.
//
// Retention drops whole segments (dropBelow): firstSlot is the first slot of the oldest segment
// kept. A sealed segment goes after its index (removeSegmentFiles), so an index left without its
// segment marks a segment lost, never one dropped: opening refuses it. startAt() starts an empty
// history at a slot with an empty segment; restartAt() replaces a history by an empty one further
// on (a state snapshot installed from another node covers the slots in between).
//
// The data dir's lock lives beside it, in `lock.sqlite` (data-dir-lock.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChosenRecord } from './durable-types';
import { DataDirError, RecordDecodeError, StorageCorruptionError } from './errors';
import { crc32 } from 'node:zlib';
import { SNAPSHOT_FILE, fsyncDirSync, segmentGeneration } from './data-dir';
import { FRAME_HEADER_BYTES, HEADER_BYTES, LOG_MAGIC, SNAPSHOT_MAGIC } from './framing';
import { hasLegacyHistory, migrateLegacyHistory, removeLegacyHistory } from './legacy-history';
import { RECORD_MAGIC, RecordType, decodeRecord, encodeSnapshotEntry } from './record-codec';

export const HISTORY_DIR = 'history';
/**
 * In the history dir once a build that removes a segment's index before the segment has opened it
 * (and removed what an earlier build left): only then is an index without its segment a loss.
 * Earlier builds removed the segment first, so one killed between the two removals left an index
 * alone after a plain retention drop.
 */
export const INDEX_FIRST_FILE = 'index-first';

export interface HistoryStats {
  readonly firstSlot: bigint;
  readonly endSlot: bigint;
  readonly bytes: number;
}

/**
 * Appended records are written together by the first append that finds the oldest pending one
 * FLUSH_AGE_MS old, or at FLUSH_SLOTS of them; a quiet node writes them after FLUSH_IDLE_MS. No
 * wakeup of its own per slot: a process woken for each message pays the most here.
 */
const FLUSH_AGE_MS = 25;
const FLUSH_SLOTS = 256;
const FLUSH_IDLE_MS = 1000;
/** A segment is sealed (synced, then never written again) once it holds this many bytes. */
export const HISTORY_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Every INDEX_EVERY-th slot's offset is kept in memory; a read scans at most this many frames more. */
const INDEX_EVERY = 64;
/** Bytes read at once when scanning frames for a read. */
const READ_WINDOW_BYTES = 1024 * 1024;
/** Read beyond what a read's byte budget still takes, for the frames' headers and framing. */
const WINDOW_SLACK_BYTES = 16 * 1024;
/** Where reads that stopped at a bound left off (each a slot, its segment and offset): reads going on in slices, at once. */
const RESUME_POINTS_MAX = 64;

/** Magic, type and slot: the head of a chosen record (record-codec.ts). */
const RECORD_HEAD_BYTES = 10;

const SEGMENT_RE = /^chosen-(\d{20})\.seg$/;
export const historySegmentName = (firstSlot: bigint): string => `chosen-${firstSlot.toString().padStart(20, '0')}.seg`;

interface Segment {
  readonly firstSlot: bigint;
  endSlot: bigint;
  bytes: number;
  readonly file: string;
  /** Byte offset of slot firstSlot + i * INDEX_EVERY. */
  readonly offsets: number[];
}

export class ChosenHistory {
  /** Oldest first; never empty (an empty history has one empty segment). */
  private readonly segments: Segment[];
  /** Descriptor of the last segment, open for appends. */
  private fd: number;
  /** Appended records not written yet (one write per flush, not one per commit notice). */
  private pending: ChosenRecord[] = [];
  /** Where reads that stopped at a bound left off (`resumeAt`), at most RESUME_POINTS_MAX. */
  private readonly resumePoints = new Map<bigint, { readonly seg: Segment; readonly offset: number }>();
  private pendingSinceMs = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Why a batch could not be written: the next append or sync throws it. */
  private failure: string | undefined;
  /** The errno of that failure (ENOSPC is repaired in place; others are not). */
  private failureCode: string | undefined;
  private repairTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * The last segment's bytes past its last good record, found at open: cut at the first write,
   * not at open, so that a node that then refuses to start (the damage reached below its
   * checkpoint: a synced record, see join-history.ts) leaves the file as it found it.
   */
  private cutPending: boolean;
  /** Slots below this one are synced (a power loss keeps them). */
  private syncedEnd: bigint;

  private constructor(
    readonly dir: string,
    segments: Segment[],
    /** True when the history was made on a data dir that had none (one from before the history existed) and is not joined yet. */
    readonly created: boolean,
    /** What opening found past the last good record of the last segment (cut at the first write). */
    readonly repaired: string | undefined,
    private readonly segmentBytes: number,
    /** Indexes without their segments that an earlier build's retention left, removed at this open (see INDEX_FIRST_FILE). */
    readonly leftovers?: string,
  ) {
    this.segments = segments;
    this.cutPending = repaired !== undefined;
    this.fd = fs.openSync(this.last.file, 'r+');
    // What an earlier run wrote may still be only in the page cache: synced once here, so that
    // what this node reports durable (durableEnd) is. Sealed segments were synced when sealed.
    try {
      fs.fdatasyncSync(this.fd);
      this.syncedEnd = this.last.endSlot;
    } catch (err) {
      this.syncedEnd = this.last.firstSlot;
      // Sticky, as a failed sync() is: the kernel reports a writeback error once, so the next
      // fdatasync would succeed over pages that never reached the disk and count them durable.
      const code = (err as NodeJS.ErrnoException).code;
      this.failure = `syncing ${this.last.file} at open failed: ${(err as Error).message}; restart the acceptor once the cause is fixed`;
      this.failureCode = `fdatasync:${code ?? 'unknown'}`;
    }
  }

  /** The history made at this start is joined to the recovered state: from now on it is a history like any other. */
  joined(): void {
    const marker = joinPendingFile(path.dirname(this.dir));
    if (!fs.existsSync(marker)) return;
    fs.rmSync(marker, { force: true });
    fsyncDirSync(path.dirname(this.dir));
  }

  /** Where the history lives (named in errors). */
  get file(): string {
    return this.dir;
  }

  /** Opens (or creates) the history in the data dir `dataDir`. */
  static open(dataDir: string, opts: { segmentBytes?: number } = {}): ChosenHistory {
    const dir = path.join(dataDir, HISTORY_DIR);
    const segmentBytes = opts.segmentBytes ?? HISTORY_SEGMENT_BYTES;
    if (hasLegacyHistory(dataDir)) {
      if (!fs.existsSync(dir)) {
        // Copied into a directory of its own, which becomes the history only when complete: a
        // crash during the copy leaves the legacy history the only one, and the copy is redone.
        const staging = `${dir}.migrating`;
        fs.rmSync(staging, { recursive: true, force: true });
        fs.mkdirSync(staging);
        const copy = ChosenHistory.openDir(staging, true, segmentBytes);
        try {
          migrateLegacyHistory(dataDir, copy);
        } finally {
          copy.close();
        }
        fsyncDirSync(staging);
        fs.renameSync(staging, dir);
        fsyncDirSync(dataDir);
      }
      removeLegacyHistory(dataDir); // the history holds it (a crash may have come between the rename and this)
      return ChosenHistory.openDir(dir, false, segmentBytes);
    }
    // A history made at this start is joined to the recovered state (joinChosenHistory) before it
    // counts as made: its marker, beside it in the data dir and made durable before the history
    // dir itself, stays until joined(), so that a crash anywhere in between (the vote log's
    // recovery and the source load come first) finds it still to be joined, not a history that
    // lost the slots below the snapshot.
    const marker = joinPendingFile(dataDir);
    if (!fs.existsSync(dir)) {
      // Only a dir from before the history may lack it. Storage format 2 came after the history,
      // and a build that writes it makes the history dir before any file of that format, so a
      // format-2 segment or snapshot proves that the history was here: it was lost, and starting
      // it afresh at the snapshot would answer its slots as if retention had dropped them.
      const proof = historyExisted(dataDir);
      if (proof !== undefined) {
        throw new StorageCorruptionError(
          dir,
          0,
          `the chosen history's directory is missing, but ${proof} was written in storage format 2 or later, which only builds that keep the history write: ` +
            'the history (every chosen value this acceptor held) was lost, and is not made afresh over the slots it held. ' +
            'To bring this acceptor back, move its data dir aside and run npm run rejoin (README: "A damaged acceptor")',
        );
      }
      try {
        fs.writeFileSync(marker, '');
        fsyncDirSync(dataDir);
        fs.mkdirSync(dir);
        fsyncDirSync(dataDir);
      } catch (err) {
        throw new DataDirError(`cannot create ${dir} (${(err as Error).message}).`);
      }
    }
    return ChosenHistory.openDir(dir, fs.existsSync(marker), segmentBytes);
  }

  private static openDir(dir: string, created: boolean, segmentBytes: number): ChosenHistory {
    const listed = fs.readdirSync(dir);
    const present = new Set(listed);
    // A sealed segment is removed only after its index is (removeSegmentFiles): an index without
    // its segment is a segment lost, not one retention dropped. Nothing else records where the
    // history starts, so without this the oldest segment lost read as retention. Until this build
    // has opened the dir (INDEX_FIRST_FILE), such an index is what an earlier build, which removed
    // the segment first, left when killed between the two removals: it is removed, as that build
    // would have.
    const indexFirst = present.has(INDEX_FIRST_FILE);
    const leftovers: string[] = [];
    for (const name of listed) {
      const m = INDEX_RE.exec(name);
      if (m === null || present.has(historySegmentName(BigInt(m[1] as string)))) continue;
      if (!indexFirst) {
        fs.rmSync(path.join(dir, name), { force: true });
        leftovers.push(name);
        continue;
      }
      const first = BigInt(m[1] as string);
      const end = indexedEndSlot(path.join(dir, name));
      throw new StorageCorruptionError(
        path.join(dir, historySegmentName(first)),
        0,
        `a sealed segment of the chosen history is missing (slots ${first}..${end ?? '?'}), but its index ${name} is there: ` +
          'retention and restarts remove a segment only after its index, so the values it held were lost. ' +
          'Restore the segment as it was, or move this data dir aside and run npm run rejoin (README: "A damaged acceptor")',
      );
    }
    if (!indexFirst) {
      // Durable before this build removes any segment (the leftovers' removal with it).
      writeSynced(path.join(dir, INDEX_FIRST_FILE));
      fsyncDirSync(dir);
    }
    let names = listed.filter((n) => SEGMENT_RE.test(n)).sort();
    // An empty last segment with restartAt()'s marker for its slot is what a restart cut short
    // leaves: the segments it replaces go before any is read. Read first, the one it appended to
    // last could end in the remains of a write a power loss cut (never synced), which in a segment
    // that is not the last reads as corruption and refused the start.
    const lastName = names[names.length - 1];
    if (lastName !== undefined && names.length > 1) {
      const lastFile = path.join(dir, lastName);
      if (fs.statSync(lastFile).size === 0 && fs.existsSync(restartMarker(dir, BigInt((SEGMENT_RE.exec(lastName) as RegExpExecArray)[1] as string)))) {
        for (const name of names.slice(0, -1)) removeSegmentFiles(path.join(dir, name));
        fsyncDirSync(dir);
        names = [lastName];
      }
    }
    if (names.length === 0) {
      fs.writeFileSync(path.join(dir, historySegmentName(0n)), Buffer.alloc(0));
      fsyncDirSync(dir);
      names.push(historySegmentName(0n));
    }
    // An empty segment before the last is what startAt() leaves if it stops between creating the
    // new first segment and removing the old one: it holds nothing, so it goes.
    // A sealed segment is never empty and always has its index (written when sealed): an empty one
    // with an index lost its records, which is corruption, not startAt()'s leftover.
    for (const name of names.slice(0, -1)) {
      const file = path.join(dir, name);
      if (fs.statSync(file).size !== 0) continue;
      if (fs.existsSync(indexFile(file))) {
        throw new StorageCorruptionError(file, 0, 'a sealed segment of the chosen history is empty, but its index says it held records');
      }
      removeSegmentFiles(file);
    }
    const kept = names.filter((n) => fs.existsSync(path.join(dir, n)));
    const markers = fs.readdirSync(dir).filter((n) => n.startsWith(RESTART_MARKER_PREFIX));
    const segments: Segment[] = [];
    let repaired: string | undefined;
    kept.forEach((name, i) => {
      const firstSlot = BigInt((SEGMENT_RE.exec(name) as RegExpExecArray)[1] as string);
      const file = path.join(dir, name);
      const lastSegment = i === kept.length - 1;
      const prev = segments[segments.length - 1];
      if (prev !== undefined && prev.endSlot !== firstSlot) {
        // A restart cut short was finished above; any other gap is corruption.
        throw new StorageCorruptionError(file, 0, `the chosen history has a gap: the segment before it ends at slot ${prev.endSlot}, this one starts at ${firstSlot}`);
      }
      const indexed = lastSegment ? undefined : readSegmentIndex(file, firstSlot);
      const { segment, truncated } = indexed !== undefined ? { segment: indexed, truncated: undefined } : scanSegment(file, firstSlot, lastSegment);
      if (!lastSegment && indexed === undefined) writeSegmentIndex(segment);
      if (truncated !== undefined) repaired = truncated;
      segments.push(segment);
    });
    // A restart's marker outlives it only if the crash came after the old segments went.
    for (const m of markers) fs.rmSync(path.join(dir, m), { force: true });
    const removed = leftovers.length > 0 ? `${leftovers.join(', ')} (an index an earlier build's retention left without its segment) removed` : undefined;
    return new ChosenHistory(dir, segments, created, repaired, segmentBytes, removed);
  }

  private get last(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  /** Slots below this are not kept (dropped under a retention rule, or older than the history itself). */
  get firstSlot(): bigint {
    return (this.segments[0] as Segment).firstSlot;
  }

  /** Every slot in [firstSlot, endSlot) is held (written, or pending its batch's write). */
  get endSlot(): bigint {
    return this.last.endSlot + BigInt(this.pending.length);
  }

  /** Slots in [firstSlot, durableEnd) are synced: a power loss keeps them (the rest may go). */
  get durableEnd(): bigint {
    return this.syncedEnd > this.firstSlot ? this.syncedEnd : this.firstSlot;
  }

  /**
   * For a history created on a data dir that lost older values before it existed: it starts at
   * `slot` (only while empty).
   */
  startAt(slot: bigint): void {
    if (this.endSlot !== this.firstSlot) throw new Error(`assertion: startAt(${slot}) on a history holding slots ${this.firstSlot}..${this.endSlot}`);
    this.replaceByEmptyAt(slot, false);
  }

  /**
   * Restarts the history at `slot`, above everything it holds (a state snapshot installed from
   * another node covers the slots below; it is durable before this is called).
   */
  restartAt(slot: bigint): void {
    if (slot <= this.endSlot) throw new Error(`assertion: restartAt(${slot}) on a history that holds slots up to ${this.endSlot}`);
    this.replaceByEmptyAt(slot, true);
  }

  /**
   * The new empty segment is made durable first (with a marker naming it, for restartAt), then the
   * old ones go: a crash in between leaves the new segment besides them, which opening
   * recognises and finishes. Memory changes only once the files did (a failed call leaves the
   * history as it was, or failed for good on a later write).
   */
  private replaceByEmptyAt(slot: bigint, marked: boolean): void {
    const file = path.join(this.dir, historySegmentName(slot));
    const marker = restartMarker(this.dir, slot);
    const existing = this.segments.some((s) => s.file === file);
    let fd: number;
    try {
      if (marked) writeSynced(marker);
      writeSynced(file);
      fsyncDirSync(this.dir);
      fd = fs.openSync(file, 'r+');
    } catch (err) {
      this.undoReplace(existing ? undefined : file, marked ? marker : undefined);
      throw err;
    }
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    this.failure = undefined;
    const old = this.segments.splice(0, this.segments.length, { firstSlot: slot, endSlot: slot, bytes: 0, file, offsets: [] });
    fs.closeSync(this.fd);
    this.fd = fd;
    this.syncedEnd = slot;
    for (const s of old) if (s.file !== file) removeSegmentFiles(s.file);
    fsyncDirSync(this.dir);
    if (marked) fs.rmSync(marker, { force: true });
  }

  /**
   * A replacement that failed before the history moved: the node goes on appending to the segments
   * it has, so the files made for it go too. Left there, the next open took the empty segment and
   * its marker for a restart cut short by a crash and finished it, dropping every slot appended
   * since (above the restart's slot as well). The segment goes before the marker: a crash between
   * leaves a marker alone, which opening removes, never an empty segment above a gap without one,
   * which reads as corruption. Best effort: the error that failed the replacement is the one told.
   */
  private undoReplace(file: string | undefined, marker: string | undefined): void {
    try {
      if (file !== undefined) fs.rmSync(file, { force: true });
      if (marker !== undefined) fs.rmSync(marker, { force: true });
      fsyncDirSync(this.dir);
    } catch {
      // What is left is what a crash there leaves: the next open finishes the restart.
    }
  }

  /**
   * Appends chosen records that continue the prefix (slots endSlot, endSlot + 1, ...). They are
   * written together (see FLUSH_AGE_MS). A write failure surfaces on the next append or sync.
   */
  append(records: readonly ChosenRecord[]): void {
    if (records.length === 0) return;
    if (this.closed) throw new Error('assertion: append to a closed chosen history');
    if (this.failure !== undefined) throw new Error(`the chosen history cannot be written: ${this.failure}`);
    let expected = this.endSlot;
    for (const r of records) {
      if (r.slot !== expected) throw new Error(`assertion: chosen history append of slot ${r.slot}, expected ${expected}`);
      expected += 1n;
    }
    const now = performance.now();
    if (this.pending.length === 0) this.pendingSinceMs = now;
    for (const r of records) this.pending.push(r);
    if (this.pending.length >= FLUSH_SLOTS || now - this.pendingSinceMs >= FLUSH_AGE_MS) this.flush();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        try {
          this.flush();
        } catch {
          // kept in `failure`: the next append or sync throws it
        }
      }, FLUSH_IDLE_MS);
      this.flushTimer.unref();
    }
  }

  /** False after a failed write, until repair() succeeds: the node does not vote meanwhile. */
  get healthy(): boolean {
    return this.failure === undefined;
  }

  /** Why the history cannot be written (the file, the error, and whether it heals in place), while it cannot. */
  get failureReason(): string | undefined {
    return this.failure;
  }

  /**
   * After a write that failed for want of space (ENOSPC, EDQUOT: nothing written before it was
   * lost), cuts the failed write's remains and makes the segment durable: writing can go on.
   * Any other failure (EIO, a failed fdatasync, which may have dropped written pages while the
   * page cache still shows them) is not repaired in place: false, and a restart truncates the
   * segment to its whole records, as at any start.
   */
  repair(): boolean {
    if (this.failure === undefined) return true;
    if (!SPACE_ERRORS.has(this.failureCode ?? '')) return false;
    try {
      fs.ftruncateSync(this.fd, this.last.bytes);
      fs.fdatasyncSync(this.fd);
    } catch {
      return false;
    }
    this.syncedEnd = this.last.endSlot;
    this.failure = undefined;
    this.failureCode = undefined;
    return true;
  }

  /** Tries repair() every HISTORY_REPAIR_EVERY_MS while it can succeed (space errors) and has not. */
  private scheduleRepair(): void {
    if (this.repairTimer !== undefined || this.closed || !SPACE_ERRORS.has(this.failureCode ?? '')) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      if (!this.closed && !this.repair()) this.scheduleRepair();
    }, HISTORY_REPAIR_EVERY_MS);
    this.repairTimer.unref();
  }

  /** Writes the appended records: one write per segment they go to. */
  flush(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.failure !== undefined) throw new Error(`the chosen history cannot be written: ${this.failure}`);
    if (this.pending.length === 0) return;
    try {
      // Bounded: every turn writes at least one record, and drops what it wrote from pending.
      while (this.pending.length > 0) {
        const written = this.writeSome(this.pending, 0);
        this.pending = this.pending.slice(written);
      }
    } catch (err) {
      // Sticky until repair(): what the failed write left in the file is not known, so nothing
      // more is written; the storage reports itself unhealthy meanwhile (the node stops voting).
      const code = (err as NodeJS.ErrnoException).code;
      this.failure = `writing ${this.last.file} failed: ${(err as Error).message}${SPACE_ERRORS.has(code ?? '') ? ' (it is retried once there is space)' : '; restart the acceptor once the cause is fixed'}`;
      this.failureCode = code;
      this.scheduleRepair();
      // The caller reports this message (Status, the INTERNAL answers): it names the file and whether it heals.
      throw Object.assign(new Error(`the chosen history cannot be written: ${this.failure}`), { code, cause: err });
    }
  }

  /** Writes records from `from` into the last segment (sealing it when full); returns the next index. */
  private writeSome(records: readonly ChosenRecord[], from: number): number {
    if (this.cutPending) {
      // What follows the last good record goes before anything is written after it (or the segment sealed).
      fs.ftruncateSync(this.fd, this.last.bytes);
      this.cutPending = false;
    }
    if (this.last.bytes >= this.segmentBytes) this.seal();
    const seg = this.last;
    const frames: Buffer[] = [];
    const offsets: number[] = [];
    let bytes = seg.bytes;
    let i = from;
    for (; i < records.length && (i === from || bytes < this.segmentBytes); i++) {
      const r = records[i] as ChosenRecord;
      const payload = encodeSnapshotEntry(RecordType.SnapChosen, r);
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(crc32(payload), 4);
      if ((r.slot - seg.firstSlot) % BigInt(INDEX_EVERY) === 0n) offsets.push(bytes);
      frames.push(header, payload);
      bytes += FRAME_HEADER_BYTES + payload.length;
    }
    const data = Buffer.concat(frames);
    let written = 0;
    // Bounded: every turn writes at least one byte or throws.
    while (written < data.length) written += fs.writeSync(this.fd, data, written, data.length - written, seg.bytes + written);
    // Only a complete write moves the segment on.
    seg.offsets.push(...offsets);
    seg.bytes = bytes;
    seg.endSlot += BigInt(i - from);
    return i;
  }

  /** Syncs the full last segment and starts the next one. */
  private seal(): void {
    const prev = this.last;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      // Never repaired in place, whatever its code (ENOSPC too): a failed fdatasync may have
      // dropped written pages the page cache still shows, and the next one would succeed over them.
      const code = (err as NodeJS.ErrnoException).code;
      throw Object.assign(new Error(`the fdatasync that seals it failed: ${(err as Error).message}`), { code: `fdatasync:${code ?? 'unknown'}`, cause: err });
    }
    if (prev.endSlot > this.syncedEnd) this.syncedEnd = prev.endSlot;
    writeSegmentIndex(prev);
    const file = path.join(this.dir, historySegmentName(prev.endSlot));
    const fd = fs.openSync(file, 'wx+');
    fs.closeSync(this.fd);
    this.fd = fd;
    this.segments.push({ firstSlot: prev.endSlot, endSlot: prev.endSlot, bytes: 0, file, offsets: [] });
    fsyncDirSync(this.dir);
  }

  /** Chosen records from `from` on, in slot order: at most maxEntries, and about maxBytes of entries (at least one). */
  read(from: bigint, maxEntries: number, maxBytes: number): ChosenRecord[] {
    if (from < this.firstSlot || from >= this.endSlot || maxEntries <= 0) return [];
    const out: ChosenRecord[] = [];
    const budget = { bytes: 0 };
    const written = this.last.endSlot;
    let slot = from;
    // Bounded: every turn moves to the next segment or returns.
    for (let s = this.segmentIndex(from); s < this.segments.length && slot < written; s++) {
      const seg = this.segments[s] as Segment;
      if (!this.readSegment(seg, slot, maxEntries, maxBytes, out, budget)) return out;
      slot = seg.endSlot;
    }
    // Then the records not written yet.
    for (const r of this.pending) {
      if (out.length >= maxEntries) break;
      if (r.slot < from) continue;
      const bytes = recordBytes(r);
      if (out.length > 0 && budget.bytes + bytes > maxBytes) break;
      budget.bytes += bytes;
      out.push(r);
    }
    return out;
  }

  /** The index of the segment holding `slot` (firstSlot <= slot < endSlot of the history). */
  private segmentIndex(slot: bigint): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.segments[mid] as Segment).firstSlot <= slot) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Reads records of `seg` from `from` into `out`; false when a bound was reached. It starts where
   * a read that stopped at `from` left off (RESUME_POINTS_MAX are kept), else at the index point
   * below `from`: a read in slices (a 4 MiB Learn page is 16 or more) asked each slice's first slot
   * from the index point with 1 MiB windows, reading its segment again up to 12 times over.
   */
  private readSegment(seg: Segment, from: bigint, maxEntries: number, maxBytes: number, out: ChosenRecord[], budget: { bytes: number }): boolean {
    const k = Number((from - seg.firstSlot) / BigInt(INDEX_EVERY));
    let offset = seg.offsets[k] as number;
    let slot = seg.firstSlot + BigInt(k * INDEX_EVERY);
    // Only one in this very segment (`seg` is one the history holds: retention and restartAt()
    // replace segments, and a point in one they dropped never matches).
    const resume = this.resumePoints.get(from);
    if (resume !== undefined && resume.seg === seg) {
      offset = resume.offset;
      slot = from;
    }
    const fd = fs.openSync(seg.file, 'r');
    try {
      let window: Buffer = Buffer.alloc(0);
      let windowAt = offset;
      // Bounded: every turn consumes one frame of the segment, or returns.
      while (slot < seg.endSlot) {
        if (offset + FRAME_HEADER_BYTES > windowAt + window.length) {
          // Past `from`, about what the budget still takes (a frame past it is read on its own below).
          const wanted = slot >= from ? Math.max(FRAME_HEADER_BYTES, maxBytes - budget.bytes + WINDOW_SLACK_BYTES) : READ_WINDOW_BYTES;
          window = readAt(fd, offset, Math.min(READ_WINDOW_BYTES, wanted, seg.bytes - offset));
          windowAt = offset;
          // Cut short since it was written (under the running node): damage, named as any other.
          if (window.length < FRAME_HEADER_BYTES) {
            throw new StorageCorruptionError(seg.file, offset, `the segment ends at byte ${offset + window.length}, before slot ${slot}'s record, though it held ${seg.bytes} bytes`);
          }
        }
        const len = window.readUInt32LE(offset - windowAt);
        const frameBytes = FRAME_HEADER_BYTES + len;
        // A length the segment cannot hold is damage (read before its CRC is checked): no read of it.
        if (offset + frameBytes > seg.bytes) throw new StorageCorruptionError(seg.file, offset, `a record of ${len} bytes at slot ${slot} runs past the segment's ${seg.bytes} bytes`);
        if (slot >= from) {
          if (out.length >= maxEntries || (out.length > 0 && budget.bytes + len > maxBytes)) {
            this.resumeAt(slot, seg, offset);
            return false;
          }
          if (offset + frameBytes > windowAt + window.length) {
            window = readAt(fd, offset, Math.max(frameBytes, Math.min(READ_WINDOW_BYTES, seg.bytes - offset)));
            windowAt = offset;
          }
          const frame = window.subarray(offset - windowAt, offset - windowAt + frameBytes);
          out.push(this.decode(seg, slot, offset, frame));
          budget.bytes += len;
        }
        offset += frameBytes;
        slot += 1n;
      }
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Notes where the record of `slot` starts in `seg`, for the read that goes on from it. */
  private resumeAt(slot: bigint, seg: Segment, offset: number): void {
    this.resumePoints.delete(slot);
    this.resumePoints.set(slot, { seg, offset });
    if (this.resumePoints.size > RESUME_POINTS_MAX) this.resumePoints.delete(this.resumePoints.keys().next().value as bigint);
  }

  private decode(seg: Segment, slot: bigint, offset: number, frame: Buffer): ChosenRecord {
    try {
      const bad = badRecord(frame, 0, slot);
      if (bad !== undefined) throw new RecordDecodeError(bad);
      const payload = frame.subarray(FRAME_HEADER_BYTES);
      const rec = decodeRecord(payload);
      if (rec.type !== RecordType.SnapChosen || rec.entry.slot !== slot) throw new RecordDecodeError(`the record at this offset is not slot ${slot}'s`);
      return rec.entry;
    } catch (err) {
      throw new StorageCorruptionError(seg.file, offset, `chosen history record of slot ${slot}: ${(err as Error).message}`);
    }
  }

  /**
   * Drops the segments that hold only slots below `slot` (retention: the state below it is in a
   * durable snapshot). Returns the new firstSlot; the segment holding `slot` is kept whole.
   */
  dropBelow(slot: bigint): bigint {
    // Bounded: at most every segment but the last is dropped.
    let dropped = false;
    while (this.segments.length > 1 && (this.segments[1] as Segment).firstSlot <= slot) {
      removeSegmentFiles((this.segments.shift() as Segment).file);
      dropped = true;
    }
    if (dropped) fsyncDirSync(this.dir);
    return this.firstSlot;
  }

  /** Makes every append so far durable. */
  sync(): void {
    this.flush();
    try {
      fs.fdatasyncSync(this.fd);
      this.syncedEnd = this.last.endSlot;
    } catch (err) {
      // Sticky and never repaired in place, whatever its code: a failed fdatasync may have dropped
      // written pages the page cache still shows (see repair()).
      this.failure = `syncing ${this.last.file} failed: ${(err as Error).message}; restart the acceptor once the cause is fixed`;
      const code = (err as NodeJS.ErrnoException).code;
      this.failureCode = `fdatasync:${code ?? 'unknown'}`;
      throw Object.assign(new Error(`the chosen history cannot be made durable: ${this.failure}`), { code, cause: err });
    }
  }

  stats(): HistoryStats {
    let bytes = 0;
    for (const s of this.segments) bytes += s.bytes;
    return { firstSlot: this.firstSlot, endSlot: this.endSlot, bytes };
  }

  close(): void {
    if (this.closed) return;
    if (this.repairTimer !== undefined) clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
    try {
      this.sync();
    } finally {
      this.closed = true;
      fs.closeSync(this.fd);
    }
  }
}

/** About the bytes a record takes (its commands' data and names): for the byte bound of a read. */
function recordBytes(r: ChosenRecord): number {
  if (r.value.kind !== 'batch') return 32;
  let n = 32;
  for (const c of r.value.commands) n += c.data.length + c.clientRequestId.length + c.contentType.length + 8;
  return n;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  // Bounded: every turn reads at least one byte or stops at the end of the file.
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** restartAt()'s marker: an empty segment above a gap is a restart cut short only when it exists. */
const RESTART_MARKER_PREFIX = 'restart-';
/** Write failures that lose nothing written before them: the history repairs itself in place after one. */
const SPACE_ERRORS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);
/** How often a history whose write failed for want of space tries again. */
const HISTORY_REPAIR_EVERY_MS = 1000;

/**
 * A log segment or snapshot of this data dir whose header (valid under its CRC) says storage format
 * 2 or later, if there is one: proof that a build with the chosen history wrote here.
 */
function historyExisted(dataDir: string): string | undefined {
  for (const name of fs.readdirSync(dataDir).sort()) {
    if (name !== SNAPSHOT_FILE && segmentGeneration(name) === undefined) continue;
    const file = path.join(dataDir, name);
    let head: Buffer;
    try {
      const fd = fs.openSync(file, 'r');
      try {
        head = readAt(fd, 0, HEADER_BYTES);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue; // unreadable: recovery names it
    }
    if (head.length < HEADER_BYTES || crc32(head.subarray(0, 28)) !== head.readUInt32LE(28)) continue;
    const magic = head.subarray(0, 8);
    if ((magic.equals(LOG_MAGIC) || magic.equals(SNAPSHOT_MAGIC)) && head.readUInt32LE(8) >= 2) return file;
  }
  return undefined;
}

/** Beside a history made at a start and not yet joined to the recovered state, in the data dir (see open). */
const joinPendingFile = (dataDir: string): string => path.join(dataDir, `${HISTORY_DIR}.join-pending`);
const restartMarker = (dir: string, slot: bigint): string => path.join(dir, `${RESTART_MARKER_PREFIX}${slot.toString().padStart(20, '0')}`);

/** Creates (or empties) a file and makes it durable. */
function writeSynced(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A segment and its index file: the index first, made durable, then the segment. A crash in
 * between leaves a segment without an index, which opening scans and indexes again; an index
 * without its segment is then only ever a segment lost (see openDir).
 */
function removeSegmentFiles(segmentFile: string): void {
  const idx = indexFile(segmentFile);
  if (fs.existsSync(idx)) {
    fs.rmSync(idx, { force: true });
    fsyncDirSync(path.dirname(segmentFile));
  }
  fs.rmSync(segmentFile, { force: true });
}

/**
 * A sealed segment's index beside it (`.idx`): its end slot, size and indexed offsets, under a CRC,
 * so that opening a long history reads these instead of every segment. An index that is missing,
 * damaged or does not match its segment's size is ignored and the segment scanned (and the index
 * written again). The data itself is checked frame by frame when read.
 */
const indexFile = (segmentFile: string): string => segmentFile.replace(/\.seg$/, '.idx');
const INDEX_RE = /^chosen-(\d{20})\.idx$/;
const INDEX_HEAD_BYTES = 4 + 8 + 8 + 4;

/** The end slot an index file records, when its CRC holds (for an error message). */
function indexedEndSlot(file: string): bigint | undefined {
  try {
    const body = fs.readFileSync(file);
    if (body.length < INDEX_HEAD_BYTES || crc32(body.subarray(4)) !== body.readUInt32LE(0)) return undefined;
    return body.readBigUInt64LE(4);
  } catch {
    return undefined;
  }
}

function writeSegmentIndex(seg: Segment): void {
  const body = Buffer.allocUnsafe(INDEX_HEAD_BYTES + 8 * seg.offsets.length);
  body.writeBigUInt64LE(seg.endSlot, 4);
  body.writeBigUInt64LE(BigInt(seg.bytes), 12);
  body.writeUInt32LE(seg.offsets.length, 20);
  seg.offsets.forEach((o, i) => body.writeBigUInt64LE(BigInt(o), INDEX_HEAD_BYTES + 8 * i));
  body.writeUInt32LE(crc32(body.subarray(4)), 0);
  const tmp = `${indexFile(seg.file)}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, body);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, indexFile(seg.file));
}

function readSegmentIndex(file: string, firstSlot: bigint): Segment | undefined {
  let body: Buffer;
  let size: number;
  try {
    body = fs.readFileSync(indexFile(file));
    size = fs.statSync(file).size;
  } catch {
    return undefined;
  }
  if (body.length < INDEX_HEAD_BYTES || crc32(body.subarray(4)) !== body.readUInt32LE(0)) return undefined;
  const endSlot = body.readBigUInt64LE(4);
  const bytes = Number(body.readBigUInt64LE(12));
  const count = body.readUInt32LE(20);
  if (bytes !== size || body.length !== INDEX_HEAD_BYTES + 8 * count || endSlot < firstSlot) return undefined;
  if (count !== Math.ceil(Number(endSlot - firstSlot) / INDEX_EVERY)) return undefined;
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(Number(body.readBigUInt64LE(INDEX_HEAD_BYTES + 8 * i)));
  return { firstSlot, endSlot, bytes, file, offsets };
}

/** The reason the frame at `offset` is not slot `slot`'s good record, or undefined when it is. */
function badRecord(buf: Buffer, offset: number, slot: bigint): string | undefined {
  const left = buf.length - offset;
  if (left < FRAME_HEADER_BYTES) return `partial frame header (${left} bytes)`;
  const len = buf.readUInt32LE(offset);
  if (len < RECORD_HEAD_BYTES) return `invalid record length ${len}`;
  if (len > left - FRAME_HEADER_BYTES) return `record of ${len} bytes cut short (${left - FRAME_HEADER_BYTES} bytes present)`;
  const payload = buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32LE(offset + 4)) return 'CRC mismatch';
  if (payload[0] !== RECORD_MAGIC || payload[1] !== RecordType.SnapChosen || payload.readBigUInt64LE(2) !== slot) return `the record is not slot ${slot}'s`;
  return undefined;
}

/** The slot of the chosen record that starts `buf`, when it is a whole one with a valid CRC. */
function slotOfWholeRecord(buf: Buffer): bigint | undefined {
  if (buf.length < FRAME_HEADER_BYTES + RECORD_HEAD_BYTES) return undefined;
  const len = buf.readUInt32LE(0);
  if (len < RECORD_HEAD_BYTES || len > buf.length - FRAME_HEADER_BYTES) return undefined;
  const payload = buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32LE(4) || payload[0] !== RECORD_MAGIC || payload[1] !== RecordType.SnapChosen) return undefined;
  return payload.readBigUInt64LE(2);
}

/**
 * Reads a segment's frames (checking each CRC, not decoding the values) and builds its index. In
 * the last segment, the first bad frame starts the unsynced end a crash left (see the top of the
 * file): the segment ends before it (the file is cut at the first write), and what it held is
 * named. Any bad frame in a sealed segment is corruption.
 */
function scanSegment(file: string, firstSlot: bigint, lastSegment: boolean): { segment: Segment; truncated?: string } {
  const buf = fs.readFileSync(file);
  const offsets: number[] = [];
  let offset = 0;
  let slot = firstSlot;
  let truncated: string | undefined;
  // Bounded: every turn consumes one frame or ends the scan.
  while (offset < buf.length) {
    const reason = badRecord(buf, offset, slot);
    if (reason !== undefined) {
      const named = offset === 0 ? slotOfWholeRecord(buf) : undefined;
      if (named !== undefined) {
        // A whole record of another slot where the name says the segment starts: no crash writes
        // that. Taken as a torn end, the segment would be emptied and the committed index moved to
        // the slot in its name, over slots that may never have been chosen.
        throw new StorageCorruptionError(file, 0, `the segment's name says it starts at slot ${firstSlot}, but its first record, whole, is slot ${named}'s (a renamed or swapped segment)`);
      }
      if (!lastSegment) throw new StorageCorruptionError(file, offset, `${reason} in a sealed segment of the chosen history`);
      truncated = `${file}: ${buf.length - offset} bytes from byte ${offset} (slot ${slot} on) dropped: ${reason}`;
      break;
    }
    if ((slot - firstSlot) % BigInt(INDEX_EVERY) === 0n) offsets.push(offset);
    offset += FRAME_HEADER_BYTES + buf.readUInt32LE(offset);
    slot += 1n;
  }
  return { segment: { firstSlot, endSlot: slot, bytes: offset, file, offsets }, truncated };
}
