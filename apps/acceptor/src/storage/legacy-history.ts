// Data dirs written before the history moved to segment files kept it in `chosen.sqlite`
// (SQLite, one row per slot). Opening such a dir copies the rows into segments in a directory of
// their own, syncs them, makes that directory the history, and then removes the database: the
// history is in exactly one place afterwards (see ChosenHistory.open).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChosenHistory } from './chosen-history';
import { DataDirError, StorageCorruptionError } from './errors';
import { RecordType, decodeRecord } from './record-codec';

export const LEGACY_HISTORY_FILE = 'chosen.sqlite';
const PAGE_ROWS = 1024;

export function hasLegacyHistory(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, LEGACY_HISTORY_FILE));
}

export function removeLegacyHistory(dataDir: string): void {
  const file = path.join(dataDir, LEGACY_HISTORY_FILE);
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/** Copies the legacy history into `history` (empty) and syncs it; returns the slots copied. */
export function migrateLegacyHistory(dataDir: string, history: ChosenHistory): bigint {
  const file = path.join(dataDir, LEGACY_HISTORY_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0, readonly: false });
  } catch (err) {
    throw new DataDirError(`cannot open ${file} to move its chosen history (${(err as Error).message}).`);
  }
  let copied = 0n;
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    if (tables.some((t) => t.name === 'chosen')) {
      const meta = tables.some((t) => t.name === 'meta')
        ? (db.prepare("SELECT value FROM meta WHERE key = 'first_slot'").safeIntegers(true).get() as { value: bigint } | undefined)
        : undefined;
      const select = db.prepare('SELECT slot, entry FROM chosen WHERE slot >= ? ORDER BY slot LIMIT ?').safeIntegers(true);
      const first = meta?.value ?? 0n;
      if (first !== 0n) history.startAt(first);
      let next = first;
      // Bounded: every page moves `next` on by its rows; an empty page ends the copy.
      for (;;) {
        const rows = select.all(next, PAGE_ROWS) as Array<{ slot: bigint; entry: Buffer }>;
        if (rows.length === 0) break;
        history.append(
          rows.map((row) => {
            const rec = decodeRecord(row.entry);
            if (rec.type !== RecordType.SnapChosen || rec.entry.slot !== next || row.slot !== next) {
              throw new StorageCorruptionError(file, 0, `the chosen history should hold slot ${next} next, but holds ${row.slot}`);
            }
            next += 1n;
            return rec.entry;
          }),
        );
        history.flush();
        copied = next - first;
      }
    }
    history.sync();
  } finally {
    db.close();
  }
  return copied;
}
