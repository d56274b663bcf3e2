// A directory's lock between processes: an OS lock that dies with the process holding it (a
// kill -9, a zombie, a reboot), so no pid file can outlive it. Node has no flock(); SQLite's
// exclusive locking mode holds a POSIX lock on its open file until close, and better-sqlite3 is
// already a dependency, so the lock file is a database kept only for its lock. Loaded on first
// use: processes that lock nothing do not load the native module.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeLockHolder } from './lock-holder';

type SqliteDatabase = import('better-sqlite3').Database;
const sqlite = () => require('better-sqlite3') as typeof import('better-sqlite3');

/** Another process holds the lock. */
export class DirInUseError extends Error {
  override name = 'DirInUseError';
}

/**
 * Takes the lock `file` in `dir` (DirInUseError when another process holds it, an Error saying
 * what failed otherwise); returns its release. The lock is held until release or process exit.
 */
export function lockDirAcrossProcesses(dir: string, file: string, opts: { remakeDamaged?: boolean } = {}): () => void {
  try {
    return lockFileOnce(path.join(dir, file));
  } catch (err) {
    if (!(err instanceof NotALockFileError)) throw err;
    // The file holds no data, only its lock: one that is not a database (overwritten, damaged)
    // cannot be held by anyone. With remakeDamaged it is made again (two processes doing so at
    // the same moment could each lock a file of their own: only for locks that guard no data).
    if (!opts.remakeDamaged) throw new Error(`${err.message}: remove it when no process uses ${dir}, then start again.`);
    fs.rmSync(path.join(dir, file), { force: true });
    return lockFileOnce(path.join(dir, file));
  }
}

class NotALockFileError extends Error {}

function lockFileOnce(lockFile: string): () => void {
  let db: SqliteDatabase;
  try {
    db = new (sqlite())(lockFile, { timeout: 0 });
  } catch (err) {
    throw new Error(`cannot open ${lockFile} (${(err as Error).message}).`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and keeps it until close.
    db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS lock (holder INTEGER) ; COMMIT;');
  } catch (err) {
    db.close();
    const e = err as { code?: string; message: string };
    if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') throw new DirInUseError(`${lockFile} is locked by ${describeLockHolder(lockFile)}`);
    if (e.code === 'SQLITE_NOTADB' || e.code === 'SQLITE_CORRUPT') throw new NotALockFileError(`${lockFile} is not a lock file (${e.code})`);
    throw new Error(`cannot lock ${lockFile} (${e.code ?? ''} ${e.message}).`);
  }
  return () => db.close();
}
