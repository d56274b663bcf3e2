// How large one read answer may be on the wire: what a client takes at its default receive limit.

/**
 * Bytes of one paged answer (ReadLog, ListProposals) on the wire: a client's default receive limit
 * (grpc-js and grpcurl, 4 MiB) less room for the answer's other fields. A larger answer is refused
 * by every client at its defaults ("Received message larger than max"), `npm run read` among them.
 */
export const ANSWER_BYTES_MAX = 4 * 1024 * 1024 - 1024;

/** Bytes an element of `n` encoded bytes takes in a repeated message field: its tag, its length prefix (a varint) and its encoding. */
export function repeatedFieldBytes(n: number): number {
  let prefix = 1;
  for (let rest = n >>> 7; rest > 0; rest >>>= 7) prefix++;
  return 1 + prefix + n;
}

/**
 * How many of the first `items` fit in ANSWER_BYTES_MAX, each taking `bytes(item)` (at least one
 * when there is one: a client asks on from the next, and one element larger than the bound is
 * still sent rather than never).
 */
export function fittingCount<T>(items: readonly T[], bytes: (item: T) => number): number {
  let total = 0;
  let count = 0;
  // Bounded by items.length.
  for (const item of items) {
    total += bytes(item);
    if (count > 0 && total > ANSWER_BYTES_MAX) break;
    count += 1;
  }
  return count;
}
