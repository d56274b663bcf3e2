import {
  type AcceptorCore,
  type AcceptorReply,
  type AcceptorRequest,
  type AcceptorStep,
  type Ballot,
  type Quorum,
  formatBallot,
  slotValueBytes,
} from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, type Logger } from '@paxos/grpc-kit';
import type { AcceptorCounters } from '@paxos/proto';
import type { CommitBatchRequest, PiggybackedCommits } from '@paxos/wire';
import type { AcceptorStorage } from './storage';


export interface AcceptorNodeOptions {
  readonly nodeId: number;
  readonly quorum: Quorum;
  readonly proposerIds: ReadonlySet<number>;
  readonly checkpointEveryRecords: number;
  /** Chosen slots kept below the committed index; memory and snapshots stay bounded. */
  readonly retainChosenSlots: number;
  /** And at most this many bytes of their values (slotValueBytes). */
  readonly retainChosenBytes: number;
  readonly logger: Logger;
  /** Told when storage fails (the node stops voting until restarted on healthy storage). */
  readonly onStorageFailure: (error: string) => void;
  /** Told when storage is healthy again after a failure (the node votes again). */
  readonly onStorageRecovered: () => void;
}

/** Chosen slots kept below the committed index whatever the bytes bound says. */
const KEPT_SLOTS_MIN = 16;

/** Accepted entries below the committed index are dropped once it has moved this far. */
const ACCEPTED_FOLD_EVERY_SLOTS = 64n;

function jittered(records: number): number {
  return Math.max(1, Math.round(records * (0.75 + Math.random() * 0.5)));
}

/** How often a node whose storage failed asks whether it is healthy again. */
const STORAGE_RECHECK_MS = 1000;

/**
 * One acceptor: the core's state machine in front of durable storage. Every reply leaves only
 * after what it reports is on disk: a change is appended (group commit) and awaited; a reply that
 * changes nothing waits for every append issued before it, so it never reveals undurable state.
 */
export class AcceptorNode {
  readonly counters: AcceptorCounters = {
    prepares: 0n,
    promises: 0n,
    accepts: 0n,
    accepted: 0n,
    rejects: 0n,
    refusals: 0n,
    commits: 0n,
    invalidRequests: 0n,
  };
  private lastAppend: Promise<void> = Promise.resolve();
  private recordsSinceCheckpoint = 0;
  /** Records before the next checkpoint: checkpointEveryRecords ± 25%, so acceptors fed the same accepts do not all checkpoint at once. */
  private checkpointAfter: number;
  private acceptedFoldedAt = 0n;
  /** Value bytes of each kept chosen slot, oldest first, counted up to keptCountedTo. */
  private readonly keptBytes: Array<{ readonly slot: bigint; readonly bytes: number }> = [];
  private keptBytesTotal = 0;
  private keptCountedTo = 0n;
  private checkpointing = false;
  private storageError: string | undefined;

  constructor(
    readonly core: AcceptorCore,
    readonly storage: AcceptorStorage,
    private readonly opts: AcceptorNodeOptions,
  ) {
    this.checkpointAfter = jittered(opts.checkpointEveryRecords);
  }

  get nodeId(): number {
    return this.opts.nodeId;
  }

  get quorum(): Quorum {
    return this.opts.quorum;
  }

  get failure(): string | undefined {
    return this.storageError;
  }

  /**
   * Runs one request through the core, persists what it must, and returns the reply to send.
   * Commit notices riding on an accept are applied in memory, like any commit notice.
   */
  async handle(request: AcceptorRequest, commits?: PiggybackedCommits): Promise<AcceptorReply> {
    this.assertVoting();
    const step = this.step(request, commits);
    const reply = step.reply;
    this.maybeFold();
    if (request.type === 'commit') {
      // A commit notice is an optimisation, never a condition of safety: it is applied in memory
      // and answered at once, without a write. What it taught is saved by the next checkpoint;
      // an acceptor that restarts before that is brought up again by the proposer's catch-up.
      this.countReply(reply);
      return reply;
    }
    try {
      if (step.persist) {
        const appended = this.storage.append(step.persist);
        this.lastAppend = appended;
        await appended;
        this.recordsSinceCheckpoint += 1;
      } else {
        await this.lastAppend;
      }
    } catch (err) {
      this.failStorage(err);
      throw new GrpcError(GrpcStatus.INTERNAL, `storage failed: ${(err as Error).message}; the vote was not cast`);
    }
    this.countReply(reply);
    this.maybeCheckpoint();
    return reply;
  }

