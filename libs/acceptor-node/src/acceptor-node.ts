import {
  type AcceptorCore,
  type AcceptorReply,
  type AcceptorRequest,
  type AcceptorStep,
  type Ballot,
  type ChosenRecord,
  type Quorum,
  formatBallot,
  slotValueBytes,
  } from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, type Logger } from '@paxos/grpc-kit';
import type { AcceptorCounters } from '@paxos/proto';
import type { AcceptorNodeStorage } from './node-storage';

export interface AcceptorNodeOptions {
  readonly nodeId: number;
  readonly quorum: Quorum;
  readonly proposerIds: ReadonlySet<number>;
  readonly checkpointEveryRecords: number;
  /** A checkpoint is also due once the live log holds this many bytes (default CHECKPOINT_EVERY_BYTES). */
  readonly checkpointEveryBytes?: number;
  readonly logger: Logger;
  /** Told when storage fails (the node stops voting until restarted on healthy storage). */
  readonly onStorageFailure: (error: string) => void;
  /** Told when storage is healthy again after a failure (the node votes again). */
  readonly onStorageRecovered: () => void;
  /** Uniform in [0, 1): spreads checkpoints (the simulator passes its seeded generator). */
  readonly random?: () => number;
}

/** Accepted entries and chosen values below the committed index leave memory once it has moved this far (the chosen history holds them). */
const FOLD_EVERY_SLOTS = 64n;
/**
 * Or once the chosen history has taken this many value bytes since the last fold: by the slot
 * count alone an acceptor kept up to 64 slots of values up to 1 MiB each, with the bytes each
 * arrived in, already in its history (about 90 MB seen after a minute of 60 KB values).
 */
const FOLD_EVERY_BYTES = 8 * 1024 * 1024;

function jittered(records: number, random: () => number): number {
  return Math.max(1, Math.round(records * (0.75 + random() * 0.5)));
}

/**
 * Bytes of live log that make a checkpoint due whatever the record count: with large values
 * (up to --max-value-bytes each) a record count alone let a segment pass 2 GiB, which recovery
 * cannot read into one buffer, and made recovery hold the whole log in memory.
 */
export const CHECKPOINT_EVERY_BYTES = 256 * 1024 * 1024;

/** Of the checkpoints that fail while a node waits to vote again, the first and every this many-th are logged. */
const CHECKPOINT_FAILURES_LOGGED_EVERY = 60;
/** How often a node whose storage failed asks whether it is healthy again. */
const STORAGE_RECHECK_MS = 1000;

/**
 * One acceptor: the core's state machine in front of durable storage. Every reply leaves only
 * after what it reports is on disk: a change is appended (group commit) and awaited; a reply that
 * changes nothing waits for every append issued before it, so it never reveals undurable state.
 */
export class AcceptorNode<S extends AcceptorNodeStorage = AcceptorNodeStorage> {
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
  /** Records before the next checkpoint: checkpointEveryRecords +/- 25%, so acceptors fed the same accepts do not all checkpoint at once. */
  private checkpointAfter: number;
  private foldedAt = 0n;
  /** Value bytes the chosen history took since the last fold. */
  private bytesSinceFold = 0;
  private chosenPrefixListener: (records: readonly ChosenRecord[]) => void = () => undefined;
  private checkpointing = false;
  private storageError: string | undefined;
  /** The timer that waits for failed storage to heal (see failStorage). */
  private storageRecheck: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(
    readonly core: AcceptorCore,
    readonly storage: S,
    private readonly opts: AcceptorNodeOptions,
  ) {
    this.checkpointAfter = jittered(opts.checkpointEveryRecords, this.random);
  }

