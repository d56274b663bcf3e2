// Two clocks, kept apart. Durations, timeouts and "when may this be tried again" are measured on
// performance.now(), which only moves forward; the wall clock (Date.now) is stepped by NTP or an
// operator, and an interval measured on it can come out an hour long or negative. The wall clock
// is read only for what names a moment: timestamps a person reads, certificate validity, and the
// deadlines grpc-js takes (below).

/**
 * A client call's deadline `ms` from now, as grpc-js takes it: wall-clock time, which grpc-js turns
 * into a timeout on its own clock when the call starts (a later step of the wall clock does not
 * move it).
 */
export function deadlineAfter(ms: number): number {
  // eslint-disable-next-line no-restricted-properties -- grpc-js's deadlines are wall-clock time
  return Date.now() + ms;
}

/**
 * How much of a server call's deadline is left, in ms (Infinity when its client set none; 0 or
 * less once it passed). grpc-js gives the deadline as wall-clock time: it is turned into a moment on
 * performance.now() here, once, so that a stream's deadline checked minutes later is not moved by a
 * step of the wall clock in between. Call it when the call arrives.
 */
export function deadlineLeft(call: { getDeadline(): Date | number }): () => number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (Number.isNaN(at) || !Number.isFinite(at)) return () => Infinity;
  // eslint-disable-next-line no-restricted-properties -- grpc-js's deadlines are wall-clock time
  const until = performance.now() + (at - Date.now());
  return () => until - performance.now();
}
