// The data dir's lock between processes (`lock.sqlite`, an OS lock that dies with its holder; see
// lockDirAcrossProcesses in grpc-kit).
import { DirInUseError, lockDirAcrossProcesses } from '@paxos/grpc-kit';
import { DataDirError } from './errors';

export const LOCK_FILE = 'lock.sqlite';

/** Takes the lock on `dir` (a DataDirError when another process holds it); returns its release. */
export function lockDataDirAcrossProcesses(dir: string): () => void {
  try {
    return lockDirAcrossProcesses(dir, LOCK_FILE);
  } catch (err) {
    if (err instanceof DirInUseError) {
      throw new DataDirError(`the data dir ${dir} is in use by another process (${(err as Error).message}). Stop that process, or give this acceptor another data dir.`);
    }
    // The lock file holds no state: what to mend is said with it (a file that cannot be opened, by its mode or owner).
    const message = (err as Error).message;
    if (/remove it/.test(message)) throw new DataDirError(message);
    throw new DataDirError(
      `${message} It holds no state: fix its permissions, or remove it while no process uses ${dir}, and start this acceptor again on this data dir (which holds its promises and votes).`,
    );
  }
}
