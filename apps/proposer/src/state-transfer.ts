import { status } from '@grpc/grpc-js';
import type { Ballot, Quorum } from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import type { StateSnapshotBytes } from '@paxos/read-service';
import { type AgreedState, type AgreedStateSnapshot, decodeStateSnapshot } from '@paxos/state-machine';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog } from './chosen-log';

/** Deadline of a Learn asking where the acceptors' snapshots are. */
const ASK_DEADLINE_MS = 2000;
/** Deadline of moving one state snapshot (it may be hundreds of megabytes). */
const TRANSFER_DEADLINE_MS = 60_000;
/**
 * The longest a fetch waits for the holder's next chunk. A holder that stopped answering (paused,
 * cut off, or crashed with the request in flight) held the proposer's own install, one at a time,
 * for the whole transfer deadline, past the node simulator's 30 s after a heal (seed 12900507).
 */
const CHUNK_IDLE_MS = 5000;
const RETRY_MS_MIN = 1000;
/**
 * Acceptors whose committed index must reach a snapshot's slot before it is taken (one damaged
 * acceptor is tolerated; a quorum when smaller), unless acceptors lost their data (snapshotAbove).
 */
const SNAPSHOT_VOUCHERS = 2;
const RETRY_MS_MAX = 60_000;

export interface StateTransferDeps {
  readonly links: readonly AcceptorLink[];
  readonly quorum: Quorum;
  readonly chosen: ChosenLog;
  /** The proposer's state machine, continued from a snapshot (its digest function and options). */
  readonly restore: (snapshot: AgreedStateSnapshot) => AgreedState;
  /** The proposer delivered up to the installed snapshot: its core, and the clients waiting for ids it holds. */
  readonly installed: (slot: bigint) => void;
  /** The ballot an install is sent under (it names this proposer to the acceptor). */
  readonly ballot: () => Ballot;
  readonly logger: Logger;
}

/**
 * State snapshots between nodes, for slots no acceptor keeps any more (--history-retain-slots):
 * a proposer whose next slot to deliver was dropped everywhere installs the newest snapshot an
 * acceptor has, and an acceptor whose committed index is below every other's retained history is
 * given one. The last snapshot fetched is kept (one) for the next laggard.
 */
export class StateTransfer {
  private kept: StateSnapshotBytes | undefined;
  /** When an acceptor whose install failed may be tried again (one entry per acceptor at most). */
  private readonly retries = new Map<number, { at: number; waitMs: number }>();
  private installingHere: Promise<boolean> | undefined;

  constructor(private readonly deps: StateTransferDeps) {}

  /**
   * Installs the newest snapshot an acceptor holds when it is above the delivered log; true when
   * the log moved. One at a time.
   */
  installHere(): Promise<boolean> {
    this.installingHere ??= this.install().finally(() => {
      this.installingHere = undefined;
    });
    return this.installingHere;
  }

  private async install(): Promise<boolean> {
    const { chosen, logger } = this.deps;
    const from = chosen.nextSlot;
    const { snapshot, restored } = await this.snapshotAbove(from, undefined);
    let state: AgreedState;
    try {
      state = restored ?? this.deps.restore(decodeStateSnapshot(snapshot.body));
    } catch (e) {
      // Kept only once it restored: this is not expected, but the next try must not offer it again.
      this.kept = undefined;
      throw new GrpcError(status.UNAVAILABLE, `the state snapshot at slot ${snapshot.slot} cannot be used: ${(e as Error).message}`);
    }
    if (state.appliedSlot <= chosen.nextSlot) return false; // the log moved past it meanwhile
    chosen.installSnapshot(state);
    this.deps.installed(state.appliedSlot);
    logger.warn({ from: from.toString(), slot: state.appliedSlot.toString(), bytes: snapshot.body.length }, 'installed a state snapshot: the acceptors no longer keep the chosen slots below it');
    return true;
  }

  /**
   * Gives the acceptor, whose committed index is `committedIndex`, a snapshot above it; resolves
   * with its committed index after. After a failure the next try on that acceptor waits, doubling
   * from 1 s to 60 s.
   */
  async installOn(link: AcceptorLink, committedIndex: bigint): Promise<bigint> {
    const retry = this.retries.get(link.nodeId);
    if (retry !== undefined && performance.now() < retry.at) throw new GrpcError(status.UNAVAILABLE, `the last state snapshot for node ${link.nodeId} failed; next try in ${Math.ceil(retry.at - performance.now())} ms`);
    let after: bigint;
    let snapshot: StateSnapshotBytes;
    try {
      ({ snapshot } = await this.snapshotAbove(committedIndex, link.nodeId));
      after = await link.installStateSnapshot(this.deps.ballot(), snapshot, TRANSFER_DEADLINE_MS);
    } catch (e) {
      const waitMs = Math.min(RETRY_MS_MAX, (retry?.waitMs ?? RETRY_MS_MIN / 2) * 2);
      this.retries.set(link.nodeId, { at: performance.now() + waitMs, waitMs });
      this.deps.logger.warn({ acceptor: link.nodeId, err: (e as Error).message, retryInMs: waitMs }, 'giving a lagging acceptor a state snapshot failed');
      throw e;
    }
    this.retries.delete(link.nodeId);
    this.deps.logger.warn({ acceptor: link.nodeId, slot: snapshot.slot.toString(), committedBefore: committedIndex.toString(), committedIndex: after.toString() }, 'gave a lagging acceptor a state snapshot');
    return after;
  }

