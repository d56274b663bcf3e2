// Claim extraction and checking for a proposal.
import { type ClaimResult, type SourceCache, verifyClaim } from '@paxos/lmfdb-client';
import type { Claim, MonsterHarmonicProposal } from '@paxos/proto';

export interface ClaimCheckOptions {
  /**
   * true (the proposer): every claim must verify; a claim on a source that is not loaded is
   * refused as unknown. false (an acceptor): claims on sources the lookup does not answer for
   * (undefined) are skipped.
   */
  requireAll: boolean;
  /** Only check claims on this source (an acceptor's own); the others are skipped. */
  onlySource?: number;
  /** Told the verdict of every claim checked (the metrics). */
  onVerdict?: (verdict: 'true' | 'false' | 'unknown') => void;
}

export type ClaimCheck =
  | { ok: true; checked: number; skipped: number }
  | { ok: false; reason: string; claim: Claim; result: ClaimResult };

/** The claims of a proposal (its LMFDB facts), in order. */
export function extractClaims(p: MonsterHarmonicProposal): Claim[] {
  return p.claims.map((c) => ({ ...c }));
}

/**
 * Checks a proposal's claims in order and returns the first failure: a false claim, or an unknown
 * one (not passed as true) on a source this node answers for.
 *
 * lookup(source): the cache; null when this node answers for the source but has not loaded it
 * (claims on it are unknown); undefined when the node does not answer for it.
 */
export function checkProposalClaims(
  proposal: MonsterHarmonicProposal,
  lookup: (source: number) => SourceCache | null | undefined,
  opts: ClaimCheckOptions,
): ClaimCheck {
  let checked = 0;
  let skipped = 0;
  for (const [i, claim] of proposal.claims.entries()) {
    if (opts.onlySource !== undefined && claim.source !== opts.onlySource) {
      skipped++;
      continue;
    }
    const cache = lookup(claim.source);
    if (cache === undefined && !opts.requireAll) {
      skipped++;
      continue;
    }
    const result = verifyClaim(cache ?? undefined, claim);
    opts.onVerdict?.(result.verdict);
    checked++;
    if (result.verdict === 'true') continue;
    const what = result.verdict === 'false' ? 'is false' : 'cannot be verified';
    return { ok: false, claim, result, reason: `claims[${i}] (source ${claim.source}, ${claim.label}, ${claim.field}) ${what}: ${result.reason}` };
  }
  return { ok: true, checked, skipped };
}
