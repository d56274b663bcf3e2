/** Hard bounds on what one message or one value may carry. */
export interface Limits {
  valueBytesMax: number;
  slotsPerMessageMax: number;
  entriesPerPromiseMax: number;
  /** A promise stops adding entries past this many value bytes (it always carries at least one). */
  promiseBytesMax: number;
  slotMax: bigint;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  valueBytesMax: 1024 * 1024,
  slotsPerMessageMax: 64,
  entriesPerPromiseMax: 1024,
  promiseBytesMax: 4 * 1024 * 1024,
  slotMax: 1n << 62n,
});
