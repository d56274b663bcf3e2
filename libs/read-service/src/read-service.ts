import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import type { ChosenEntry } from '@paxos/consensus-core';
import { type Caller, callerKey, callerOf, CountsByKey, deadlineLeft, peerCertificateName, peerIdentity, GrpcError, toServiceError } from '@paxos/grpc-kit';
import {
  Consistency,
  type GetLeaderboardRequest,
  type GetLeaderboardResponse,
  type GetProposalRequest,
  type GetProposalResponse,
  type GetStateSnapshotRequest,
  type GetStateSnapshotResponse,
  ForgottenProposal,
  type ListProposalsRequest,
  LogEntry,
  type ListProposalsResponse,
  ProposalRecord,
  type ReadLogRequest,
  type ReadLogResponse,
  type ReadServiceServer,
} from '@paxos/proto';
import type { AgreedState } from '@paxos/state-machine';
import { ANSWER_BYTES_MAX, fittingCount, repeatedFieldBytes } from './answer-bytes';
import { logEntryToWire, proposalToWire, rowToWire } from './records-to-wire';
import { type StateSnapshotBytes, stateSnapshotChunks } from './state-snapshot-chunks';

/** Bounds of one answer. */
export const READ_LOG_ENTRIES_MAX = 1024;
/** About how many bytes of command values a node reads from its log for one ReadLog answer (acceptors and proposers alike). */
export const READ_LOG_VALUE_BYTES_MAX = 4 * 1024 * 1024;
/**
 * Bytes of one ReadLog answer on the wire. The nodes cut their reads at 4 MiB of command values,
 * but each command's id and content type, and its outcome (the id again), come on top: a log of
 * small commands was answered with 4.6-5 MiB, which every client at its defaults refused.
 */
export const READ_LOG_ANSWER_BYTES_MAX = ANSWER_BYTES_MAX;
/**
 * Bytes of one ListProposals answer on the wire. A proposal may carry 256 leaderboard rows and 64
 * claims: 256 proposals of wide leaderboards made an answer of about 13 MB.
 */
export const LIST_PROPOSALS_ANSWER_BYTES_MAX = ANSWER_BYTES_MAX;

/** The first entries of `entries` whose encoding fits READ_LOG_ANSWER_BYTES_MAX (at least one: the client asks on from the next slot). */
export function fitReadLogAnswer(entries: readonly LogEntry[]): LogEntry[] {
  return entries.slice(0, fittingCount(entries, (e) => repeatedFieldBytes(LogEntry.encode(e).finish().length)));
}
export const LIST_PROPOSALS_MAX = 256;
/** One proposal of a ListProposals page, as it goes on the wire. */
type ListedProposal = { readonly kept: ProposalRecord } | { readonly forgotten: ForgottenProposal };
export const LEADERBOARD_HISTORY_MAX = 1000;
/** State snapshots one node sends at once to clients that are not proposers. */
export const SNAPSHOT_TRANSFERS_MAX = 2;
/** Of those, to one client (so that one client never holds every place). */
export const SNAPSHOT_TRANSFERS_PER_CLIENT_MAX = 1;
/**
 * State snapshots one node sends at once to proposers, apart from the clients' places: clients
 * that hold theirs for their 120 s must not keep a lagging acceptor, or a proposer restarting past
 * dropped history, from the snapshot it needs (a proposer fetches for two laggards and itself).
 * On plaintext no caller can be told from a proposer, and every caller counts here.
 */
export const SNAPSHOT_TRANSFERS_TO_PROPOSERS_MAX = 4;

/** What a node gives the read service. */
export interface ReadSource {
  /** The node's agreed state, read at each call (it may be replaced); a GrpcError when the node has none. */
  readonly state: AgreedState;
  /** The consistency of a read that does not say (CONSISTENCY_UNSPECIFIED). */
  readonly defaultConsistency: Consistency.CONSISTENCY_LINEARIZABLE | Consistency.CONSISTENCY_STALE;
  /**
   * Resolves once the state reflects every write acknowledged before the call (the proposer's
   * read barrier), within `deadlineMs` (what is left of the client's deadline; undefined when it
   * set none); rejects with a GrpcError when that cannot be had, or once `gone()` (its client
   * cancelled the call: the wait must not outlive it). Absent: the node answers
   * linearizable reads with FAILED_PRECONDITION.
   */
  readonly linearizable?: (deadlineMs: number | undefined, gone: () => boolean) => Promise<void>;
  /** Brings the applied state up to what the node holds, before a stale read is answered (optional). */
  readonly settle?: () => void;
  /** Chosen entries from `from` on, in order, at most `max` (from this node's log, any retained slot), read for `caller`. */
  readonly readLog: (from: bigint, max: number, caller: Caller) => Promise<readonly ChosenEntry[]>;
  /** The node's latest durable state snapshot (a GrpcError when it has none). Absent: FAILED_PRECONDITION. */
  readonly stateSnapshot?: () => StateSnapshotBytes;
}

