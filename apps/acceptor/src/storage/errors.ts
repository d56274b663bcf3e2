/** A log or snapshot file is damaged somewhere other than a torn tail: the node refuses to start. */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(
      `storage corruption in ${file} at byte offset ${offset}: ${detail}. ` +
        'Refusing to start rather than guess at the state this acceptor promised or voted. ' +
        'Restore the data dir from a backup, or (losing this node\'s votes) move the data dir away and let the node rejoin empty.',
    );
  }
}

/** The data dir cannot be used: it belongs to another node, is not writable, is in use, and so on. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
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
