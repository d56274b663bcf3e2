// Building, encoding, decoding and validating the Monster Harmonic proposal value.
import { isUtf8 } from 'node:buffer';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { CLAIMED_VALUE_MAX, isSourceNumber } from '@paxos/lmfdb-client';
import { type Claim, type LeaderboardEntry, MonsterHarmonicProposal } from '@paxos/proto';
import { isHarmonicContentType, MONSTER_HARMONIC_CONTENT_TYPE } from './content-type';
import { leaderboardSha256, ProposalFormatError } from './leaderboard';

/** Claims one proposal may make: each is checked by the proposer and its source's acceptors, some by computation. */
export const CLAIMS_MAX = 64;
/** A claim's label and field, and its claimed value: LMFDB's are far shorter (an anlist:1000 claim is about 5 KB). */
export const CLAIM_NAME_MAX = 256;
/** The claimed value's bound is the one a verifier reads a claim at (lmfdb-client), so a verdict never depends on which node was asked. */
export const CLAIM_VALUE_MAX = CLAIMED_VALUE_MAX;
/**
 * A leaderboard's rows, a framework's name and each number's text. Every node keeps every
 * framework's row and the newest proposals whole, and serves them in one GetLeaderboard answer:
 * without these a client's 1 MB proposal of 8,000 frameworks cost every node 7 MB and made the
 * leaderboard too big to answer, for good (it is agreed state). With them a row is at most about
 * 250 bytes, and the registry's 4,096 frameworks and 10,000 changes fit one answer.
 */
export const LEADERBOARD_ROWS_MAX = 256;
export const FRAMEWORK_NAME_MAX = 64;
export const DECIMAL_TEXT_MAX = 32;
/**
 * C0 and C1 control characters, line and paragraph separators, and the bidirectional embeddings,
 * overrides and isolates: a framework name (or a client_request_id, which the proposer refuses
 * with one) is printed on terminals and pages, where these could make one row read as another.
 */
export const hasControlCharacter = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return true;
  }
  return false;
};
/**
 * Unicode's format characters (general category Cf, as of Unicode 17: the bidi controls above are
 * among them): invisible, so "fw\u200b" and "fw" would be two rows that read alike. Written out
 * rather than /\p{Cf}/u, whose set is the running Node's Unicode version: this is a rule of the
 * state machine, and nodes of other Node versions must refuse the same names.
 */
const FORMAT_CHARACTERS: ReadonlyArray<readonly [number, number]> = [
  [0xad, 0xad], [0x600, 0x605], [0x61c, 0x61c], [0x6dd, 0x6dd], [0x70f, 0x70f], [0x890, 0x891], [0x8e2, 0x8e2], [0x180e, 0x180e],
  [0x200b, 0x200f], [0x202a, 0x202e], [0x2060, 0x2064], [0x2066, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffb], [0x110bd, 0x110bd],
  [0x110cd, 0x110cd], [0x13430, 0x1343f], [0x1bca0, 0x1bca3], [0x1d173, 0x1d17a], [0xe0001, 0xe0001], [0xe0020, 0xe007f],
];
/** The first format (Cf) character of the text, as U+XXXX, or undefined. */
export function formatCharacterIn(text: string): string | undefined {
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0xad) continue;
    if (FORMAT_CHARACTERS.some(([lo, hi]) => c >= lo && c <= hi)) return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}
/** Characters as a person counts them (code points: an emoji is one), not UTF-16 units. */
const characters = (text: string): number => [...text].length;