  /**
   * Commit notices that came in one message (a CommitBatch): each applied in memory like a single
   * notice, one answer for all. A malformed notice fails the whole message (INVALID_ARGUMENT)
   * after the ones before it were applied, which is harmless: notices only teach chosen values.
   * Its chosen_below (a proposer that no longer keeps the values of older slots) first moves the
   * committed index past slots this acceptor could otherwise never complete.
   */
  async handleCommits(batch: CommitBatchRequest): Promise<AcceptorReply> {
    this.assertVoting();
    const from = this.core.committedIndex;
    if (batch.chosenBelow > 0n && this.core.learnChosenBelow(batch.chosenBelow)) {
      this.opts.logger.info(
        { from: from.toString(), to: this.core.committedIndex.toString() },
        'committed index moved past chosen slots whose values the proposer no longer keeps',
      );
    }
    let reply: AcceptorReply = { type: 'committed', committedIndex: this.core.committedIndex };
    for (const request of batch.notices) {
      if (request.type !== 'commit') throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `a commit batch holds only commit notices, not ${request.type}`);
      reply = this.step(request).reply;
    }
    this.maybeFold();
    return reply;
  }

  private assertVoting(): void {
    if (this.storageError !== undefined) {
      throw new GrpcError(GrpcStatus.INTERNAL, `storage failed (${this.storageError}); this node does not vote until its storage is healthy again`);
    }
  }

  /**
   * One request through the core, counted and checked, with the commit notices riding on it;
   * an invalid one throws INVALID_ARGUMENT. Persisting is the caller's.
   */
  private step(request: AcceptorRequest, commits?: PiggybackedCommits): AcceptorStep {
    this.count(request);
    this.checkProposer(request);
    const step = this.core.handle(request);
    if (commits && request.type === 'accept' && step.reply.type !== 'invalid') {
      for (let slot = commits.from; slot < commits.to; slot++) {
        this.counters.commits += 1n;
        this.core.handle({ type: 'commit', slot, ballot: request.ballot });
      }
    }
    if (step.reply.type === 'invalid') {
      this.counters.invalidRequests += 1n;
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, step.reply.reason);
    }
    return step;
  }

  private checkProposer(request: AcceptorRequest): void {
    const ballot: Ballot = request.ballot;
    if (!this.opts.proposerIds.has(ballot.proposerId)) {
      this.counters.invalidRequests += 1n;
      throw new GrpcError(
        GrpcStatus.INVALID_ARGUMENT,
        `ballot ${formatBallot(ballot)}: proposer id ${ballot.proposerId} is not one of the configured proposers (--proposer-ids)`,
      );
    }
  }

  private count(request: AcceptorRequest): void {
    if (request.type === 'prepare') this.counters.prepares += 1n;
    else if (request.type === 'accept') this.counters.accepts += 1n;
    else this.counters.commits += 1n;
  }

  private countReply(reply: AcceptorReply): void {
    if (reply.type === 'promise') this.counters.promises += 1n;
    else if (reply.type === 'accepted') this.counters.accepted += 1n;
    else if (reply.type === 'reject') this.counters.rejects += 1n;
    else if (reply.type === 'refused') this.counters.refusals += 1n;
  }

  /**
   * Stops voting. Safe to resume once storage has repaired itself: a change whose write failed
   * was never replied to, and every later reply persists its own change before it leaves.
   */
  private failStorage(err: unknown): void {
    if (this.storageError !== undefined) return;
    this.storageError = err instanceof Error ? err.message : String(err);
    this.opts.logger.error({ err }, 'storage failed: this node stops voting');
    this.opts.onStorageFailure(this.storageError);
    const recheck = setInterval(() => {
      if (!this.storage.healthy) return;
      clearInterval(recheck);
      this.storageError = undefined;
      this.opts.logger.warn('storage is healthy again: this node votes again');
      this.opts.onStorageRecovered();
    }, STORAGE_RECHECK_MS);
    recheck.unref();
  }

  /**
   * Drops accepted copies of chosen slots (every 64 committed slots), and chosen values more than
   * retainChosenSlots below the committed index, a quarter of the bound at a time (each fold walks
   * the kept slots). Proposers that need older values are told where the kept range starts
   * (Learn's oldest_kept_slot).
   */
  private maybeFold(): void {
    const committed = this.core.committedIndex;
    if (committed - this.acceptedFoldedAt >= ACCEPTED_FOLD_EVERY_SLOTS) {
      this.acceptedFoldedAt = committed;
      this.core.foldAcceptedBelowCommitted();
    }
    this.countKeptBytes(committed);
    // Fold in steps of a quarter of each bound: every fold walks the chosen values.
    const retain = BigInt(this.opts.retainChosenSlots);
    let foldBelow = committed - this.core.oldestKeptSlot > retain + retain / 4n ? committed - retain : 0n;
    if (this.keptBytesTotal > this.opts.retainChosenBytes * 1.25) {
      let remaining = this.keptBytesTotal;
      // The newest KEPT_SLOTS_MIN slots stay whatever their size: Learn can always serve them.
      const last = this.keptBytes.length - KEPT_SLOTS_MIN;
      for (let i = 0; i < last; i++) {
        const k = this.keptBytes[i] as { slot: bigint; bytes: number };
        if (remaining <= this.opts.retainChosenBytes) break;
        remaining -= k.bytes;
        if (k.slot + 1n > foldBelow) foldBelow = k.slot + 1n;
      }
    }
    if (foldBelow <= this.core.oldestKeptSlot) return;
    this.core.foldChosenBelow(foldBelow);
    this.dropKeptBelow(this.core.oldestKeptSlot);
  }

  /** Records the value bytes of chosen slots committed since the last call. */
  private countKeptBytes(committed: bigint): void {
    if (this.keptCountedTo < this.core.oldestKeptSlot) {
      this.dropKeptBelow(this.core.oldestKeptSlot);
      this.keptCountedTo = this.core.oldestKeptSlot;
    }
    if (committed <= this.keptCountedTo) return;
    for (const c of this.core.chosenFrom(this.keptCountedTo, Number(committed - this.keptCountedTo))) {
      const bytes = slotValueBytes(c.value);
      this.keptBytes.push({ slot: c.slot, bytes });
      this.keptBytesTotal += bytes;
    }
    this.keptCountedTo = committed;
  }

  private dropKeptBelow(slot: bigint): void {
    let n = 0;
    while (n < this.keptBytes.length && (this.keptBytes[n] as { slot: bigint }).slot < slot) this.keptBytesTotal -= (this.keptBytes[n++] as { bytes: number }).bytes;
    this.keptBytes.splice(0, n);
  }

  /** Folds the state into a snapshot every checkpointEveryRecords records, so the log stays bounded. */
  private maybeCheckpoint(): void {
    if (this.checkpointing || this.recordsSinceCheckpoint < this.checkpointAfter) return;
    this.checkpointing = true;
    this.checkpointAfter = jittered(this.opts.checkpointEveryRecords);
    const started = this.recordsSinceCheckpoint;
    // The snapshot is taken after every append issued so far is durable, so it holds only replied-to state or more.
    const run = async () => {
      await this.lastAppend;
      const snapshot = this.core.snapshot();
      await this.storage.checkpoint(snapshot);
      // Chosen values stay in memory (and in the next snapshot): proposers and learners read
      // them through Learn and promises. Only the log file is folded.
      this.recordsSinceCheckpoint -= started;
      this.opts.logger.info({ committedIndex: snapshot.committedIndex.toString(), folded: started }, 'checkpoint written');
    };
    const done = run().catch((err) => this.failStorage(err));
    this.lastAppend = done.then(() => undefined);
    void done.finally(() => {
      this.checkpointing = false;
    });
  }

  /** Waits for every append and checkpoint in flight (SIGTERM). */
  async drain(): Promise<void> {
    await this.lastAppend.catch(() => undefined);
  }
}
