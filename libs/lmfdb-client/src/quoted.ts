// How a verdict's reason quotes text it did not write (a claimed value, a record's reasons): cut
// to a bound. A reason travels as a gRPC status message, in one HTTP/2 header block: a 16 KiB claim
// of control characters or non-ASCII text, escaped and percent-encoded, passed its 64 KiB limit,
// and the answer never reached the client (it saw only its deadline).

/** Characters of a value or a record's reasons quoted in a verdict's reason. */
export const QUOTED_MAX = 200;

/** The text, cut to QUOTED_MAX UTF-16 units with its length said; never half of a surrogate pair. */
export function clipped(text: string): string {
  if (text.length <= QUOTED_MAX) return text;
  // Never half of a UTF-16 pair: the reason is sent as a status message and logged.
  const end = /[\ud800-\udbff]/.test(text[QUOTED_MAX - 1] ?? '') ? QUOTED_MAX - 1 : QUOTED_MAX;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/** A claimed value quoted in a reason: JSON-escaped (control characters visible), cut first. */
export const quotedClaim = (text: string): string => JSON.stringify(clipped(text));
