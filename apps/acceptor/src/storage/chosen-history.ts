// The chosen history: every chosen slot's value, kept on disk as a gapless prefix of the log
// [firstSlot, endSlot), in SQLite (better-sqlite3, WAL). It is also the data dir's lock: the
// database is opened in exclusive locking mode, an OS lock held by the open file, so it dies with
// the process (a kill -9, a zombie, a reboot) and no pid file can outlive it.
//
// Durability: a chosen record is an optimisation of the protocol (the votes in the vote log are
// what make a value chosen), so appends commit without an fsync of their own (synchronous=NORMAL)
// and sync() makes everything appended so far durable. The vote log drops accepted entries below
// the committed index only at a checkpoint, and a checkpoint calls sync() first: a power loss may
// shorten the history back to the last checkpoint's committed index, never below it.
import Database from 'better-sqlite3';
import * as path from 'node:path';
import type { ChosenRecord } from './durable-types';
import { DataDirError, RecordDecodeError, StorageCorruptionError } from './errors';
import { RecordType, decodeRecord, encodeSnapshotEntry } from './record-codec';

export const HISTORY_FILE = 'chosen.sqlite';

/** Slots above this do not fit SQLite's signed 64-bit integer key; the core refuses them long before. */
const SLOT_KEY_MAX = (1n << 63n) - 1n;

export interface HistoryStats {
  readonly firstSlot: bigint;
  readonly endSlot: bigint;
  readonly bytes: number;
}

/**
 * Appended records are written in one transaction by the first append that finds the oldest
 * pending one FLUSH_AGE_MS old, or at FLUSH_SLOTS of them; a quiet node writes them after
 * FLUSH_IDLE_MS. No wakeup of its own per slot: a process woken for each message pays the most here.
 */
const FLUSH_AGE_MS = 25;
const FLUSH_SLOTS = 256;
const FLUSH_IDLE_MS = 1000;

