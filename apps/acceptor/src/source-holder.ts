import type { SlotValue } from '@paxos/consensus-core';
import type { ClaimVerdict, Logger } from '@paxos/grpc-kit';
import { loadSource, type SourceCache, unloadedStatus } from '@paxos/lmfdb-client';
import type { SourceStatus } from '@paxos/proto';
import { checkProposalClaims, contentKind, validateProposalValue } from '@paxos/proposal';

export interface SourceHolder {
  readonly status: () => SourceStatus;
  /** The acceptor's own check before it votes: a reason to refuse, or undefined. */
  readonly validate: (value: SlotValue) => string | undefined;
}

/**
 * The LMFDB source this acceptor holds (id mod 10). A missing or unreadable cache does not stop
 * the node: consensus does not depend on the data. It then refuses claims on its source as
 * unverifiable, and Status says the source is not loaded.
 */
export async function loadSourceHolder(cacheDir: string, source: number, logger: Logger, onVerdict?: (verdict: ClaimVerdict) => void): Promise<SourceHolder> {
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
  const validate = (value: SlotValue): string | undefined => {
    if (value.kind !== 'batch') return undefined;
    for (const c of value.commands) {
      const kind = contentKind(c.contentType);
      if (kind.kind === 'invalid') return `${c.clientRequestId}: ${kind.reason}`;
      if (kind.kind !== 'harmonic') continue;
      const checked = validateProposalValue(c.contentType, c.data);
      if (!checked.ok) return `${c.clientRequestId}: ${checked.reason}`;
      const claims = checkProposalClaims(checked.proposal, (n) => (n === source ? (cache ?? null) : undefined), { requireAll: false, onlySource: source, ...(onVerdict ? { onVerdict } : {}) });
      if (!claims.ok) return `${c.clientRequestId}: ${claims.reason}`;
    }
    return undefined;
  };
  return { status: () => status, validate };
}