  private get random(): () => number {
    return this.opts.random ?? Math.random;
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
   * Runs one request through the core with the commit notices it carries, persists what it must,
   * and returns the reply to send. Notices alone (no request) are answered with the committed index
   * at once: a commit notice is an optimisation, never a condition of safety, and the chosen prefix
   * it completed is in the chosen history (without an fsync of its own: see chosen-history.ts).
   * The notices go first: a malformed one fails the whole message (INVALID_ARGUMENT) before the
   * request changed anything (the ones before it were applied, which is harmless: notices only
   * teach chosen values), and a lagging acceptor's committed index has moved before the request's
   * slot is weighed against it.
   */
  async handle(request: AcceptorRequest | undefined, notices: readonly AcceptorRequest[] = []): Promise<AcceptorReply> {
    this.assertVoting();
    let step: AcceptorStep | undefined;
    try {
      for (const notice of notices) {
        if (notice.type !== 'commit') throw new Error(`assertion: a ${notice.type} passed as a commit notice`);
        this.step(notice);
      }
      step = request ? this.step(request) : undefined;
    } finally {
      this.keepChosenPrefixOrStop();
    }
    if (!step) return { type: 'committed', committedIndex: this.core.committedIndex };
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
    this.countReply(step.reply);
    this.maybeCheckpoint();
    return step.reply;
  }

  /**
   * keepChosenPrefix, where a failed history write stops this node voting (until its storage is
   * healthy again) instead of failing the request whose step already changed the core: that
   * step's change is still persisted before its reply, so no reply rests on undurable state.
   */
  private keepChosenPrefixOrStop(): void {
    try {
      this.keepChosenPrefix();
    } catch (err) {
      // The history's write failure (keepChosenPrefix already stopped the node); an assertion goes on.
      if (!(err instanceof GrpcError) || this.storageError === undefined) throw err;
    }
  }

  /**
   * Moves the chosen slots the core completed (the prefix below its committed index) into the
   * chosen history, then lets memory fold them. Learn, catch-up and every reader of the log read
   * the history; the core keeps only what is not yet a gapless prefix.
   */
  private keepChosenPrefix(): void {
    const history = this.storage.history;
    const committed = this.core.committedIndex;
    const end = history.endSlot;
    if (committed > end) {
      const records = this.core.chosenFrom(end, Number(committed - end));
      if (records.length !== Number(committed - end)) {
        throw new Error(`assertion: the core's committed index ${committed} is above chosen values it holds from ${end} (${records.length})`);
      }
      try {
        history.append(records);
      } catch (err) {
        this.failStorage(err);
        throw new GrpcError(GrpcStatus.INTERNAL, `storage failed: ${(err as Error).message}`);
      }
      this.chosenPrefixListener(records);
      for (const r of records) this.bytesSinceFold += slotValueBytes(r.value);
    }
    if (committed - this.foldedAt >= FOLD_EVERY_SLOTS || (committed > this.foldedAt && this.bytesSinceFold >= FOLD_EVERY_BYTES)) {
      this.foldedAt = committed;
      this.bytesSinceFold = 0;
      this.core.foldChosenBelow(committed);
    }
  }

  /**
   * A state snapshot at `slot`, above the committed index, is durable in the data dir (installed
   * from another node because no node still holds the slots in between): the chosen history
   * restarts at `slot` and the committed index moves there. Chosen values held above it follow.
   */
  restartHistoryAt(slot: bigint): void {
    this.assertVoting();
    if (slot <= this.core.committedIndex) throw new Error(`assertion: history restarted at slot ${slot}, not above the committed index ${this.core.committedIndex}`);
    try {
      this.storage.history.restartAt(slot);
    } catch (err) {
      this.failStorage(err);
      throw new GrpcError(GrpcStatus.INTERNAL, `storage failed: ${(err as Error).message}`);
    }
    this.core.learnChosenBelow(slot);
    this.foldedAt = slot;
    this.bytesSinceFold = 0;
    this.keepChosenPrefix();
  }

  /** Told of the records each time the chosen history grows (the state machine applies them). */
  onChosenPrefix(listener: (records: readonly ChosenRecord[]) => void): void {
    this.chosenPrefixListener = listener;
  }

  private assertVoting(): void {
    // A failure no request saw: the chosen history's write on its idle timer (a quiet node). The
    // node stops voting as for any other, not only once a commit finds the history failed.
    if (this.storageError === undefined && !this.storage.healthy) this.failStorage(new Error(this.storage.lastError ?? 'storage is unhealthy'));
    if (this.storageError !== undefined) {
      throw new GrpcError(GrpcStatus.INTERNAL, `storage failed (${this.storageError}); this node does not vote until its storage is healthy again`);
    }
  }

  /**
   * One request through the core, counted and checked; an invalid one throws INVALID_ARGUMENT.
   * Persisting is the caller's.
   */
  private step(request: AcceptorRequest): AcceptorStep {
    this.count(request);
    this.checkProposer(request);
    const step = this.core.handle(request);
    if (step.reply.type === 'invalid') {
      this.counters.invalidRequests += 1n;
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, step.reply.reason);
    }
    return step;
  }

  private checkProposer(request: AcceptorRequest): void {
    this.checkProposerBallot(request.ballot);
  }

