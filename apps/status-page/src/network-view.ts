// What the page shows, as plain JSON (64-bit numbers as decimal strings), built from the nodes'
// answers: one NetworkView per poll, pushed to every open page.
import { formatBallot } from '@paxos/consensus-core';
import { isHarmonicContentType, decodeProposalValue } from '@paxos/proposal';
import type { LeaderboardRow, LogEntry, ProposalRecord, StatusResponse } from '@paxos/proto';
import type { RatePoint } from './rate-history';

/**
 * alive: answered; busy: answered that it is at one of its bounds (RESOURCE_EXHAUSTED: running,
 * but refusing more work for now); paused: its port takes the call but no answer came within the
 * deadline; down: refused or failed.
 */
export type NodeState = 'alive' | 'busy' | 'paused' | 'down';

export interface AcceptorView {
  readonly id: number;
  readonly address: string;
  readonly state: NodeState;
  /** Why it is busy, paused or down. */
  readonly reason?: string;
  readonly promised?: string;
  readonly committedIndex?: string;
  readonly appliedSlot?: string;
  /** Why its state machine stopped or has no state (its reads answer UNAVAILABLE). */
  readonly stateError?: string;
  /** Set while it rejoins after losing its data: the committed index it must reach before it votes. */
  readonly rejoinCatchUpTo?: string;
  readonly source?: { readonly source: number; readonly table: string; readonly loaded: boolean; readonly rows: string; readonly invalid: string; readonly error?: string };
  readonly storage?: { readonly healthy: boolean; readonly error?: string; readonly historyFirstSlot: string; readonly snapshotSlot: string; readonly historyBytes: string };
  readonly uptimeMs?: number;
  /** When it last answered (ms since the epoch). */
  readonly lastAnswerAt?: number;
}

export interface ProposerView {
  readonly address: string;
  readonly state: NodeState;
  readonly reason?: string;
  readonly leader?: boolean;
  /** True once it can choose nothing more (the ballot ceiling: paxos_proposer_cannot_choose). */
  readonly cannotChoose?: boolean;
  /** True while it learns the chosen log at its start and holds client work (paxos_proposer_learning). */
  readonly learning?: boolean;
  readonly ballotRound?: number;
  readonly deliveredSlot?: number;
  readonly inFlightSlots?: number;
  readonly pendingCommands?: number;
  readonly acceptorsReachable?: number;
}

export interface CommandView {
  readonly clientRequestId: string;
  readonly contentType: string;
  readonly bytes: number;
  /** The slot an earlier copy of this client_request_id took effect in (this copy did nothing). */
  readonly duplicateOf?: string;
  /** The node read no longer knows whether this copy took effect (its id was forgotten since): never shown as having taken effect. */
  readonly forgotten?: true;
  readonly proposalNumber?: string;
}

export interface SlotView {
  readonly slot: string;
  readonly ballot?: string;
  readonly noop: boolean;
  /** The first commands of the slot (at most 16; `commandCount` has them all). */
  readonly commands: readonly CommandView[];
  readonly commandCount: number;
}

export interface LeaderboardView {
  /** Who answered: the proposer, or an acceptor's applied state when the proposer did not. */
  readonly from: string;
  readonly appliedSlot: string;
  readonly proposals: string;
  readonly refused: string;
  readonly rows: ReadonlyArray<{ framework: string; score: string; pricePerPoint: string; bid: string; ask: string; proposalNumber: string; slot: string }>;
}

export interface ProposalView {
  readonly number: string;
  readonly slot: string;
  readonly proposerId: number;
  readonly claims: ReadonlyArray<{ readonly text: string; readonly source: number; readonly checkedBy: readonly number[] }>;
}

export interface NetworkView {
  readonly at: number;
  /** How often the page is updated, and how far back its chart reaches. */
  readonly pollMs: number;
  readonly historySeconds: number;
  readonly clusterSize: number;
  readonly quorumSize: number;
  readonly alive: number;
  /** Alive acceptors that vote (not those whose storage failed, nor those rejoining). */
  readonly voting: number;
  /** A quorum of acceptors is alive and votes. */
  readonly quorumAlive: boolean;
  /**
   * Acceptors that answered busy (running, refusing the page's calls for now): whether they vote
   * is not known, so a quorum that needs them is neither alive nor dead as far as the page knows.
   */
  readonly busy: number;
  readonly acceptors: readonly AcceptorView[];
  readonly proposer: ProposerView;
  readonly rates: readonly RatePoint[];
  readonly latestSlots: readonly SlotView[];
  readonly leaderboard?: LeaderboardView;
  readonly proposals: readonly ProposalView[];
  /** What could not be read this time, for the page's footer. */
  readonly problems: readonly string[];
}

