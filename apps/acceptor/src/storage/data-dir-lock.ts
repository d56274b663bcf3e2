// The data dir's lock between processes: an OS lock that dies with the process holding it (a
// kill -9, a zombie, a reboot), so no pid file can outlive it. Node has no flock(); SQLite's
// exclusive locking mode holds a POSIX lock on its open file until close, and better-sqlite3 is
// already a dependency, so `lock.sqlite` is a database kept only for its lock.
import Database from 'better-sqlite3';
import * as path from 'node:path';
import { DataDirError } from './errors';

export const LOCK_FILE = 'lock.sqlite';

/** Takes the lock on `dir` (a DataDirError when another process holds it); returns its release. */
export function lockDataDirAcrossProcesses(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new DataDirError(`cannot open ${file} (${(err as Error).message}).`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and keeps it until close.
    db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS lock (holder INTEGER) ; COMMIT;');
  } catch (err) {
    db.close();
    const e = err as { code?: string; message: string };
    if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
      throw new DataDirError(`the data dir ${dir} is in use by another process (${file} is locked). Stop that process, or give this acceptor another data dir.`);
    }
    throw new DataDirError(`cannot lock ${file} (${e.code ?? ''} ${e.message}).`);
  }
  return () => db.close();
}