/** Why one leaderboard row is out of the bounds above, or undefined. */
export function leaderboardEntryProblem(e: Pick<LeaderboardEntry, 'framework' | 'score' | 'pricePerPoint' | 'bid' | 'ask'>, i: number): string | undefined {
  if (e.framework.length === 0) return `leaderboard[${i}].framework is empty`;
  if (e.framework.length > FRAMEWORK_NAME_MAX && characters(e.framework) > FRAMEWORK_NAME_MAX) return `leaderboard[${i}].framework is ${characters(e.framework)} characters long, the limit is ${FRAMEWORK_NAME_MAX}`;
  if (hasControlCharacter(e.framework)) return `leaderboard[${i}].framework holds a control or text-direction character`;
  const invisible = formatCharacterIn(e.framework);
  if (invisible !== undefined) return `leaderboard[${i}].framework holds ${invisible}, an invisible format character: a name that reads like another would be another row`;
  for (const [field, text] of [['score', e.score], ['price_per_point', e.pricePerPoint], ['bid', e.bid], ['ask', e.ask]] as const) {
    if (text.length > DECIMAL_TEXT_MAX) return `leaderboard[${i}].${field} is ${text.length} characters long, the limit is ${DECIMAL_TEXT_MAX}`;
  }
  return undefined;
}

/** Why a leaderboard is out of the bounds above (INVALID_ARGUMENT), or undefined. */
export function leaderboardBoundProblem(rows: readonly LeaderboardEntry[]): string | undefined {
  if (rows.length > LEADERBOARD_ROWS_MAX) return `the leaderboard has ${rows.length} rows, the limit is ${LEADERBOARD_ROWS_MAX}`;
  for (const [i, e] of rows.entries()) {
    const problem = leaderboardEntryProblem(e, i);
    if (problem !== undefined) return problem;
  }
  // One row per framework: the registry would keep the last and list both as changes.
  const first = new Map<string, number>();
  for (const [i, e] of rows.entries()) {
    const earlier = first.get(e.framework);
    if (earlier !== undefined) return `leaderboard[${i}].framework is ${JSON.stringify(e.framework)}, as is leaderboard[${earlier}]: give each framework one row`;
    first.set(e.framework, i);
  }
  return undefined;
}

export interface ProposalInput {
  proposalNumber: bigint;
  proposerId: number;
  leaderboard: LeaderboardEntry[];
  claims?: Claim[];
}

/** The proposal with its leaderboard hash computed (throws ProposalFormatError on bad numbers). */
export function buildProposal(input: ProposalInput): MonsterHarmonicProposal {
  return {
    proposalNumber: input.proposalNumber,
    proposerId: input.proposerId,
    leaderboard: input.leaderboard.map((e) => ({ ...e })),
    leaderboardSha256: leaderboardSha256(input.leaderboard),
    claims: (input.claims ?? []).map((c) => ({ ...c })),
  };
}

export interface ProposalValue {
  contentType: string;
  data: Buffer;
}

export function encodeProposalValue(p: MonsterHarmonicProposal): ProposalValue {
  return { contentType: MONSTER_HARMONIC_CONTENT_TYPE, data: Buffer.from(MonsterHarmonicProposal.encode(p).finish()) };
}

/**
 * Stands for a text field whose bytes are not UTF-8: a lone surrogate, which no UTF-8 decodes to,
 * so the field that held it can be named.
 */
const NOT_UTF8 = '\uD800';

/**
 * Reads text fields strictly: the generated decoders take bytes that are not UTF-8 as U+FFFD, so
 * "ff ff" and "fe fe" read as one framework name with one leaderboard hash. Such a field reads
 * as NOT_UTF8 and is remembered (not thrown, so that the field can be named after decoding).
 */
