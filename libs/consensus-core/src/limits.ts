/** Hard bounds on what one message or one value may carry. */
export interface Limits {
  valueBytesMax: number;
  slotsPerMessageMax: number;
  entriesPerPromiseMax: number;
  /** A promise stops adding entries past this many value bytes (it always carries at least one). */
  promiseBytesMax: number;
  slotMax: bigint;
  /** An accept or commit notice further than this above the committed index is refused: no message can send proposers towards an absurd slot. */
  slotsAheadMax: bigint;
  /** Chosen values held above the committed index (commit notices for slots after a gap), in bytes; past it such notices are ignored. */
  chosenAheadBytesMax: number;
  /** Acceptors one command's claim certificate may name (more than any network has). */
  verifiersMax: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  valueBytesMax: 1024 * 1024,
  slotsPerMessageMax: 64,
  entriesPerPromiseMax: 1024,
  promiseBytesMax: 4 * 1024 * 1024,
  slotMax: 1n << 62n,
  slotsAheadMax: 1n << 20n,
  chosenAheadBytesMax: 64 * 1024 * 1024,
  verifiersMax: 1024,
});