/** Text from the network, cut to what a page shows: a node cannot grow every view with one long string. */
export const TEXT_CHARS_MAX = 256;
export const clip = (s: string): string => (s.length > TEXT_CHARS_MAX ? `${s.slice(0, TEXT_CHARS_MAX)}…` : s);
/** Rows, commands and claims shown per item. */
const ROWS_MAX = 64;
const COMMANDS_SHOWN_MAX = 16;
const CLAIMS_SHOWN_MAX = 16;

/** Whether an acceptor that answered votes: its storage is healthy and it is not rejoining. */
export const votes = (a: AcceptorView): boolean => a.state === 'alive' && a.storage?.healthy !== false && a.rejoinCatchUpTo === undefined;

export function acceptorView(id: number, address: string, s: StatusResponse, at: number): AcceptorView {
  // Another acceptor at this address (another network on these ports, or a node started with
  // another --id) is not this network's acceptor: it does not count toward the quorum.
  if (s.nodeId !== id) return { id, address, state: 'down', reason: `answers as acceptor ${s.nodeId}, not acceptor ${id} of this network` };
  const src = s.dataSource;
  const st = s.storage;
  return {
    id,
    address,
    state: 'alive',
    ...(s.promised ? { promised: formatBallot(s.promised) } : {}),
    committedIndex: String(s.committedIndex),
    appliedSlot: String(s.appliedSlot),
    ...(s.stateError ? { stateError: clip(s.stateError) } : {}),
    ...(s.rejoining ? { rejoinCatchUpTo: String(s.rejoinCatchUpTo) } : {}),
    ...(src
      ? { source: { source: src.source, table: clip(src.table), loaded: src.loaded, rows: String(src.rowCount), invalid: String(src.invalidCount), ...(src.error ? { error: clip(src.error) } : {}) } }
      : {}),
    ...(st
      ? { storage: { healthy: st.healthy, ...(st.error ? { error: clip(st.error) } : {}), historyFirstSlot: String(st.historyFirstSlot), snapshotSlot: String(st.snapshotSlot), historyBytes: String(st.historyBytes) } }
      : {}),
    uptimeMs: Number(s.uptimeMs),
    lastAnswerAt: at,
  };
}

/** The proposal number a harmonic command carries (undefined for other values or one that does not decode). */
function proposalNumberOf(contentType: string, data: Uint8Array): string | undefined {
  if (!isHarmonicContentType(contentType)) return undefined;
  try {
    return String(decodeProposalValue({ contentType, data }).proposalNumber);
  } catch {
    return undefined;
  }
}

export function slotView(e: LogEntry): SlotView {
  const kind = e.value?.kind;
  const commands: CommandView[] =
    kind?.$case === 'batch'
      ? kind.value.commands.slice(0, COMMANDS_SHOWN_MAX).map((c, i) => {
          const outcome = e.outcomes[i];
          const contentType = c.value?.contentType ?? '';
          const data = c.value?.data ?? new Uint8Array();
          const number = proposalNumberOf(contentType, data);
          return {
            clientRequestId: clip(c.clientRequestId),
            contentType: clip(contentType),
            bytes: data.length,
            ...(outcome?.duplicate ? { duplicateOf: String(outcome.firstSlot) } : {}),
            ...(outcome?.forgotten ? { forgotten: true as const } : {}),
            ...(number !== undefined ? { proposalNumber: number } : {}),
          };
        })
      : [];
  return {
    slot: String(e.slot),
    ...(e.ballot ? { ballot: formatBallot(e.ballot) } : {}),
    noop: kind?.$case !== 'batch',
    commands,
    commandCount: kind?.$case === 'batch' ? kind.value.commands.length : 0,
  };
}

export function leaderboardRows(rows: readonly LeaderboardRow[]): LeaderboardView['rows'] {
  return rows.slice(0, ROWS_MAX).map((r) => ({
    framework: clip(r.framework),
    score: clip(r.score),
    pricePerPoint: clip(r.pricePerPoint),
    bid: clip(r.bid),
    ask: clip(r.ask),
    proposalNumber: String(r.proposalNumber),
    slot: String(r.slot),
  }));
}

export function proposalView(p: ProposalRecord): ProposalView {
  return {
    number: String(p.proposalNumber),
    slot: String(p.slot),
    proposerId: p.proposerId,
    claims: p.claims
      .slice(0, CLAIMS_SHOWN_MAX)
      .flatMap((c) => (c.claim ? [{ text: clip(`${c.claim.source}:${c.claim.label}:${c.claim.field}=${c.claim.claimedValue}`), source: c.claim.source, checkedBy: c.checkedBy.slice(0, 64) }] : [])),
  };
}
