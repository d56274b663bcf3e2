import { KEEP_DAMAGED_DATA_DIR } from '@paxos/acceptor-node';
import { GrpcError, GrpcStatus } from '@paxos/grpc-kit';

/** A log or snapshot file is damaged somewhere other than a torn tail: the node refuses to start. */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(
      `storage corruption in ${file} at byte offset ${offset}: ${detail}. ` +
        `Refusing to start rather than guess at the state this acceptor promised or voted. ${KEEP_DAMAGED_DATA_DIR}`,
    );
  }
}

/** The data dir cannot be used: it belongs to another node, is not writable, is in use, and so on. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

/** Codes of a file or directory this process may not read or write (its mode, owner, a read-only mount, an immutable flag). */
const ACCESS_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/** What to do about a file of the data dir that could not be opened or read, by its error's code. */
export function unreadableAdvice(err: unknown): string {
  return ACCESS_CODES.has(String((err as NodeJS.ErrnoException)?.code))
    ? 'Fix its permissions (or its owner, a read-only mount or an immutable flag) and start this acceptor again on this data dir'
    : 'The disk did not give it: check the device (the kernel log says more) and start this acceptor again on this data dir once it reads';
}

/**
 * A system error met while opening the data dir (a file of it that cannot be read or opened, a
 * directory that cannot be listed) as a DataDirError naming the file and what to do; any other
 * error as it is. The dir holds this acceptor's promises and votes: the advice is to mend it and
 * start on it again, never to start elsewhere.
 */
export function openFailure(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || err instanceof DataDirError || err instanceof StorageCorruptionError || typeof e.code !== 'string' || typeof e.path !== 'string') return err;
  return new DataDirError(
    `cannot ${e.syscall ?? 'open'} ${e.path} (${e.message}). ${unreadableAdvice(e)}. Do not start it from a backup or an empty data dir meanwhile: this one holds its promises and votes, and without them two values could be chosen for one slot.`,
  );
}

/** "<op> of <file> failed: <code>: <message>", the code once (Node's messages for system errors start with it). */
export function ioFailure(op: string, file: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = e?.message ?? String(err);
  const code = e?.code && !message.startsWith(e.code) ? `${e.code} ` : '';
  return `${op} of ${file} failed: ${code}${message}`;
}

/** Storage is unhealthy (a write or fsync failed): the acceptor must not vote until it recovers. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

/** The pending-write queue is over its bound: the caller must back off. */
export class StorageOverloadedError extends Error {
  override readonly name = 'StorageOverloadedError';
}

/** A record cannot be decoded although its CRC is right (a bug or a foreign file). */
export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
}

/**
 * A failed read of the chosen history as a caller's status: a damaged record is DATA_LOSS naming
 * where (the node serves on; other nodes hold the same slots); anything else is INTERNAL.
 */
export function historyReadError(err: unknown): GrpcError {
  if (err instanceof GrpcError) return err;
  if (err instanceof StorageCorruptionError) {
    return new GrpcError(GrpcStatus.DATA_LOSS, `this acceptor's chosen history is damaged (${err.file} at byte offset ${err.offset}: ${err.detail}); read these slots from another node`);
  }
  return new GrpcError(GrpcStatus.INTERNAL, `reading the chosen history failed: ${(err as Error).message}`);
}