class Utf8Reader extends BinaryReader {
  notUtf8 = false;
  override string(): string {
    // The bytes are checked by node:buffer's isUtf8 (the same answer on every Node build), not by
    // a fatal TextDecoder, whose support depends on the build's ICU: a rule of the state machine
    // must depend on the value's bytes alone. A cut-short field throws from bytes(), as before.
    const bytes = this.bytes();
    if (!isUtf8(bytes)) {
      this.notUtf8 = true;
      return NOT_UTF8;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
}

/** Where in the proposal a text field read as NOT_UTF8 (the first), or undefined. */
function notUtf8Field(p: MonsterHarmonicProposal): string | undefined {
  if (p.leaderboardSha256 === NOT_UTF8) return 'leaderboard_sha256';
  for (const [i, e] of p.leaderboard.entries()) {
    for (const [field, text] of [['framework', e.framework], ['score', e.score], ['price_per_point', e.pricePerPoint], ['bid', e.bid], ['ask', e.ask]] as const) {
      if (text === NOT_UTF8) return `leaderboard[${i}].${field}`;
    }
  }
  for (const [i, c] of p.claims.entries()) {
    for (const [field, text] of [['label', c.label], ['field', c.field], ['claimed_value', c.claimedValue]] as const) {
      if (text === NOT_UTF8) return `claims[${i}].${field}`;
    }
  }
  return undefined;
}

/**
 * Decodes a value of the Monster Harmonic content type (throws ProposalFormatError otherwise). A
 * text field that is not UTF-8 is refused, never read as U+FFFD: every node (proposer, acceptors'
 * vote, the state machine applying the log) decides from the value's own bytes, and no two byte
 * strings decode to one proposal's text.
 */
export function decodeProposalValue(v: { contentType: string; data: Uint8Array }): MonsterHarmonicProposal {
  if (!isHarmonicContentType(v.contentType)) throw new ProposalFormatError(`content type ${JSON.stringify(v.contentType)} is not ${MONSTER_HARMONIC_CONTENT_TYPE}`);
  const reader = new Utf8Reader(v.data);
  let proposal: MonsterHarmonicProposal;
  try {
    proposal = MonsterHarmonicProposal.decode(reader);
  } catch (e) {
    throw new ProposalFormatError(`malformed MonsterHarmonicProposal: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (reader.notUtf8) {
    // A field read twice keeps its last copy: the bad one may be gone, and the value is refused all the same.
    const where = notUtf8Field(proposal) ?? 'a text field';
    throw new ProposalFormatError(`${where} is not valid UTF-8: framework names, numbers and claims are UTF-8 text (bytes that are not would read as U+FFFD, and two names as one)`);
  }
  return proposal;
}

export type ProposalValidation =
  | { ok: true; proposal: MonsterHarmonicProposal }
  | { ok: false; code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION'; reason: string };

/**
 * Validates a proposal value: the content type, the protobuf, decimal numbers and well-formed
 * claims (INVALID_ARGUMENT), then the leaderboard hash (FAILED_PRECONDITION).
 */
export function validateProposalValue(contentType: string, data: Uint8Array): ProposalValidation {
  let proposal: MonsterHarmonicProposal;
  try {
    proposal = decodeProposalValue({ contentType, data });
  } catch (e) {
    return { ok: false, code: 'INVALID_ARGUMENT', reason: (e as Error).message };
  }
  const bound = leaderboardBoundProblem(proposal.leaderboard);
  if (bound !== undefined) return { ok: false, code: 'INVALID_ARGUMENT', reason: bound };
  let hash: string;
  try {
    hash = leaderboardSha256(proposal.leaderboard);
  } catch (e) {
    return { ok: false, code: 'INVALID_ARGUMENT', reason: (e as Error).message };
  }
  if (proposal.claims.length > CLAIMS_MAX) {
    return { ok: false, code: 'INVALID_ARGUMENT', reason: `the proposal makes ${proposal.claims.length} claims, the limit is ${CLAIMS_MAX}` };
  }
  for (const [i, c] of proposal.claims.entries()) {
    if (!isSourceNumber(c.source)) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].source is ${c.source}, not one of 0..9` };
    if (!c.label) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].label is empty` };
    if (!c.field) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].field is empty` };
    if (c.label.length > CLAIM_NAME_MAX) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].label is ${c.label.length} characters long, the limit is ${CLAIM_NAME_MAX}` };
    if (c.field.length > CLAIM_NAME_MAX) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].field is ${c.field.length} characters long, the limit is ${CLAIM_NAME_MAX}` };
    if (c.claimedValue.length > CLAIM_VALUE_MAX) return { ok: false, code: 'INVALID_ARGUMENT', reason: `claims[${i}].claimed_value is ${c.claimedValue.length} characters long, the limit is ${CLAIM_VALUE_MAX}` };
  }
  if (proposal.leaderboardSha256 !== hash) {
    return {
      ok: false,
      code: 'FAILED_PRECONDITION',
      reason: `leaderboard_sha256 is ${proposal.leaderboardSha256 || '(empty)'}, the leaderboard hashes to ${hash}`,
    };
  }
  return { ok: true, proposal };
}
