// Content types: which values are Monster Harmonic proposals. A value is recognised by what its
// content type says once parsed (RFC 7231 media type: type, subtype and parameter names are
// case-insensitive, a parameter value may be quoted), never by how it is spelled, and the proposer,
// every acceptor and the state machine decide it with this one function.

/** The content type of a Monster Harmonic proposal inside a paxos.v1.Value (the canonical spelling). */
export const MONSTER_HARMONIC_CONTENT_TYPE = 'application/x-protobuf; messageType=harmonic.v1.MonsterHarmonicProposal';
const HARMONIC_MESSAGE_TYPE = 'harmonic.v1.MonsterHarmonicProposal';

export interface MediaType {
  /** Lower case. */
  readonly type: string;
  readonly subtype: string;
  /** Parameter names in lower case; values as given (unquoted). */
  readonly parameters: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a media type (RFC 7231 section 3.1.1.1); undefined when it is not one. */
export function parseMediaType(text: string): MediaType | undefined {
  const semi = text.indexOf(';');
  const head = (semi < 0 ? text : text.slice(0, semi)).trim();
  const slash = head.indexOf('/');
  if (slash < 0) return undefined;
  const type = head.slice(0, slash);
  const subtype = head.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const parameters = new Map<string, string>();
  let rest = semi < 0 ? '' : text.slice(semi + 1);
  // Bounded: every turn consumes at least one character of `rest`.
  while (rest.trim() !== '') {
    const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(;|$)/.exec(rest);
    if (!m) return undefined;
    const name = (m[1] as string).toLowerCase();
    const raw = m[2] as string;
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (parameters.has(name)) return undefined; // a parameter given twice is ambiguous
    parameters.set(name, value);
    rest = rest.slice(m[0].length);
  }
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), parameters };
}

export type ContentKind = { readonly kind: 'harmonic' } | { readonly kind: 'opaque' } | { readonly kind: 'invalid'; readonly reason: string };

/**
 * What a value's content type makes it: a Monster Harmonic proposal (validated), an opaque value,
 * or invalid (refused): a content type that is not a media type, or a protobuf of a harmonic.*
 * message type other than the one we know.
 */
export function contentKind(contentType: string): ContentKind {
  // The two spellings nearly every value has, without parsing (this runs for every command at
  // every acceptor).
  if (contentType === MONSTER_HARMONIC_CONTENT_TYPE) return { kind: 'harmonic' };
  if (contentType === 'text/plain' || contentType === 'application/octet-stream') return { kind: 'opaque' };
  const m = parseMediaType(contentType);
  if (m === undefined) {
    return { kind: 'invalid', reason: `content type ${JSON.stringify(contentType)} is not a media type (type/subtype[; name=value]...), e.g. "text/plain" or "${MONSTER_HARMONIC_CONTENT_TYPE}"` };
  }
  if (m.type !== 'application' || m.subtype !== 'x-protobuf') return { kind: 'opaque' };
  const messageType = m.parameters.get('messagetype');
  if (messageType === HARMONIC_MESSAGE_TYPE) return { kind: 'harmonic' };
  if (messageType !== undefined && messageType.toLowerCase().startsWith('harmonic.')) {
    return { kind: 'invalid', reason: `content type names message type ${JSON.stringify(messageType)}; the Monster Harmonic type is ${HARMONIC_MESSAGE_TYPE} (spelled exactly)` };
  }
  return { kind: 'opaque' };
}

/** Is this content type a Monster Harmonic proposal (however it is spelled)? */
export function isHarmonicContentType(contentType: string): boolean {
  return contentKind(contentType).kind === 'harmonic';
}