  /** INVALID_ARGUMENT unless the ballot is one of a configured proposer. */
  checkProposerBallot(ballot: Ballot): void {
    if (!this.opts.proposerIds.has(ballot.proposerId)) {
      this.counters.invalidRequests += 1n;
      throw new GrpcError(
        GrpcStatus.INVALID_ARGUMENT,
        `ballot ${formatBallot(ballot)}: proposer id ${ballot.proposerId} is not one of the configured proposers (--proposer-ids)`,
      );
    }
  }

  /** Refusals by category (the metrics; Status keeps their total). */
  readonly refusalsByReason = { slotWindow: 0, valueCheck: 0, rejoining: 0 };

  private count(request: AcceptorRequest): void {
    if (request.type === 'prepare') this.counters.prepares += 1n;
    else if (request.type === 'accept') this.counters.accepts += 1n;
    else this.counters.commits += 1n;
  }

  private countReply(reply: AcceptorReply): void {
    if (reply.type === 'promise') this.counters.promises += 1n;
    else if (reply.type === 'accepted') this.counters.accepted += 1n;
    else if (reply.type === 'reject') this.counters.rejects += 1n;
    else if (reply.type === 'refused') {
      this.counters.refusals += 1n;
      if (reply.refusal === 'slot-window') this.refusalsByReason.slotWindow++;
      else if (reply.refusal === 'rejoining') this.refusalsByReason.rejoining++;
      else this.refusalsByReason.valueCheck++;
    }
  }

  /**
   * Stops voting. Resumes once storage has repaired itself and a checkpoint made everything the
   * core holds durable: a change whose write failed was never replied to, but the core kept it,
   * and a later request that changes nothing (a second Prepare at the promised ballot) is
   * answered from the core without a write of its own.
   */
  private failStorage(err: unknown): void {
    if (this.storageError !== undefined) return;
    this.storageError = err instanceof Error ? err.message : String(err);
    this.opts.logger.error({ err }, 'storage failed: this node stops voting');
    this.opts.onStorageFailure(this.storageError);
    if (this.stopped) return;
    let resyncing = false;
    let failedCheckpoints = 0;
    const recheck = (this.storageRecheck = setInterval(() => {
      if (resyncing || this.checkpointing || !this.storage.healthy) return;
      // The core may hold a change whose write failed (its request was answered INTERNAL, but a
      // later request that changes nothing would be answered from it): a checkpoint makes all it
      // holds durable before this node votes again.
      resyncing = true;
      this.checkpointing = true;
      const snapshot = this.core.snapshot();
      this.storage
        .checkpoint(snapshot)
        .then(
          () => {
            clearInterval(recheck);
            this.storageRecheck = undefined;
            if (this.stopped) return;
            this.recordsSinceCheckpoint = 0;
            // The failed append is behind the checkpoint: a reply that waits for earlier writes waits for nothing failed.
            this.lastAppend = Promise.resolve();
            this.storageError = undefined;
            this.opts.logger.warn({ committedIndex: snapshot.committedIndex.toString() }, 'storage is healthy again and holds all this node knows: it votes again');
            this.opts.onStorageRecovered();
          },
          (e: unknown) => {
            // The first failure and then one a minute: a disk that stays full is one line a minute, not one a recheck.
            if (failedCheckpoints++ % CHECKPOINT_FAILURES_LOGGED_EVERY === 0) {
              this.opts.logger.warn({ err: e, failedCheckpoints }, 'storage looks healthy but the checkpoint before voting again failed: trying again');
            }
          },
        )
        .finally(() => {
          resyncing = false;
          this.checkpointing = false;
        });
    }, STORAGE_RECHECK_MS));
    recheck.unref();
  }

  /** Folds the state into a snapshot every checkpointEveryRecords records (or CHECKPOINT_EVERY_BYTES bytes), so the log stays bounded. */
  private maybeCheckpoint(): void {
    const dueByBytes = (this.storage.liveLogBytes ?? 0) >= (this.opts.checkpointEveryBytes ?? CHECKPOINT_EVERY_BYTES);
    if (this.checkpointing || (this.recordsSinceCheckpoint < this.checkpointAfter && !dueByBytes)) return;
    this.checkpointing = true;
    this.checkpointAfter = jittered(this.opts.checkpointEveryRecords, this.random);
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

  /**
   * The node's process is gone (the end of a shutdown, or a crash in the node simulator, where the
   * next incarnation runs in the same process): none of its timers fires again.
   */
  stop(): void {
    this.stopped = true;
    if (this.storageRecheck !== undefined) clearInterval(this.storageRecheck);
    this.storageRecheck = undefined;
  }
}
