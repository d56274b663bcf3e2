/**
 * Splits items, in order, into chunks of at most `countMax` items and about `bytesMax` bytes
 * (`sizeOf` each); an item larger than `bytesMax` goes alone.
 */
export function chunksOf<T>(items: readonly T[], countMax: number, bytesMax: number, sizeOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= countMax || bytes + size > bytesMax)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
