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
   * the previous, when that one is whole: a damaged (or missing) latest is replaced and the
   * previous kept, so that a damaged latest never pushes out a whole previous (a crash right
   * after would leave no usable snapshot). Resolves once both are durable, with the slot of the
   * previous snapshot kept (none when there is no whole one); rejects when the new one may not be
   * durable (the snapshots kept before stay as they were).
   */
  write(slot: bigint, body: Buffer): Promise<{ readonly previousSlot: bigint | undefined }>;
  /** The kept snapshot of that generation, checked whole; or why there is none. */
  read(generation: SnapshotGeneration): StoredStateSnapshot;
  /**
   * Says that the snapshot `read` gave of that generation at `slot` is not what its file says (its
   * state holds another slot: the file's slot field, outside its CRC, was damaged): it is not given
   * nor counted as covering the history from then on (optional; KeptStateSnapshots keeps it).
   */
  refuse?(generation: SnapshotGeneration, slot: bigint, why: string): void;
}

/**
 * The snapshot an acceptor gives (ReadService.GetStateSnapshot): the latest, or the previous one
 * when the latest is damaged or missing (a crash between a write's two renames leaves only the
 * previous). History retention keeps every slot above the previous one, so it is still one the
 * history continues from; the latest being damaged must not leave a lagging node with nothing to
 * install.
 */
export function snapshotToGive(read: (generation: SnapshotGeneration) => StoredStateSnapshot): StoredStateSnapshot {
  const latest = read('latest');
  if (!('missing' in latest)) return latest;
  const previous = read('previous');
  if (!('missing' in previous)) return previous;
  return { missing: latest.missing === previous.missing ? latest.missing : `${latest.missing}; the previous one: ${previous.missing}` };
}
