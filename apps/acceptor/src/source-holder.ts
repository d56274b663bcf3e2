import type { SlotValue } from '@paxos/consensus-core';
import type { ClaimVerdict, Logger } from '@paxos/grpc-kit';
import { loadSource, type SourceCache, unloadedStatus } from '@paxos/lmfdb-client';
import { type SourceStatus, Verdict } from '@paxos/proto';
import { checkProposalClaims, validateProposalValue, valueVoteProblem } from '@paxos/proposal';

/** This acceptor's verdict on a command's claims about its source (AcceptorService.VerifyClaims). */
export interface ClaimsVerdict {
  readonly source: number;
  readonly verdict: Verdict;
  readonly reason: string;
}

export interface SourceHolder {
  readonly status: () => SourceStatus;
  /** The acceptor's check before it votes (the claim certificate, not its own data): a reason to refuse, or undefined. */
  readonly validate: (value: SlotValue) => string | undefined;
  /**
   * Checks a Monster Harmonic proposal's claims on this acceptor's source against its data;
   * a string when the command is not one (INVALID_ARGUMENT).
   */
  readonly verify: (command: { readonly contentType: string; readonly data: Uint8Array }) => ClaimsVerdict | string;
}

/**
 * The LMFDB source this acceptor holds (id mod 10). A missing or unreadable cache does not stop
 * the node: consensus does not depend on the data. It then refuses claims on its source as
 * unverifiable, and Status says the source is not loaded.
 */
export async function loadSourceHolder(
  cacheDir: string,
  source: number,
  acceptors: number,
  logger: Logger,
  onVerdict?: (verdict: ClaimVerdict) => void,
): Promise<SourceHolder> {
  let cache: SourceCache | undefined;
  let status: SourceStatus;
  try {
    cache = await loadSource(cacheDir, source);
    status = cache.status();
    logger.info({ source, table: status.table, rows: status.rowCount.toString(), sha256: status.snapshotSha256 }, 'LMFDB source loaded');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    status = unloadedStatus(source, reason);
    logger.warn({ source, cacheDir, reason }, 'LMFDB source not loaded: this node votes, but refuses claims on its source as unverifiable');
  }
  const validate = (value: SlotValue): string | undefined => valueVoteProblem(value, acceptors);
  const verify = (command: { readonly contentType: string; readonly data: Uint8Array }): ClaimsVerdict | string => {
    const checked = validateProposalValue(command.contentType, command.data);
    if (!checked.ok) return checked.reason;
    const claims = checkProposalClaims(checked.proposal, (n) => (n === source ? (cache ?? null) : undefined), { requireAll: false, onlySource: source, ...(onVerdict ? { onVerdict } : {}) });
    if (claims.ok) return { source, verdict: Verdict.VERDICT_TRUE, reason: '' };
    return { source, verdict: claims.result.verdict === 'false' ? Verdict.VERDICT_FALSE : Verdict.VERDICT_UNKNOWN, reason: claims.reason };
  };
  return { status: () => status, validate, verify };
}