  /** Whether an acceptor says (Status) it lost its data and rejoins, not yet caught up to its floor. */
  private async someoneRejoins(links: readonly AcceptorLink[]): Promise<boolean> {
    const answers = await Promise.allSettled(links.map((l) => l.status(ASK_DEADLINE_MS)));
    return answers.some((a) => a.status === 'fulfilled' && a.value.rejoining);
  }

  /**
   * A snapshot at a slot above `slot`: the one kept, or the newest one an acceptor (not `except`)
   * holds that this build can continue from, then with the state it restores to.
   */
  private async snapshotAbove(slot: bigint, except: number | undefined): Promise<{ snapshot: StateSnapshotBytes; restored?: AgreedState }> {
    if (this.kept !== undefined && this.kept.slot > slot) return { snapshot: this.kept };
    const candidates = this.deps.links.filter((l) => l.up);
    const answers = await Promise.allSettled(candidates.map((l) => l.learn(slot, 1, ASK_DEADLINE_MS)));
    // A snapshot is taken only at or below a slot two acceptors know committed: one acceptor that
    // is damaged (or lies) cannot move the log past slots the network has not chosen. Not a
    // quorum: after the acceptors lost power (their committed indexes fall back to their synced
    // histories) and some lost their disks, the slots below the snapshots may be held by no one,
    // and the only acceptors whose committed index still reaches a snapshot may be fewer. An
    // acceptor's durable snapshot is what it knew committed too (it applied every slot below it),
    // though a power loss took its committed index below it.
    const committed = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value.committedIndex > a.value.snapshotSlot ? a.value.committedIndex : a.value.snapshotSlot] : []));
    const vouchers = Math.min(SNAPSHOT_VOUCHERS, this.deps.quorum.q);
    committed.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const agreed = committed[vouchers - 1];
    if (agreed === undefined) throw new GrpcError(status.UNAVAILABLE, `${committed.length} acceptors answered where their state snapshots are, ${vouchers} needed`);
    const all = candidates.map((link, i) => {
      const a = answers[i];
      return { link, snapshotSlot: a?.status === 'fulfilled' ? a.value.snapshotSlot : 0n };
    });
    const above = (upTo: bigint) =>
      all.filter((h) => h.link.nodeId !== except && h.snapshotSlot > slot && h.snapshotSlot <= upTo).sort((a, b) => (a.snapshotSlot > b.snapshotSlot ? -1 : a.snapshotSlot < b.snapshotSlot ? 1 : 0));
    let holders = above(agreed);
    let upTo = agreed;
    // No snapshot two acceptors vouch for reaches past `slot`, and the acceptors asked for `slot`
    // could not give it (this is asked only then). After acceptors that vouched for a snapshot
    // lost their disks, the slots above what the others committed may survive only in the one
    // acceptor given that snapshot while they still vouched for it: refusing it stopped the log
    // for good (node simulator, seed 12916133). Its own word is taken then, and only then: a
    // quorum answered (no one else has more), and an acceptor says it lost its data and rejoins
    // (it may have been a voucher). In a network that lost no disk, one acceptor alone, damaged or
    // given a forged snapshot, still moves no proposer.
    const highest = committed[0];
    if (holders.length === 0 && committed.length >= this.deps.quorum.q && highest !== undefined && highest > slot) {
      // Statuses are asked only when a snapshot would be taken on them.
      const alone = above(highest);
      if (alone.length > 0 && (await this.someoneRejoins(candidates))) {
        upTo = highest;
        holders = alone;
        this.deps.logger.warn({ slot: slot.toString(), upTo: upTo.toString(), vouchedByTwo: agreed.toString() }, 'no state snapshot above the slot is vouched for by two acceptors, and acceptors lost their data: taking one vouched for by its holder alone');
      }
    }
    const failures: string[] = [];
    for (const h of holders) {
      try {
        const snapshot = await h.link.stateSnapshot(TRANSFER_DEADLINE_MS, CHUNK_IDLE_MS);
        // The holder's snapshot may have moved since it answered: still only at or below what its vouchers report committed.
        if (snapshot.slot <= slot || snapshot.slot > upTo) continue;
        // Kept only once this build can continue from it: it decodes (not a newer build's format,
        // not an older Node's reader) and restores (sessions of this network's bound, a registry
        // within its bounds). A kept snapshot is offered again and again, and the next holder's
        // would never be asked: one that decoded but could not be restored stopped this
        // proposer's catch-up for good.
        const restored = this.deps.restore(decodeStateSnapshot(snapshot.body));
        this.kept = snapshot;
        return { snapshot, restored };
      } catch (e) {
        failures.push(`node ${h.link.nodeId}: ${(e as Error).message}`);
      }
    }
    throw new GrpcError(status.UNAVAILABLE, `no acceptor could give a state snapshot above slot ${slot} (${failures.join('; ') || 'none holds one'})`);
  }
}
