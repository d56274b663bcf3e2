/** A request that cannot be turned into a core request: answered with INVALID_ARGUMENT and this text. */
export class WireError extends Error {
  override readonly name = 'WireError';
}
