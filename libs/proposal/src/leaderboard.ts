// The canonical encoding of a leaderboard, and its hash.
//
// canonicalLeaderboardBytes(entries) is the UTF-8 encoding of
//
//     "harmonic.v1.leaderboard/1\n"
//     + for each entry, in the order given:
//         JSON.stringify([framework, score, price_per_point, bid, ask]) + "\n"
//
// where framework is the text as given and the four numbers are decimal strings normalised by
// normalizeDecimal (no leading '+', no leading zeros, no trailing fractional zeros, "-0" -> "0").
// Anything that is not [+-]digits[.digits] is rejected (no exponents, no spaces, no "1.", ".5").
// JSON.stringify quotes and escapes each string unambiguously, so no two leaderboards share an
// encoding. leaderboardSha256(entries) = lowercase hex SHA-256 of those bytes.
import { createHash } from 'node:crypto';
import { normalizeDecimal } from '@paxos/lmfdb-client';
import type { LeaderboardEntry } from '@paxos/proto';

export const LEADERBOARD_ENCODING_HEADER = 'harmonic.v1.leaderboard/1\n';
export const LEADERBOARD_NUMBER_FIELDS = ['score', 'pricePerPoint', 'bid', 'ask'] as const;

export class ProposalFormatError extends Error {
  override name = 'ProposalFormatError';
}

const FIELD_NAMES: Record<(typeof LEADERBOARD_NUMBER_FIELDS)[number], string> = {
  score: 'score',
  pricePerPoint: 'price_per_point',
  bid: 'bid',
  ask: 'ask',
};

/** The entry with its numbers normalised; throws ProposalFormatError for non-decimal text. */
export function normalizeLeaderboardEntry(e: LeaderboardEntry, index: number): LeaderboardEntry {
  const out = { ...e };
  for (const f of LEADERBOARD_NUMBER_FIELDS) {
    const n = normalizeDecimal(e[f]);
    if (n === undefined) throw new ProposalFormatError(`leaderboard[${index}].${FIELD_NAMES[f]} is not a decimal number: ${JSON.stringify(e[f])}`);
    out[f] = n;
  }
  return out;
}

export function canonicalLeaderboardBytes(entries: readonly LeaderboardEntry[]): Uint8Array {
  let text = LEADERBOARD_ENCODING_HEADER;
  entries.forEach((e, i) => {
    const n = normalizeLeaderboardEntry(e, i);
    text += `${JSON.stringify([n.framework, n.score, n.pricePerPoint, n.bid, n.ask])}\n`;
  });
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function leaderboardSha256(entries: readonly LeaderboardEntry[]): string {
  return createHash('sha256').update(canonicalLeaderboardBytes(entries)).digest('hex');
}
