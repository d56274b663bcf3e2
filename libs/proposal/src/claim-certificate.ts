// The claim certificate: which acceptors must verify a proposal's LMFDB claims before it is
// proposed, and the check every acceptor makes before it votes. Acceptor i holds source i mod 10
// (the network's layout: launch, the registry and this rule agree). A proposal's claims on a source
// are verified when a majority of that source's acceptors say so; the proposer names them in
// Command.verified_by, and acceptors vote on the certificate without checking the claims again,
// so acceptors whose data disagree can never stop a slot. A claim on a source no acceptor holds
// (a network of fewer than ten) is verified by the proposer alone.
import type { SlotValue } from '@paxos/consensus-core';
import type { MonsterHarmonicProposal } from '@paxos/proto';
import { contentKind } from './content-type';
import { validateProposalValue } from './proposal-value';

/** Number of LMFDB sources. */
const SOURCES = 10;

/** The source acceptor `id` holds. */
export function sourceOfAcceptor(id: number): number {
  return id % SOURCES;
}

/** The acceptors (ids 0..acceptors-1) that hold `source`. */
export function sourceHolders(source: number, acceptors: number): number[] {
  const out: number[] = [];
  for (let id = source; id < acceptors; id += SOURCES) out.push(id);
  return out;
}

/** Verifications a source with `holders` acceptors needs: a majority of them. */
export function verificationsNeeded(holders: number): number {
  return Math.floor(holders / 2) + 1;
}

/** The claimed sources some acceptor holds, each once, ascending: the ones a certificate must cover. */
export function sourcesToCertify(proposal: MonsterHarmonicProposal, acceptors: number): number[] {
  const sources = new Set<number>();
  for (const c of proposal.claims) if (c.source < SOURCES && sourceHolders(c.source, acceptors).length > 0) sources.add(c.source);
  return [...sources].sort((a, b) => a - b);
}

/** Why `verifiedBy` does not certify the proposal's claims in a network of `acceptors`, or undefined. */
export function certificateProblem(proposal: MonsterHarmonicProposal, verifiedBy: readonly number[], acceptors: number): string | undefined {
  const seen = new Set<number>();
  for (const id of verifiedBy) {
    if (!Number.isInteger(id) || id < 0 || id >= acceptors) return `verified_by names acceptor ${id}, not one of the ${acceptors}`;
    if (seen.has(id)) return `verified_by names acceptor ${id} twice`;
    seen.add(id);
  }
  for (const source of sourcesToCertify(proposal, acceptors)) {
    const holders = sourceHolders(source, acceptors);
    const have = holders.filter((id) => seen.has(id)).length;
    const need = verificationsNeeded(holders.length);
    if (have < need) {
      return `its claims on source ${source} were verified by ${have} of that source's acceptors (${holders.join(', ')}), ${need} needed`;
    }
  }
  return undefined;
}

/** One command of a value, as an acceptor sees it before it votes. */
export interface VotedCommand {
  readonly clientRequestId: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly verifiedBy?: readonly number[];
}

/**
 * The check every acceptor makes before it votes on a command: a content type it can read, a
 * well-formed Monster Harmonic proposal, and a claim certificate. It depends on nothing but the
 * command and the network's size, so every acceptor reaches the same verdict on the same value:
 * a value one acceptor votes for, all will.
 */
export function voteProblem(c: VotedCommand, acceptors: number): string | undefined {
  const kind = contentKind(c.contentType);
  if (kind.kind === 'invalid') return `${c.clientRequestId}: ${kind.reason}`;
  if (kind.kind !== 'harmonic') return undefined;
  const checked = validateProposalValue(c.contentType, c.data);
  if (!checked.ok) return `${c.clientRequestId}: ${checked.reason}`;
  const problem = certificateProblem(checked.proposal, c.verifiedBy ?? [], acceptors);
  return problem === undefined ? undefined : `${c.clientRequestId}: ${problem}`;
}

/**
 * The acceptor's vote check on a whole slot value: the first command of a batch that fails
 * `voteProblem`, or undefined. Acceptors and the node-level simulator's acceptors call this one
 * function, so the simulator votes exactly as a real acceptor does.
 */
export function valueVoteProblem(value: SlotValue, acceptors: number): string | undefined {
  if (value.kind !== 'batch') return undefined;
  for (const c of value.commands) {
    const problem = voteProblem(c, acceptors);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