/** What is left of a call's deadline in ms; undefined when the client set none. */
function remainingMs(call: { getDeadline(): Date | number }): number | undefined {
  const ms = deadlineLeft(call)();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

function consistencyName(c: Consistency): string {
  return c === Consistency.CONSISTENCY_LINEARIZABLE ? 'linearizable' : 'stale';
}

/** paxos.v1.ReadService over a node's agreed state: the same answers on a proposer and an acceptor. */
export function readService(source: ReadSource): ReadServiceServer {
  /** State snapshots being sent to clients, and to proposers (each holds its bytes until done). */
  const transfers = { clients: 0, proposers: 0 };
  /** Transfers to clients under way, by client (callerKey). */
  const transfersOf = new CountsByKey(SNAPSHOT_TRANSFERS_PER_CLIENT_MAX);
  /** Waits for the read's consistency, then answers with `answer()` (computed after the wait). */
  const serve = <T>(call: { getDeadline(): Date | number; readonly cancelled?: boolean }, asked: Consistency, callback: sendUnaryData<T>, answer: () => T): void => {
    const c = asked === Consistency.CONSISTENCY_UNSPECIFIED ? source.defaultConsistency : asked;
    let ready: Promise<void>;
    if (c === Consistency.CONSISTENCY_LINEARIZABLE) {
      ready = source.linearizable
        ? source.linearizable(remainingMs(call), () => call.cancelled === true)
        : Promise.reject(new GrpcError(status.FAILED_PRECONDITION, 'this node answers stale reads only (CONSISTENCY_STALE); ask a proposer for a linearizable read'));
    } else if (c === Consistency.CONSISTENCY_STALE) {
      // settle() applies what the node has learned; a throw there is the node's own fault and
      // must end this call with INTERNAL, not escape the handler.
      try {
        source.settle?.();
        ready = Promise.resolve();
      } catch (e) {
        callback(toServiceError(e));
        return;
      }
    } else {
      callback(toServiceError(new GrpcError(status.INVALID_ARGUMENT, `consistency ${String(asked)} is not one of CONSISTENCY_LINEARIZABLE, CONSISTENCY_STALE`)));
      return;
    }
    ready.then(
      () => {
        try {
          callback(null, answer());
        } catch (e) {
          callback(toServiceError(e));
        }
      },
      (e: unknown) => callback(toServiceError(e)),
    );
  };

  return {
    readLog(call: ServerUnaryCall<ReadLogRequest, ReadLogResponse>, callback: sendUnaryData<ReadLogResponse>) {
      const { fromSlot } = call.request;
      const max = Math.min(call.request.maxEntries || READ_LOG_ENTRIES_MAX, READ_LOG_ENTRIES_MAX);
      let applied: bigint;
      let state: AgreedState;
      try {
        source.settle?.();
        state = source.state;
        applied = state.appliedSlot;
      } catch (e) {
        callback(toServiceError(e));
        return;
      }
      if (fromSlot >= applied) {
        callback(null, { entries: [], appliedSlot: applied });
        return;
      }
      source.readLog(fromSlot, Math.min(max, Number(applied - fromSlot)), callerOf(call)).then(
        (entries) => {
          // The state the read began with (an install may have replaced the node's since).
          // Cut to what a client takes at its default receive limit: it reads on from the next slot.
          // A throw here would be an unhandled rejection (the end of a Node 20 process) and a call
          // left without a status: it ends the call with INTERNAL instead.
          try {
            const wire = entries.filter((e) => e.slot < state.appliedSlot).map((e) => logEntryToWire(e, state));
            callback(null, { entries: fitReadLogAnswer(wire), appliedSlot: state.appliedSlot });
          } catch (e) {
            callback(toServiceError(e));
          }
        },
        (e: unknown) => callback(toServiceError(e)),
      );
    },

    getProposal(call: ServerUnaryCall<GetProposalRequest, GetProposalResponse>, callback: sendUnaryData<GetProposalResponse>) {
      const n = call.request.proposalNumber;
      serve(call, call.request.consistency, callback, () => {
        const state = source.state;
        const found = state.registry.proposal(n);
        const at = state.appliedSlot;
        const forgotten = state.registry.forgottenAtOrBelow;
        if (found === undefined && forgotten !== undefined && n <= forgotten) {
          throw new GrpcError(
            status.OUT_OF_RANGE,
            `proposal ${n} is at or below ${forgotten}, the highest proposal number the registry no longer keeps (it keeps the newest ${state.registry.numbersMax}): whether it took effect is in the chosen log (ReadLog)`,
          );
        }
        if (found === undefined) throw new GrpcError(status.NOT_FOUND, `no proposal ${n} took effect in slots below ${at} (${consistencyName(call.request.consistency || source.defaultConsistency)} read)`);
        if ('forgotten' in found) {
          throw new GrpcError(
            status.OUT_OF_RANGE,
            `proposal ${n} took effect in slot ${found.slot}, older than the proposals this node keeps in full: read it with ReadLog from slot ${found.slot}`,
          );
        }
        return { proposal: proposalToWire(found), appliedSlot: at };
      });
    },

    listProposals(call: ServerUnaryCall<ListProposalsRequest, ListProposalsResponse>, callback: sendUnaryData<ListProposalsResponse>) {
      const max = Math.min(call.request.maxEntries || LIST_PROPOSALS_MAX, LIST_PROPOSALS_MAX);
      serve(call, call.request.consistency, callback, () => {
        const state = source.state;
        const page = state.registry.proposals(call.request.fromNumber, max + 1);
        // In number order, kept records and forgotten ones together, cut to what a client takes
        // at its default receive limit: the next page starts at the first number left out.
        const wire = page.slice(0, max).map((p): ListedProposal => ('forgotten' in p ? { forgotten: { proposalNumber: p.proposalNumber, slot: p.slot } } : { kept: proposalToWire(p) }));
        const shown = fittingCount(wire, (w) => repeatedFieldBytes('kept' in w ? ProposalRecord.encode(w.kept).finish().length : ForgottenProposal.encode(w.forgotten).finish().length));
        return {
          proposals: wire.slice(0, shown).flatMap((w) => ('kept' in w ? [w.kept] : [])),
          forgotten: wire.slice(0, shown).flatMap((w) => ('forgotten' in w ? [w.forgotten] : [])),
          appliedSlot: state.appliedSlot,
          nextNumber: page[shown]?.proposalNumber ?? 0n,
          ...(state.registry.forgottenAtOrBelow === undefined ? {} : { forgottenAtOrBelow: state.registry.forgottenAtOrBelow }),
          forgottenCount: BigInt(state.registry.forgottenNumbers),
        };
      });
    },

    getLeaderboard(call: ServerUnaryCall<GetLeaderboardRequest, GetLeaderboardResponse>, callback: sendUnaryData<GetLeaderboardResponse>) {
      if (call.request.historyMax > LEADERBOARD_HISTORY_MAX) {
        callback(toServiceError(new GrpcError(status.INVALID_ARGUMENT, `history_max ${call.request.historyMax} is above ${LEADERBOARD_HISTORY_MAX}`)));
        return;
      }
      serve(call, call.request.consistency, callback, () => {
        const state = source.state;
        return {
          rows: state.registry.leaderboard().map(rowToWire),
          history: state.registry.history(call.request.historyMax).map(rowToWire),
          appliedSlot: state.appliedSlot,
          proposals: BigInt(state.registry.proposalCount),
          refused: BigInt(state.registry.refused),
        };
      });
    },

    getStateSnapshot(call: ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>) {
      // Clients are callers that present a certificate and are not proposers (one the CA signed
      // with a name not of ours among them). On plaintext (--insecure, where no caller can be
      // told from a proposer, nor kept from opening another connection) every call counts against
      // the proposers' places.
      const identity = peerIdentity(call);
      const client = peerCertificateName(call) !== undefined && identity?.role !== 'proposer' ? callerKey(call) : undefined;
      const pool = client === undefined ? 'proposers' : 'clients';
      const to = client !== undefined ? 'clients' : identity === undefined ? 'proposers and callers without a certificate' : 'proposers';
      const max = client === undefined ? SNAPSHOT_TRANSFERS_TO_PROPOSERS_MAX : SNAPSHOT_TRANSFERS_MAX;
      let snapshot: StateSnapshotBytes;
      try {
        if (!source.stateSnapshot) throw new GrpcError(status.FAILED_PRECONDITION, 'this node keeps no state snapshot: ask an acceptor');
        if (client !== undefined && transfersOf.of(client) >= SNAPSHOT_TRANSFERS_PER_CLIENT_MAX) {
          throw new GrpcError(status.RESOURCE_EXHAUSTED, `this node already sends you a state snapshot: read it to its end (or cancel it) before asking for another`);
        }
        if (transfers[pool] >= max) throw new GrpcError(status.RESOURCE_EXHAUSTED, `this node already sends ${max} state snapshots to ${to}: try again later`);
        snapshot = source.stateSnapshot();
      } catch (e) {
        call.emit('error', toServiceError(e));
        return;
      }
      transfers[pool] += 1;
      if (client !== undefined) transfersOf.take(client);
      void writeChunks(call, snapshot).finally(() => {
        transfers[pool] -= 1;
        if (client === undefined) return;
        transfersOf.give(client);
      });
    },
  };
}

/** How long sending one snapshot may take: a reader that stops reading does not hold it longer. */
const SNAPSHOT_SEND_MS = 120_000;

/** Writes the snapshot's chunks, waiting for the stream to drain between them (a slow reader holds one chunk at a time). */
async function writeChunks(call: ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>, snapshot: StateSnapshotBytes): Promise<void> {
  let wake: () => void = () => undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    wake();
  }, SNAPSHOT_SEND_MS);
  timer.unref();
  try {
    for (const chunk of stateSnapshotChunks(snapshot)) {
      if (call.cancelled || timedOut) break;
      if (!call.write({ chunk })) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          wake = done;
          call.on('drain', done);
          call.on('cancelled', done);
        });
      }
    }
    if (timedOut) call.emit('error', toServiceError(new GrpcError(status.DEADLINE_EXCEEDED, `the snapshot was not read within ${SNAPSHOT_SEND_MS / 1000} s`)));
    else if (!call.cancelled) call.end();
  } finally {
    clearTimeout(timer);
  }
}
