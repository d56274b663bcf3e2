// The submit tool's proposal.json:
//   { "proposal_number": 7, "proposer_id": 1,
//     "leaderboard": [{ "framework": "...", "score": "12.50", "price_per_point": 0.10, "bid": "1", "ask": "2" }],
//     "claims": [{ "source": 0, "label": "11.a2", "field": "jinv", "value": "-122023936/161051" }],
//     "leaderboard_sha256": "..." (optional; checked when given) }
// Numbers are read losslessly and kept exactly as written ("0.10" stays "0.10").
import { isLosslessNumber, isSourceNumber, parseLossless, stringifyLossless } from '@paxos/lmfdb-client';
import type { Claim, LeaderboardEntry, MonsterHarmonicProposal } from '@paxos/proto';
import { ProposalFormatError } from './leaderboard';
import { buildProposal } from './proposal-value';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}

/** A JSON number or string as the text written. */
function numberText(v: unknown, where: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (isLosslessNumber(v)) return v.toString();
  if (typeof v === 'string') return v;
  throw new ProposalFormatError(`${where} must be a decimal number or a string holding one`);
}

function integer(v: unknown, where: string, max: bigint): bigint {
  const text = typeof v === 'string' ? v.trim() : typeof v === 'bigint' ? v.toString() : undefined;
  if (text === undefined || !/^\d+$/.test(text) || BigInt(text) > max) throw new ProposalFormatError(`${where} must be an integer in 0..${max}`);
  return BigInt(text);
}

/** Half of a surrogate pair, alone (in Unicode mode a whole pair is one code point and does not match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function text(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new ProposalFormatError(`${where} must be a string`);
  // JSON may spell one ("\ud800"); UTF-8 cannot carry it, so the network would read U+FFFD in its
  // place, and the leaderboard's hash computed here would not be the one the nodes compute.
  if (LONE_SURROGATE.test(v)) throw new ProposalFormatError(`${where} holds half of a surrogate pair (a \\uD800-\\uDFFF escape without its other half): not text; write the whole character`);
  return v;
}

/** Parses proposal.json into a built proposal (hash computed); throws ProposalFormatError. */
export function parseProposalJson(json: string): MonsterHarmonicProposal {
  let doc: unknown;
  try {
    doc = parseLossless(json);
  } catch (e) {
    throw new ProposalFormatError(`proposal file is not JSON: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw new ProposalFormatError('proposal file must hold a JSON object');
  const lb = doc['leaderboard'] ?? [];
  if (!Array.isArray(lb)) throw new ProposalFormatError('leaderboard must be an array');
  const leaderboard: LeaderboardEntry[] = lb.map((e, i) => {
    if (!isObj(e)) throw new ProposalFormatError(`leaderboard[${i}] must be an object`);
    return {
      framework: text(e['framework'], `leaderboard[${i}].framework`),
      score: numberText(e['score'], `leaderboard[${i}].score`),
      pricePerPoint: numberText(e['price_per_point'], `leaderboard[${i}].price_per_point`),
      bid: numberText(e['bid'], `leaderboard[${i}].bid`),
      ask: numberText(e['ask'], `leaderboard[${i}].ask`),
    };
  });
  const cl = doc['claims'] ?? [];
  if (!Array.isArray(cl)) throw new ProposalFormatError('claims must be an array');
  const claims: Claim[] = cl.map((c, i) => {
    if (!isObj(c)) throw new ProposalFormatError(`claims[${i}] must be an object`);
    const source = Number(integer(c['source'], `claims[${i}].source`, 9n));
    if (!isSourceNumber(source)) throw new ProposalFormatError(`claims[${i}].source must be one of 0..9`);
    const v = c['value'] ?? c['claimed_value'];
    let claimedValue: string;
    if (typeof v === 'string') claimedValue = text(v, `claims[${i}].value`);
    else if (typeof v === 'bigint' || isLosslessNumber(v) || typeof v === 'boolean') claimedValue = String(v);
    else if (v !== undefined && v !== null) claimedValue = stringifyLossless(v);
    else throw new ProposalFormatError(`claims[${i}].value is missing`);
    return { source, label: text(c['label'], `claims[${i}].label`), field: text(c['field'], `claims[${i}].field`), claimedValue };
  });
  const proposal = buildProposal({
    proposalNumber: integer(doc['proposal_number'], 'proposal_number', (1n << 64n) - 1n),
    proposerId: Number(integer(doc['proposer_id'] ?? 0n, 'proposer_id', 0xffffffffn)),
    leaderboard,
    claims,
  });
  const given = doc['leaderboard_sha256'];
  if (given !== undefined && given !== proposal.leaderboardSha256) {
    // Printed as JSON unless it is text: an object's own toString could be anything (or not a function).
    const shown = typeof given === 'string' ? given : stringifyLossless(given);
    throw new ProposalFormatError(`leaderboard_sha256 is ${shown}, the leaderboard hashes to ${proposal.leaderboardSha256}`);
  }
  return proposal;
}
