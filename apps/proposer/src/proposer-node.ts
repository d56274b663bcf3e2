import { status } from '@grpc/grpc-js';
import {
  type Ballot,
  type ChosenEntry,
  type Command,
  type ProposerCore,
  type ProposerEvent,
  type ProposerMessage,
  type ProposerOutput,
  type Quorum,
  ballotEquals,
  ballotGreater,
  formatBallot,
} from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import type { AcceptRequest, AcceptResponse, AcceptorVote, CommitBatch, PrepareResponse } from '@paxos/proto';
import { acceptedEntryFromWire, ballotFromWire, ballotToWire, slotValueFromWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import { Subject, Subscription } from 'rxjs';
import { AcceptorCatchUp } from './catch-up';
import { SparedValues } from './commit-batches';
import type { ChosenLog, ChosenResult } from './chosen-log';
import { CommitNotices } from './commit-notices';
import { type Answer, broadcast, QuorumDeniedError, QuorumUnreachableError, untilQuorum } from './fan-out';
import { LogReader } from './log-reader';
import { acceptVote, prepareVote } from './votes';

export interface ProposeOutcome extends ChosenResult {
  readonly duplicate: boolean;
  readonly votes: readonly AcceptorVote[];
}

/**
 * One slot's accept round at one ballot. The core may send its accept in several groups (a thrifty
 * start, one more acceptor per failure, the rest after a wait, retransmits); their answers meet
 * here and are counted toward one quorum.
 */
interface AcceptRound {
  readonly ballot: Ballot;
  readonly answers: Subject<Answer<AcceptResponse>>;
  /** The quorum count and every group's requests: unsubscribed when the round ends. */
  readonly subscriptions: Subscription;
  /** Client ids of the slot's commands: told UNAVAILABLE if the round cannot reach a quorum. */
  readonly clients: readonly string[];
  readonly sentAt: bigint;
}

interface Waiter {
  readonly resolve: (r: ProposeOutcome) => void;
  readonly reject: (e: unknown) => void;
}

export interface ProposerNodeOptions {
  readonly tickMs: number;
  /** Commit notices sent at once to bring one lagging acceptor up to the committed index. */
  readonly catchUpBatchSlots: number;
  /** Value bytes one catch-up pass sends to all lagging acceptors together. */
  readonly catchUpBytesPerPass: number;
  readonly catchUpIntervalMs: number;
  /** Slots in flight; an acceptor further behind than this gets values at once. */
  readonly windowSlots: number;
  readonly logger: Logger;
}

/** Idle ticks (nothing queued, nothing in flight) before the ticker sleeps until new work. */
const IDLE_TICKS_BEFORE_SLEEP = 100;
/** When nothing suggests a gap, Learn runs on one catch-up pass in this many. */
const QUIET_LEARN_EVERY_PASSES = 10;

/** Chosen entries asked for in one Learn call. */
const LEARN_BATCH_ENTRIES = 256;
/** Chosen entries read at once while a starting proposer learns the log. */
const LOG_READ_SLOTS = 1024;
const LEARN_DEADLINE_MS = 2000;
/** Deadline of the Status calls that confirm leadership for a linearizable read. */
const STATUS_DEADLINE_MS = 1000;
const WAIT_POLL_MS = 2;
/** Commands held while a starting proposer learns the log; past it clients hear UNAVAILABLE. */
const HELD_COMMANDS_MAX = 65_536;

/** Bound on rounds whose votes are kept for answers (one per slot in flight, plus slack). */
const ROUND_VOTES_MAX = 4096;
/** Open accept rounds beyond the window's slots (rounds end when their slot is chosen or its ballot is left). */
const ACCEPT_ROUNDS_SLACK = 64;

/**
 * Drives the core's proposer over real acceptor links. The core decides (phase 1, adoption,
 * phase 2, chosen, back-off); this node carries its messages out as RxJS fan-outs, feeds every
 * answer back, answers clients once their value is delivered, and tells them UNAVAILABLE as soon
 * as a round can no longer reach a quorum.
 */
export class ProposerNode {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Client ids the core still holds (queued or in a slot in flight). */
  private readonly inCore = new Set<string>();
  private readonly roundVotes = new Map<string, AcceptorVote[]>();
  private readonly acceptRounds = new Map<bigint, AcceptRound>();
  private prepareVotes: AcceptorVote[] = [];
  /** Commands received in this turn of the event loop, handed to the core together. */
  private arriving: Command[] = [];
  private learning = false;
  /** False until the chosen log is learned up to the acceptors' committed index (see learnLogBeforeServing). */
  private ready = false;
  /** Commands that arrived before then (at most HELD_COMMANDS_MAX). */
  private held: Command[] = [];
  private learnNext = 0;
  /** Starts so that the first pass learns: a restarted proposer catches up before its first answer. */
  private quietLearnPasses = -1;
  private idleTicks = 0;
  private stopped = false;
  private readonly commits: CommitNotices;
  private readonly spared: SparedValues;
  private readonly catchUp: AcceptorCatchUp;
  /** The chosen log from any slot: memory, else the acceptors' durable histories. */
  readonly reader: LogReader;
  private timer: NodeJS.Timeout | undefined;
  private catchUpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: ProposerCore,
    private readonly links: readonly AcceptorLink[],
    readonly quorum: Quorum,
    readonly chosen: ChosenLog,
    private readonly opts: ProposerNodeOptions,
  ) {
    if (links.length !== quorum.n) throw new Error(`assertion: ${links.length} links for a cluster of ${quorum.n}`);
    this.commits = new CommitNotices((to, slot, ballot) => this.sendCommit(to, slot, ballot));
    this.spared = new SparedValues((to, batch) => this.sendCommitBatch(to, batch));
    this.reader = new LogReader(links, chosen, (nodeId) => this.catchUp.committedOf(nodeId));
    this.catchUp = new AcceptorCatchUp(links, chosen, {
      batchSlots: opts.catchUpBatchSlots,
      windowSlots: opts.windowSlots,
      bytesPerPass: opts.catchUpBytesPerPass,
      // Any answer shows the acceptor is alive: the core stops asking it last.
      onCommitted: (from, committedIndex) => this.process(this.core.handle({ type: 'committed', from, committedIndex })),
      readHistory: (from, max) => this.reader.read(from, max),
    });
  }

  start(): void {
    void this.learnLogBeforeServing();
    this.ensureTicking();
    this.catchUpTimer = setInterval(() => {
      this.catchUp.pass();
      this.maybeLearn();
      this.ensureTicking();
    }, this.opts.catchUpIntervalMs);
  }

  /**
   * Time reaches the core as ticks only while it has work (commands queued, slots in flight, a
   * round to retry): an idle proposer does not wake a hundred times a second.
   */
  private ensureTicking(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      this.process(this.core.tick());
      if (this.core.pendingCommands === 0 && this.core.inFlightSlots === 0 && this.idleTicks++ > IDLE_TICKS_BEFORE_SLEEP) {
        clearInterval(this.timer);
        this.timer = undefined;
      } else if (this.core.pendingCommands > 0 || this.core.inFlightSlots > 0) this.idleTicks = 0;
    }, this.opts.tickMs);
  }

  /**
   * Learns every pass while someone watches the chosen log or an acceptor is ahead of us;
   * otherwise once in a while (another proposer may lead without our knowing: a deposed leader
   * learns of it only when it next sends).
   */
  private maybeLearn(): void {
    const ahead = this.catchUp.anyAhead();
    const watched = this.chosen.delivered$.observed;
    if (!ahead && !watched && ++this.quietLearnPasses % QUIET_LEARN_EVERY_PASSES !== 0) return;
    this.learnFromAcceptors();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    this.commits.stop();
    this.spared.stop();
    this.catchUp.stop();
    for (const slot of [...this.acceptRounds.keys()]) this.endRound(slot);
    for (const [id, ws] of this.waiters) for (const w of ws) w.reject(new GrpcError(status.UNAVAILABLE, `proposer shutting down before ${id} was chosen`));
    this.waiters.clear();
    for (const l of this.links) l.close();
  }

  get ballot(): Ballot {
    return this.core.ballot;
  }

  get isLeader(): boolean {
    return this.core.isLeader;
  }

  /** Acceptors whose channel is connected now. */
  reachable(): number {
    return this.links.filter((l) => l.up).length;
  }

  /**
   * A (re)started proposer first learns the chosen log up to the highest committed index a quorum
   * of acceptors reports, so that a retried id is answered with the slot it was first chosen in
   * instead of being chosen again. Client work waits (held, bounded) until then.
   */
  private async learnLogBeforeServing(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const answers = await Promise.allSettled(this.links.map((l) => l.learn(this.chosen.nextSlot, 1, LEARN_DEADLINE_MS)));
        const indexes = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value.committedIndex] : []));
        if (indexes.length >= this.quorum.q) {
          const target = indexes.reduce((m, x) => (x > m ? x : m), 0n);
          for (let guard = 0n; this.chosen.nextSlot < target && guard <= target; guard++) {
            this.learnCommitted(await this.reader.read(this.chosen.nextSlot, LOG_READ_SLOTS));
          }
          this.opts.logger.info({ learnedTo: this.chosen.nextSlot.toString() }, 'learned the chosen log: taking client work');
          this.becomeReady();
          return;
        }
        if (attempt % 10 === 0) this.opts.logger.warn({ answered: indexes.length, needed: this.quorum.q }, 'waiting for a quorum of acceptors to learn the chosen log from');
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'learning the chosen log failed; retrying');
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private becomeReady(): void {
    this.ready = true;
    const held = this.held;
    this.held = [];
    for (const c of held) this.arriving.push(c);
    if (held.length > 0) setImmediate(() => this.submitArrivals());
  }

  /**
   * The barrier of a linearizable read (raft's ReadIndex): once it resolves, the applied state
   * reflects every write acknowledged before the call, by any proposer. This proposer leads (it
   * runs phase 1 if it does not), confirms with a quorum of acceptors that none has promised a
   * higher ballot since, and waits until every slot it had opened (adopted values included) is
   * delivered. A write chosen under another ballot before that is in those slots (phase 1 adopted
   * it); one chosen after was not acknowledged before the read began.
   */
  async readBarrier(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    await this.waitFor(() => this.ready, until, 'the proposer is still learning the chosen log');
    if (!this.core.isLeader) {
      this.process(this.core.lead());
      this.ensureTicking();
      await this.waitFor(() => this.core.isLeader, until, 'this proposer could not become the leader (phase 1 did not reach a quorum)');
    }
    const ballot = this.core.ballot;
    const target = this.core.nextSlot;
    const answers = await Promise.allSettled(this.links.map((l) => l.status(Math.max(1, Math.min(STATUS_DEADLINE_MS, until - Date.now())))));
    let confirmed = 0;
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue;
      const promised = ballotFromWire(a.value.promised ?? { round: 0n, proposerId: 0 });
      if (ballotEquals(promised, ballot)) confirmed += 1;
      else if (ballotGreater(promised, ballot)) {
        throw new GrpcError(status.UNAVAILABLE, `another proposer leads now (an acceptor promised ballot ${formatBallot(promised)}, above ours ${formatBallot(ballot)}); retry the read`);
      }
    }
    if (confirmed < this.quorum.q) {
      throw new GrpcError(status.UNAVAILABLE, `could not confirm leadership with a quorum: ${confirmed} of ${this.quorum.n} acceptors hold our ballot, ${this.quorum.q} needed`);
    }
    await this.waitFor(() => this.chosen.nextSlot >= target, until, `slots below ${target} are not all chosen yet (delivered up to ${this.chosen.nextSlot})`);
  }

  /** Resolves once `done()` holds (checked every few ms), or rejects with DEADLINE_EXCEEDED at `until`. */
  private waitFor(done: () => boolean, until: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (done()) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() >= until || this.stopped) {
          clearInterval(timer);
          reject(new GrpcError(status.DEADLINE_EXCEEDED, `read not answered in time: ${what}`));
        }
      }, WAIT_POLL_MS);
    });
  }

  /** Chooses the command, exactly once per client request id. Resolves when its slot is delivered. */
  propose(command: Command): Promise<ProposeOutcome> {
    if (!this.ready && this.held.length >= HELD_COMMANDS_MAX && !this.inCore.has(command.clientRequestId)) {
      return Promise.reject(new GrpcError(status.UNAVAILABLE, `the proposer is still learning the chosen log (slot ${this.chosen.nextSlot}) and holds ${HELD_COMMANDS_MAX} commands already; retry with the same client_request_id`));
    }
    const known = this.chosen.result(command.clientRequestId);
    if (known) {
      const reused = this.reusedIdError(known, command);
      return reused ? Promise.reject(reused) : Promise.resolve({ ...known, duplicate: true, votes: [] });
    }
    const up = this.reachable();
    if (up < this.quorum.q && !this.inCore.has(command.clientRequestId)) {
      return Promise.reject(new QuorumUnreachableError(up, this.quorum.n, this.quorum.q));
    }
    return new Promise<ProposeOutcome>((resolve, reject) => {
      const list = this.waiters.get(command.clientRequestId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(command.clientRequestId, list);
      if (this.inCore.has(command.clientRequestId)) return; // a retry of a command still in flight
      this.inCore.add(command.clientRequestId);
      if (!this.ready) {
        this.held.push(command);
        return;
      }
      this.arriving.push(command);
      if (this.arriving.length === 1) setImmediate(() => this.submitArrivals());
    });
  }

  /**
   * Hands the core every command that arrived in this turn of the event loop at once, so a burst
   * (one read of a ProposeStream, many unary calls) shares a batch.
   */
  private submitArrivals(): void {
    const arrived = this.arriving;
    this.arriving = [];
    if (this.stopped || arrived.length === 0) return;
    // A command already in the log (chosen while it waited, or before a restart) is answered with its first slot.
    const commands: Command[] = [];
    for (const c of arrived) {
      const known = this.chosen.result(c.clientRequestId);
      if (known) this.answerKnown(known, c);
      else commands.push(c);
    }
    if (commands.length === 0) return;
    const { output, rejected } = this.core.submitAll(commands);
    for (const r of rejected) {
      this.inCore.delete(r.command.clientRequestId);
      this.rejectWaiters(r.command.clientRequestId, new GrpcError(status.RESOURCE_EXHAUSTED, r.reason));
    }
    this.idleTicks = 0;
    this.ensureTicking();
    this.process(output);
  }

  /** Stops waiting for a client (its deadline passed); the command stays in the core and may still be chosen. */
  abandon(clientRequestId: string, waiter: (r: ProposeOutcome) => void): void {
    const list = this.waiters.get(clientRequestId)?.filter((w) => w.resolve !== waiter);
    if (!list || list.length === 0) this.waiters.delete(clientRequestId);
    else this.waiters.set(clientRequestId, list);
  }

  private process(out: ProposerOutput): void {
    if ((out.messages.length || out.chosen.length || out.failed.length) && this.opts.logger.isLevelEnabled('debug')) {
      this.opts.logger.debug(
        {
          messages: out.messages.map((m) => `${m.type}->${m.to}@${formatBallot(m.ballot)}${m.type === 'prepare' ? ` from ${m.fromSlot}` : ` slot ${m.slot}`}`).join(' '),
          chosen: out.chosen.map((c) => c.slot.toString()),
          failed: out.failed.length,
        },
        'core output',
      );
    }
    const rounds = new Map<string, ProposerMessage[]>();
    for (const m of out.messages) {
      if (m.type === 'commit') {
        // An acceptor the thrifty round never asked lacks the value: it comes in a batch.
        if (m.asked === false && m.value) this.spared.queue(m.to, { slot: m.slot, ballot: m.ballot, value: m.value });
        else this.commits.queue(m.to, m.slot, m.ballot);
        continue;
      }
      const key = m.type === 'prepare' ? `p:${formatBallot(m.ballot)}` : `a:${formatBallot(m.ballot)}:${m.slot}`;
      const group = rounds.get(key) ?? [];
      group.push(m);
      rounds.set(key, group);
    }
    for (const [key, group] of rounds) this.sendRound(key, group);
    if (out.chosen.length > 0) {
      for (const e of out.chosen) {
        const round = this.acceptRounds.get(e.slot);
        if (round && this.opts.logger.isLevelEnabled('debug')) {
          this.opts.logger.debug({ slot: e.slot.toString(), commands: round.clients.length, ms: Number(process.hrtime.bigint() - round.sentAt) / 1e6 }, 'accept round reached a quorum');
        }
        this.endRound(e.slot);
      }
      this.deliver(this.chosen.learn(out.chosen));
    }
    for (const f of out.failed) {
      this.inCore.delete(f.clientRequestId);
      this.rejectWaiters(f.clientRequestId, new GrpcError(status.FAILED_PRECONDITION, f.reason));
    }
  }

  /** Values known chosen from elsewhere (an acceptor's committed prefix): to the learner and the core. */
  private learnCommitted(entries: readonly ChosenEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) {
      this.core.learnChosen(e);
      this.endRound(e.slot);
    }
    this.deliver(this.chosen.learn(entries));
  }

  /**
   * Fills a gap in the chosen log (slots another proposer chose) from the acceptors' committed
   * prefixes, one acceptor per call, round robin: read-only, no round, no duel.
   */
  private learnFromAcceptors(): void {
    if (this.learning) return;
    const link = this.links[this.learnNext % this.links.length] as AcceptorLink;
    this.learnNext += 1;
    if (!link.up) return;
    this.learning = true;
    link.learn(this.chosen.nextSlot, LEARN_BATCH_ENTRIES, 1000).then(
      (r) => {
        this.learning = false;
        this.catchUp.note(link.nodeId, r.committedIndex);
        if (r.chosen.length === 0 && r.oldestKeptSlot > this.chosen.nextSlot) {
          // This acceptor's history starts above what we need (a data dir that predates the
          // durable history): the next pass asks the next acceptor. Nothing is ever skipped.
          this.opts.logger.warn(
            { from: this.chosen.nextSlot.toString(), oldestKeptSlot: r.oldestKeptSlot.toString(), acceptor: link.nodeId },
            'an acceptor does not hold the chosen values we need next: asking another',
          );
          return;
        }
        this.learnCommitted(r.chosen.map((c) => ({ slot: c.slot, ballot: ballotFromWire(c.ballot), value: slotValueFromWire(c.value) })));
        if (r.chosen.length > 0 && r.committedIndex > this.chosen.nextSlot) this.learnFromAcceptors();
      },
      (err: unknown) => {
        this.learning = false;
        this.opts.logger.debug({ acceptor: link.nodeId, err }, 'learn failed');
      },
    );
  }

  private deliver(results: readonly ChosenResult[]): void {
    for (const r of results) {
      this.inCore.delete(r.clientRequestId);
      const list = this.waiters.get(r.clientRequestId);
      if (!list) continue;
      this.waiters.delete(r.clientRequestId);
      const votes = [...this.prepareVotes, ...(this.roundVotes.get(`a:${formatBallot(r.ballot)}:${r.slot}`) ?? [])];
      list.forEach((w, i) => w.resolve({ ...r, duplicate: i > 0, votes }));
    }
    for (const r of results) this.roundVotes.delete(`a:${formatBallot(r.ballot)}:${r.slot}`);
  }

  /** Answers the waiters of an id found already chosen: with its first slot, as a duplicate (or ALREADY_EXISTS for other bytes). */
  private answerKnown(known: ChosenResult, command: Command): void {
    this.inCore.delete(known.clientRequestId);
    const reused = this.reusedIdError(known, command);
    if (reused) {
      this.rejectWaiters(known.clientRequestId, reused);
      return;
    }
    const list = this.waiters.get(known.clientRequestId);
    if (!list) return;
    this.waiters.delete(known.clientRequestId);
    for (const w of list) w.resolve({ ...known, duplicate: true, votes: [] });
  }

  /** A client_request_id that took effect with other bytes cannot name this command too. */
  private reusedIdError(known: ChosenResult, command: Command): GrpcError | undefined {
    if (this.chosen.state.digest(command.data) === known.valueDigest) return undefined;
    return new GrpcError(
      status.ALREADY_EXISTS,
      `client_request_id ${JSON.stringify(command.clientRequestId)} already took effect in slot ${known.slot} with another value (sha256 ${known.valueDigest}); use a new id for a new value`,
    );
  }

  private rejectWaiters(clientRequestId: string, err: unknown): void {
    const list = this.waiters.get(clientRequestId);
    if (!list) return;
    this.waiters.delete(clientRequestId);
    for (const w of list) w.reject(err);
  }

  private sendRound(key: string, group: readonly ProposerMessage[]): void {
    const targets = group.map((m) => ({ nodeId: m.to, message: m }));
    const first = group[0] as ProposerMessage;
    if (first.type === 'prepare') {
      const full = targets.length === this.quorum.n;
      const votes: AcceptorVote[] = [];
      if (full) this.prepareVotes = votes;
      // A new ballot: rounds of an older one cannot complete any more.
      for (const [slot, round] of this.acceptRounds) if (!ballotEquals(round.ballot, first.ballot)) this.endRound(slot);
      const answers = broadcast(targets, (t) => this.link(t.nodeId).prepare({ ballot: ballotToWire(first.ballot), fromSlot: first.fromSlot }));
      const decided = full ? answers.pipe(untilQuorum(this.quorum, (r: PrepareResponse) => r.outcome?.$case === 'promised')) : answers;
      decided.subscribe({
        next: (a) => {
          votes.push(prepareVote(a, first.ballot, this.link(a.from).address));
          this.feedPrepare(a, first.ballot);
        },
        error: (err: unknown) => this.roundFailed(err, undefined, [...this.waiters.keys()]),
      });
      return;
    }
    if (first.type !== 'accept') return;
    const round = this.acceptRound(key, first);
    const wireValue = slotValueToWire(first.value);
    const wireBallot = ballotToWire(first.ballot);
    round.subscriptions.add(
      broadcast(targets, (t) => {
        const commit = this.commits.takeRange(t.nodeId, first.ballot);
        return this.link(t.nodeId).accept({ $case: 'accept', value: { ballot: wireBallot, slot: first.slot, value: wireValue, ...(commit ? { commit } : {}) } });
      }).subscribe((a) => round.answers.next(a)),
    );
  }

  /**
   * The round of this slot at this ballot, opened on its first group of accepts: its answers
   * complete it on a quorum of accepted (the stragglers' requests are dropped) and fail it as soon
   * as too few acceptors can still answer.
   */
  private acceptRound(key: string, first: Extract<ProposerMessage, { type: 'accept' }>): AcceptRound {
    const existing = this.acceptRounds.get(first.slot);
    if (existing && ballotEquals(existing.ballot, first.ballot)) return existing;
    this.endRound(first.slot);
    const votes: AcceptorVote[] = [];
    this.remember(key, votes);
    // The closures below keep the slot and ballot, not the value.
    const { slot, ballot } = first;
    const round: AcceptRound = {
      ballot,
      answers: new Subject(),
      subscriptions: new Subscription(),
      clients: first.value.kind === 'batch' ? first.value.commands.map((c) => c.clientRequestId) : [],
      sentAt: process.hrtime.bigint(),
    };
    this.acceptRounds.set(slot, round);
    if (this.acceptRounds.size > this.opts.windowSlots + ACCEPT_ROUNDS_SLACK) this.endRound(this.acceptRounds.keys().next().value as bigint);
    round.subscriptions.add(
      round.answers.pipe(untilQuorum(this.quorum, (r: AcceptResponse) => r.outcome?.$case === 'accepted')).subscribe({
        next: (a) => {
          votes.push(acceptVote(a, ballot, this.link(a.from).address));
          this.feedAccept(a, ballot, slot);
        },
        error: (err: unknown) => {
          this.endRound(slot, round);
          this.roundFailed(err, slot, round.clients);
        },
        complete: () => this.endRound(slot, round),
      }),
    );
    return round;
  }

  /** Ends the slot's round (only `round`, when given): its outstanding requests are dropped. */
  private endRound(slot: bigint, round?: AcceptRound): void {
    const current = this.acceptRounds.get(slot);
    if (!current || (round && current !== round)) return;
    this.acceptRounds.delete(slot);
    current.subscriptions.unsubscribe();
  }

  private remember(key: string, votes: AcceptorVote[]): void {
    this.roundVotes.set(key, votes);
    if (this.roundVotes.size > ROUND_VOTES_MAX) this.roundVotes.delete(this.roundVotes.keys().next().value as string);
  }

  /** A round that cannot complete: its clients (`clients`) hear UNAVAILABLE; a denied round is the core's to retry. */
  private roundFailed(err: unknown, slot: bigint | undefined, clients: readonly string[]): void {
    if (err instanceof QuorumDeniedError) return; // the core moves to a higher ballot and retries
    if (!(err instanceof QuorumUnreachableError)) {
      this.opts.logger.error({ err }, 'fan-out failed');
      return;
    }
    this.opts.logger.warn(
      { slot: slot?.toString(), reason: err.message, failures: err.failureSummary() },
      slot === undefined ? 'prepare cannot reach a quorum' : 'accept cannot reach a quorum',
    );
    // The commands stay in the core, which keeps retrying: a client may retry with the same id.
    for (const id of clients) this.rejectWaiters(id, new GrpcError(status.UNAVAILABLE, `${err.message}; not chosen yet: retry with the same client_request_id`));
  }

  private feedPrepare(a: Answer<PrepareResponse>, ballot: Ballot): void {
    const o = a.reply?.outcome;
    let event: ProposerEvent;
    if (a.error !== undefined || !o) event = { type: 'unreachable', from: a.from, ballot };
    else if (o.$case === 'promised') {
      event = {
        type: 'promise',
        from: a.from,
        ballot: ballotFromWire(o.value.ballot),
        accepted: o.value.accepted.map(acceptedEntryFromWire),
        truncated: o.value.truncated,
        committedIndex: o.value.committedIndex,
      };
    } else event = { type: 'reject', from: a.from, promised: ballotFromWire(o.value.promised), ballot };
    this.process(this.core.handle(event));
  }

  private feedAccept(a: Answer<AcceptResponse>, ballot: Ballot, slot: bigint): void {
    const o = a.reply?.outcome;
    let event: ProposerEvent;
    if (a.error !== undefined || !o) event = { type: 'unreachable', from: a.from, ballot, slot };
    else if (o.$case === 'accepted') {
      this.catchUp.note(a.from, o.value.committedIndex);
      event = { type: 'accepted', from: a.from, ballot: ballotFromWire(o.value.ballot), slot: o.value.slot };
    }
    else if (o.$case === 'rejected') event = { type: 'reject', from: a.from, promised: ballotFromWire(o.value.promised), ballot, slot };
    else if (o.$case === 'refused') event = { type: 'refused', from: a.from, ballot, slot, reason: o.value.reason };
    else return;
    this.process(this.core.handle(event));
  }

  /**
   * A commit notice without the value: on the Accept stream it follows this acceptor's own accept
   * of the slot, if one was sent. An acceptor that lacks the value keeps its committed index and
   * gets the value from catch-up, so a batch is not sent a second time to every straggler.
   */
  private sendCommit(to: number, slot: bigint, ballot: Ballot): void {
    this.notify(to, { $case: 'commit', value: { slot, ballot: ballotToWire(ballot) } });
  }

  /** Chosen values for an acceptor that was not asked to accept them, in one message. */
  private sendCommitBatch(to: number, batch: CommitBatch): void {
    this.notify(to, { $case: 'commits', value: batch });
  }

  /**
   * Sends commit notices; the answer goes to catch-up's bookkeeping. A lost one costs nothing:
   * the next notice, or catch-up, brings the acceptor up.
   */
  private notify(to: number, request: NonNullable<AcceptRequest['kind']>): void {
    this.link(to)
      .accept(request)
      .subscribe({ next: (r) => this.catchUp.noteReply(to, r), error: () => undefined });
  }

  private link(nodeId: number): AcceptorLink {
    const l = this.links[nodeId];
    if (!l) throw new Error(`assertion: no link to acceptor ${nodeId}`);
    return l;
  }
}
