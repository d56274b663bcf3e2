/** Which of the two kept state snapshots: the latest, or the one it replaced. */
export type SnapshotGeneration = 'latest' | 'previous';

/** A kept state snapshot's slot and encoded body; or why there is none to use (none written, or a damaged one). */
export type StoredStateSnapshot = { readonly slot: bigint; readonly body: Buffer } | { readonly missing: string };

/**
 * Where an acceptor keeps durable snapshots of its agreed state: the latest and the one before
 * it, so that one damaged copy never costs the state. The acceptor app keeps them in two files
 * (storage/state-snapshot-file.ts); the node-level simulator on its MemoryDisk.
 */
export interface StateSnapshotStore {
  /**
   * Makes `body` (the state applied up to `slot`) the latest snapshot and the one it replaces
   * the previous; resolves once both are durable, rejects when the new one may not be (the
   * snapshots kept before stay as they were).
   */
  write(slot: bigint, body: Buffer): Promise<void>;
  /** The kept snapshot of that generation, checked whole; or why there is none. */
  read(generation: SnapshotGeneration): StoredStateSnapshot;
}