export class ChosenHistory {
  private first: bigint;
  /** Slots below this are written to the database. */
  private end: bigint;
  /** Appended records not written yet (one transaction per flush, not one per commit notice). */
  private pending: ChosenRecord[] = [];
  private pendingSinceMs = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Why a batch could not be written: the next append or sync throws it. */
  private failure: string | undefined;
  private readonly insert: Database.Statement<[bigint, Buffer]>;
  private readonly selectFrom: Database.Statement<[bigint, number]>;
  private readonly appendAll: (records: readonly ChosenRecord[]) => void;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
    /** True when this open created the database (a data dir from before the history existed). */
    readonly created: boolean,
  ) {
    this.insert = db.prepare('INSERT INTO chosen(slot, entry) VALUES (?, ?)');
    this.selectFrom = db.prepare('SELECT slot, entry FROM chosen WHERE slot >= ? ORDER BY slot LIMIT ?').safeIntegers(true);
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'first_slot'").safeIntegers(true).get() as { value: bigint } | undefined;
    this.first = meta?.value ?? 0n;
    const bounds = db.prepare('SELECT MIN(slot) AS lo, MAX(slot) AS hi, COUNT(*) AS n FROM chosen').safeIntegers(true).get() as {
      lo: bigint | null;
      hi: bigint | null;
      n: bigint;
    };
    if (bounds.hi === null) this.end = this.first;
    else {
      // The history is a gapless prefix: first..hi, every slot once.
      if (bounds.lo !== this.first || bounds.hi - bounds.lo + 1n !== bounds.n) {
        throw new StorageCorruptionError(
          file,
          0,
          `the chosen history should hold every slot from ${this.first} to ${bounds.hi} once, but holds ${bounds.n} slots from ${bounds.lo}`,
        );
      }
      this.end = bounds.hi + 1n;
    }
    this.appendAll = db.transaction((records: readonly ChosenRecord[]) => {
      for (const r of records) this.insert.run(r.slot, encodeSnapshotEntry(RecordType.SnapChosen, r));
    });
  }

  /**
   * Opens (or creates) the history in `dir` and takes the data dir's lock with it. A data dir in
   * use by another process is refused with a DataDirError.
   */
  static open(dir: string): ChosenHistory {
    const file = path.join(dir, HISTORY_FILE);
    let db: Database.Database;
    let created: boolean;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw new DataDirError(`cannot open ${file} (${(err as Error).message}).`);
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // Rows are whole slots (a batch of values): bigger pages mean fewer overflow pages per row.
      // Takes effect only when the database is created.
      db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Checkpoints copy the WAL into the database (and fsync) on this thread: every 16 MiB.
      db.pragma('wal_autocheckpoint = 1024');
      // The first write takes the exclusive lock, and keeps it until close.
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'chosen'").all();
      created = tables.length === 0;
      db.exec(
        'BEGIN IMMEDIATE;' +
          'CREATE TABLE IF NOT EXISTS chosen (slot INTEGER PRIMARY KEY, entry BLOB NOT NULL) WITHOUT ROWID;' +
          'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY NOT NULL) WITHOUT ROWID;' +
          'COMMIT;',
      );
    } catch (err) {
      db.close();
      const e = err as { code?: string; message: string };
      if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
        throw new DataDirError(`the data dir ${dir} is in use by another process (${file} is locked). Stop that process, or give this acceptor another data dir.`);
      }
      if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT') throw new StorageCorruptionError(file, 0, e.message);
      throw new DataDirError(`cannot open ${file} (${e.code ?? ''} ${e.message}).`);
    }
    try {
      return new ChosenHistory(db, file, created);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Slots below this are not kept (dropped under a retention rule, or older than the history itself). */
  get firstSlot(): bigint {
    return this.first;
  }

  /** Every slot in [firstSlot, endSlot) is held (written, or pending its batch's write). */
  get endSlot(): bigint {
    return this.end + BigInt(this.pending.length);
  }

  /**
   * For a history created on a data dir that lost older values before it existed: it starts at
   * `slot` (only while empty).
   */
  startAt(slot: bigint): void {
    if (this.endSlot !== this.first) throw new Error(`assertion: startAt(${slot}) on a history holding slots ${this.first}..${this.end}`);
    this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('first_slot', ?)").run(slot);
    this.first = slot;
    this.end = slot;
  }

  /**
   * Appends chosen records that continue the prefix (slots endSlot, endSlot + 1, ...). They are
   * written together, in one transaction (see FLUSH_AGE_MS): a transaction per commit notice
   * rewrote the table's last pages for every slot. A write failure surfaces on the next append
   * or sync.
   */
  append(records: readonly ChosenRecord[]): void {
    if (records.length === 0) return;
    if (this.closed) throw new Error('assertion: append to a closed chosen history');
    if (this.failure !== undefined) throw new Error(`the chosen history cannot be written: ${this.failure}`);
    let expected = this.endSlot;
    for (const r of records) {
      if (r.slot !== expected) throw new Error(`assertion: chosen history append of slot ${r.slot}, expected ${expected}`);
      if (r.slot > SLOT_KEY_MAX) throw new Error(`assertion: slot ${r.slot} does not fit the history's key`);
      expected += 1n;
    }
    const now = Date.now();
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

  /** Writes the appended records in one transaction. */
  flush(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.pending.length === 0) return;
    const records = this.pending;
    try {
      this.appendAll(records);
    } catch (err) {
      this.failure = (err as Error).message;
      throw err;
    }
    this.pending = [];
    this.end += BigInt(records.length);
  }

  /** Chosen records from `from` on, in slot order: at most maxEntries, and about maxBytes of entries (at least one). */
  read(from: bigint, maxEntries: number, maxBytes: number): ChosenRecord[] {
    if (from < this.first || from >= this.endSlot || maxEntries <= 0) return [];
    const out: ChosenRecord[] = [];
    let bytes = 0;
    if (from < this.end) {
      const rows = this.selectFrom.all(from, maxEntries) as Array<{ slot: bigint; entry: Buffer }>;
      for (const row of rows) {
        bytes += row.entry.length;
        if (out.length > 0 && bytes > maxBytes) return out;
        out.push(this.decode(row.slot, row.entry));
      }
    }
    // Then the records not written yet.
    for (let i = Number(from > this.end ? from - this.end : 0n) + 0; i < this.pending.length && out.length < maxEntries; i++) {
      const r = this.pending[i] as ChosenRecord;
      if (r.slot < from) continue;
      if (out.length > 0 && out[out.length - 1]?.slot !== r.slot - 1n) break;
      out.push(r);
    }
    return out;
  }

  private decode(slot: bigint, entry: Buffer): ChosenRecord {
    try {
      const rec = decodeRecord(entry);
      if (rec.type !== RecordType.SnapChosen || rec.entry.slot !== slot) throw new RecordDecodeError(`row of slot ${slot} holds another record`);
      return rec.entry;
    } catch (err) {
      throw new StorageCorruptionError(this.file, 0, `chosen history row of slot ${slot}: ${(err as Error).message}`);
    }
  }

  /** Makes every append so far durable (written, then a WAL checkpoint, which fsyncs). */
  sync(): void {
    this.flush();
    this.db.pragma('wal_checkpoint(FULL)');
  }

  stats(): HistoryStats {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return { firstSlot: this.first, endSlot: this.end, bytes: pages * size };
  }

  /** Syncs and releases the data dir's lock. */
  close(): void {
    if (this.closed) return;
    try {
      this.sync();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }
}
