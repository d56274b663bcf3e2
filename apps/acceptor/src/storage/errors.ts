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
