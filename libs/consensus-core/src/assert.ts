/** Thrown when an invariant of the core does not hold: a bug, never an input problem. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'AssertionError';
  }
}

/** TigerBeetle-style assertion: loud, always on, with the message of the broken invariant. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
