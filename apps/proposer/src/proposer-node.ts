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
  type RoundEnd,
  ballotEquals,
  formatBallot,
} from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import { type AcceptResponse, type AcceptorVote, type Commit, type PrepareResponse, VoteOutcome } from '@paxos/proto';
import { WireError, ballotToWire, slotValueToWire } from '@paxos/wire';
import { acceptEvent, prepareEvent } from './acceptor-answers';
import type { AcceptorLink } from './acceptor-link';
import { Subscription } from 'rxjs';
import { AcceptorCatchUp } from './catch-up';
import type { ChosenLog, LearnedResult } from './chosen-log';
import { type Certifier, ClientGateway, type ProposeOutcome } from './client-gateway';
import { CommitNotices } from './commit-notices';
import { type Answer, broadcast, failureReason, QuorumUnreachableError } from './fan-out';
import { LogLearner } from './log-learner';
import { LogReader } from './log-reader';
import { ReadBarrier } from './read-barrier';
import { StateTransfer } from './state-transfer';
import type { AgreedState, AgreedStateSnapshot } from '@paxos/state-machine';
import { acceptVote, prepareVote } from './votes';
import { ballotCeilingError } from './ballot-ceiling';

export type { ProposeOutcome } from './client-gateway';

/**
 * One round at one ballot: a slot's accept round, or phase 1. The core may send a round in several
 * groups (a thrifty start, one more acceptor per failure, the rest after a wait, retransmits);
 * every answer goes to the core, which alone counts them toward a quorum and says when the round
 * ended (RoundEnd). Here are only the requests, the votes for the clients' answers and the
 * failures for the log.
 */
interface Round {
  readonly ballot: Ballot;
  /** Every group's requests: unsubscribed when the round ends. */
  readonly subscriptions: Subscription;
  /** Each acceptor's latest answer (a yes is kept over a later failure): at most n, however often the round is retransmitted. */
  readonly votes: Map<number, AcceptorVote>;
  /** Why acceptors failed (node id to reason), for the log when the round cannot reach a quorum. */
  readonly failures: Map<number, string>;
}

interface AcceptRound extends Round {
  /** Client ids of the slot's commands: told UNAVAILABLE if the round cannot reach a quorum. */
  readonly clients: readonly string[];
  readonly sentAt: bigint;
}

/** Keeps an acceptor's latest answer in the round, but never lets a failure replace its yes. */
function noteVote(round: Round, vote: AcceptorVote, yes: VoteOutcome): void {
  if (round.votes.get(vote.nodeId)?.outcome === yes && vote.outcome !== yes) return;
  round.votes.set(vote.nodeId, vote);
}

/** What the node tells of its rounds (the metrics). */
export interface RoundObserver {
  readonly ended: (phase: RoundEnd['phase'], outcome: RoundEnd['outcome']) => void;
  /** An accept round opened for a slot of this many client commands (0: a no-op). */
  readonly opened: (commands: number) => void;
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
  /** The proposer's state machine continued from a state snapshot (see state-transfer.ts). */
  readonly restoreState: (snapshot: AgreedStateSnapshot) => AgreedState;
  readonly rounds?: RoundObserver;
  /** Certifies a command's LMFDB claims before it is proposed (claim-certifier.ts). */
  readonly certifier?: Certifier;
  /** Called once, when the proposer finds it can choose nothing more (the ballot ceiling): main.ts turns its health NOT_SERVING. */
  readonly onCannotChoose?: (reason: string) => void;
  /** Called once, when the proposer has learned the chosen log and takes client work: main.ts turns ProposerService's health SERVING. */
  readonly onReady?: () => void;
  readonly logger: Logger;
}

/** How long a proposer tries to learn the log before it refuses a command's claims for good. */
const LEARN_BEFORE_REFUSAL_MS = 2000;
/** Idle ticks (nothing queued, nothing in flight) before the ticker sleeps until new work. */
const IDLE_TICKS_BEFORE_SLEEP = 100;
/** How long a starting proposer waits for its first phase 1 to settle the open slots. */
const SETTLE_OPEN_SLOTS_MS = 5000;
/** Bound on rounds whose votes are kept for answers (one per slot in flight, plus slack). */
const ROUND_VOTES_MAX = 4096;
/** Open accept rounds beyond the window's slots (rounds end when their slot is chosen or its ballot is left). */
const ACCEPT_ROUNDS_SLACK = 64;

/**
 * The round driver: drives the core's proposer over real acceptor links. The core decides (phase
 * 1, adoption, phase 2, chosen, back-off); this node carries its messages out as RxJS fan-outs and
 * feeds every answer back. Clients are the gateway's (client-gateway.ts), slots chosen elsewhere
 * the learner's (log-learner.ts), linearizable reads the read barrier's (read-barrier.ts).
 */
export class ProposerNode {
  private readonly roundVotes = new Map<string, ReadonlyMap<number, AcceptorVote>>();
  /**
   * Chosen slots whose value this proposer built from its own queue, until they are delivered: a
   * waiter whose id took effect in another slot (a copy sent through another proposer) hears a
   * duplicate, as that proposer's retry would.
   */
  private readonly ownSlots = new Set<bigint>();
  private readonly acceptRounds = new Map<bigint, AcceptRound>();
  /** The current phase 1 (its votes stay for the clients' answers after it ended). */
  private prepareRound: Round | undefined;
  private idleTicks = 0;
  private stopped = false;
  /** Phase 1 rounds that could not reach a quorum, and why the last did not (a linearizable read fails on one). */
  private phase1Failed = { count: 0, reason: '' };
  /** Set once the core can choose nothing more (the ballot ceiling): every proposal and linearizable read is answered with it. */
  private ceilingError: GrpcError | undefined;
  private readonly commits: CommitNotices;
  private readonly catchUp: AcceptorCatchUp;
  private readonly gateway: ClientGateway;
  private readonly learner: LogLearner;
  private readonly barrier: ReadBarrier;
  private readonly transfer: StateTransfer;
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
    this.commits = new CommitNotices((to, commits) => this.notify(to, commits));
    this.reader = new LogReader(links, chosen, (nodeId) => this.catchUp.committedOf(nodeId));
    this.transfer = new StateTransfer({
      links,
      quorum,
      chosen,
      restore: opts.restoreState,
      installed: (slot) => {
        this.core.learnDecidedBelow(slot);
        for (const s of [...this.acceptRounds.keys()]) if (s < slot) this.endRound(s);
        this.gateway.answerSettled();
        this.barrier.progress();
      },
      ballot: () => this.core.ballot,
      logger: opts.logger,
    });
    this.catchUp = new AcceptorCatchUp(links, chosen, {
      batchSlots: opts.catchUpBatchSlots,
      windowSlots: opts.windowSlots,
      bytesPerPass: opts.catchUpBytesPerPass,
      quorum,
      // Any answer shows the acceptor is alive: the core stops asking it last.
      onCommitted: (from, committedIndex) => this.process(this.core.handle({ type: 'committed', from, committedIndex })),
      readHistory: (from, max) => this.reader.read(from, max),
      installSnapshot: (link, committedIndex) => this.transfer.installOn(link, committedIndex),
    });
    this.gateway = new ClientGateway({
      chosen,
      quorum,
      ...(opts.certifier ? { certifier: opts.certifier } : {}),
      learnChosen: () => this.readBarrier(LEARN_BEFORE_REFUSAL_MS),
      reachable: () => this.reachable(),
      cannotChoose: () => this.ceilingError,
      submit: (commands) => {
        const { output, rejected } = this.core.submitAll(commands);
        this.idleTicks = 0;
        this.ensureTicking();
        this.process(output);
        return rejected;
      },
    });
    this.barrier = new ReadBarrier({
      links,
      quorum,
      ready: () => this.gateway.ready,
      leadsCompletely: () => this.core.leadsCompletely,
      lead: () => {
        this.process(this.core.lead());
        this.ensureTicking();
      },
      outbid: (from, promised, ballot) => this.process(this.core.handle({ type: 'reject', from, promised, ballot })),
      stepDown: () => this.process(this.core.stepDown()),
      ballot: () => this.core.ballot,
      openedSlots: () => this.core.nextSlot,
      deliveredSlots: () => this.chosen.nextSlot,
      stopped: () => this.stopped,
      reachable: () => this.reachable(),
      phase1Failures: () => this.phase1Failed,
      cannotChoose: () => this.ceilingError,
      noteCommitted: (nodeId, index) => this.catchUp.note(nodeId, index),
      learnNow: () => this.learner.learnNow(),
    });
    this.learner = new LogLearner({
      links,
      quorum,
      chosen,
      reader: this.reader,
      learned: (entries) => this.learnCommitted(entries),
      noteCommitted: (nodeId, index) => this.catchUp.note(nodeId, index),
      committedOf: (nodeId) => this.catchUp.committedOf(nodeId),
      anyAhead: () => this.catchUp.anyAhead(),
      installSnapshot: () => this.transfer.installHere(),
      logger: opts.logger,
    });
  }

  start(): void {
    void this.learner
      .learnBeforeServing()
      .then(() => this.settleOpenSlots())
      .then(() => {
        this.chosen.startService();
        this.gateway.becomeReady();
        this.barrier.progress();
        if (!this.stopped) this.opts.onReady?.();
      });
    this.ensureTicking();
    this.catchUpTimer = setInterval(() => {
      this.catchUp.pass();
      this.learner.pass();
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
      // A phase 1 or back-off without commands (a read's, or one a rival's promise ended) still
      // needs ticks: asleep in back-off, the core would never become idle and lead again.
      // A blocked core (the ballot ceiling) has nothing to do with time: the ticker sleeps at once.
      const idle = (this.core.pendingCommands === 0 && this.core.inFlightSlots === 0 && this.core.quiescent && this.idleTicks++ > IDLE_TICKS_BEFORE_SLEEP) || this.ceilingError !== undefined;
      if (idle) {
        clearInterval(this.timer);
        this.timer = undefined;
      } else if (this.core.pendingCommands > 0 || this.core.inFlightSlots > 0) this.idleTicks = 0;
    }, this.opts.tickMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    this.commits.stop();
    this.catchUp.stop();
    this.learner.stop();
    for (const slot of [...this.acceptRounds.keys()]) this.endRound(slot);
    this.prepareRound?.subscriptions.unsubscribe();
    this.gateway.stop();
    this.barrier.progress();
    for (const l of this.links) l.close();
  }

  get ballot(): Ballot {
    return this.core.ballot;
  }

  get isLeader(): boolean {
    return this.core.isLeader;
  }

  /** Slots in flight and commands queued (metrics). */
  get load(): { readonly inFlightSlots: number; readonly pendingCommands: number } {
    return { inFlightSlots: this.core.inFlightSlots, pendingCommands: this.core.pendingCommands };
  }

  /** The committed index an acceptor last reported (metrics: catch-up lag). */
  acceptorCommitted(nodeId: number): bigint | undefined {
    return this.catchUp.committedOf(nodeId);
  }

  /**
   * Why this proposer can choose nothing more (acceptors beyond n - q hold promises at the ballot
   * round ceiling that no ballot of its own passes), undefined while it can. Permanent for this
   * process: promises never go down; a restart runs one phase 1 and finds it again.
   */
  get cannotChoose(): string | undefined {
    return this.ceilingError?.message;
  }

  /** Acceptors whose channel is connected now. */
  reachable(): number {
    return this.links.filter((l) => l.up).length;
  }

  /**
   * After learning the committed log, a starting proposer runs phase 1 once: a value a crashed
   * proposer got chosen (and maybe acknowledged) before any acceptor heard it was committed is
   * adopted and delivered here before client work is taken, so a retry of it is answered with
   * its slot. Bounded: after SETTLE_OPEN_SLOTS_MS the proposer serves anyway (without a quorum it
   * could not choose anything, and the core keeps trying).
   */
  private async settleOpenSlots(): Promise<void> {
    this.process(this.core.lead());
    this.ensureTicking();
    const until = performance.now() + SETTLE_OPEN_SLOTS_MS;
    while (!this.stopped && performance.now() < until) {
      if (this.core.leadsCompletely && this.chosen.nextSlot >= this.core.nextSlot) return;
      // Blocked at the ballot ceiling: no phase 1 will settle anything; serve (and say why) at once.
      if (this.ceilingError !== undefined) return;
      // A phase 1 cut off by a truncated promise goes on from where it stopped (and one that ended
      // in a back-off starts again): only a complete one has adopted every open slot.
      this.process(this.core.lead());
      await new Promise((r) => setTimeout(r, 5));
    }
    if (!this.stopped) this.opts.logger.warn({ deliveredTo: this.chosen.nextSlot.toString() }, 'phase 1 at start did not settle every open slot in time: taking client work anyway');
  }

  /** The slot a starting proposer has learned the chosen log to, while it holds client work until it is done (undefined once ready). */
  get learningAt(): bigint | undefined {
    return this.gateway.ready ? undefined : this.chosen.nextSlot;
  }

  /** Why client work waits, while the proposer is still learning the chosen log (undefined once ready): ClusterStatus.learning, a Propose's deadline. */
  get learning(): string | undefined {
    const at = this.learningAt;
    return at === undefined ? undefined : `the proposer is still learning the chosen log (at slot ${at}) and takes client work once it has`;
  }

  /** Chooses the command, exactly once per client request id (see ClientGateway). */
  propose(command: Command, token?: object): Promise<ProposeOutcome> {
    return this.gateway.propose(command, token);
  }

  /** Stops waiting for a client (its deadline passed); the command stays in the core and may still be chosen. */
  abandon(clientRequestId: string, token: object): void {
    this.gateway.abandon(clientRequestId, token);
  }

  /** Resolves once the applied state reflects every write acknowledged before the call (see read-barrier.ts). */
  readBarrier(deadlineMs: number, gone?: () => boolean): Promise<void> {
    return this.barrier.wait(deadlineMs, gone);
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
    // Rounds end first: a round the core gave up must not take the next group of messages.
    for (const e of out.ended) this.roundEnded(e);
    const rounds = new Map<string, ProposerMessage[]>();
    for (const m of out.messages) {
      if (m.type === 'commit') {
        // An acceptor the thrifty round never asked lacks the value: its notice carries it. One
        // that was asked gets the notice without it: on the Accept stream it follows this
        // acceptor's own accept of the slot; if that accept was lost, the acceptor keeps its
        // committed index and gets the value from catch-up.
        this.commits.queue(m.to, { slot: m.slot, ballot: m.ballot, ...(m.asked === false && m.value ? { value: m.value } : {}) });
        continue;
      }
      const key = m.type === 'prepare' ? `p:${formatBallot(m.ballot)}` : `a:${formatBallot(m.ballot)}:${m.slot}`;
      const group = rounds.get(key) ?? [];
      group.push(m);
      rounds.set(key, group);
    }
    for (const [key, group] of rounds) this.sendRound(key, group);
    for (const slot of out.ownChosen) this.ownSlots.add(slot);
    if (out.chosen.length > 0) this.deliver(this.chosen.learn(out.chosen));
    for (const f of out.failed) this.gateway.fail(f.clientRequestId, new GrpcError(status.FAILED_PRECONDITION, f.reason));
    if (this.ceilingError === undefined && this.core.ceiling !== undefined) this.cannotChooseAnyMore();
    // Leadership, opened and chosen slots may have moved: reads waiting at the barrier look again.
    this.barrier.progress();
  }

  /**
   * The core stopped for good (the ballot ceiling): said once in the log, to every client waiting
   * (their commands stay in the core, unchosen), to every later proposal and read, and to
   * main.ts, which turns the health NOT_SERVING. No prepare or accept is sent again.
   */
  private cannotChooseAnyMore(): void {
    const ceiling = this.core.ceiling;
    if (ceiling === undefined) return;
    const err = ballotCeilingError(ceiling, this.quorum, (id) => this.links[id]?.address);
    this.ceilingError = err;
    this.opts.logger.error(
      { promises: ceiling.promises.map((p) => `acceptor ${p.acceptor}: ${formatBallot(p.promised)}`), ...(ceiling.exhausted ? { exhausted: formatBallot(ceiling.exhausted) } : {}) },
      `the proposer can choose nothing more: ${err.message}`,
    );
    for (const id of this.gateway.waitingIds()) this.gateway.tell(id, err);
    this.opts.onCannotChoose?.(err.message);
  }

  /** Values known chosen from elsewhere (an acceptor's committed prefix): to the learner and the core. */
  private learnCommitted(learned: readonly ChosenEntry[]): void {
    // What an acceptor says was chosen is network input: a value that contradicts one known here
    // (a damaged or lying acceptor) is logged and dropped, never asserted on.
    const entries = learned.filter((e) => {
      const why = this.chosen.contradiction(e);
      if (why !== undefined) this.opts.logger.error({ slot: e.slot.toString(), reason: why }, 'an acceptor taught a chosen value that contradicts the log: dropped');
      return why === undefined;
    });
    if (entries.length === 0) return;
    for (const e of entries) {
      if (this.core.learnChosen(e)) this.ownSlots.add(e.slot);
      this.endRound(e.slot);
    }
    this.deliver(this.chosen.learn(entries));
  }

  /** Ids that took effect for the first time: their clients are answered with the votes of the rounds that chose them. */
  private deliver(results: readonly LearnedResult[]): void {
    this.gateway.delivered(
      results,
      (r) => [...(this.prepareRound?.votes.values() ?? []), ...(this.roundVotes.get(`a:${formatBallot(r.ballot)}:${r.slot}`)?.values() ?? [])],
      (slot) => this.ownSlots.has(slot),
    );
    for (const r of results) this.roundVotes.delete(`a:${formatBallot(r.ballot)}:${r.slot}`);
    // Bounded: slots below the delivered prefix are answered.
    const next = this.chosen.nextSlot;
    for (const slot of this.ownSlots) if (slot < next) this.ownSlots.delete(slot);
    this.barrier.progress();
  }

  private sendRound(key: string, group: readonly ProposerMessage[]): void {
    const targets = group.map((m) => ({ nodeId: m.to, message: m }));
    const first = group[0] as ProposerMessage;
    if (first.type === 'prepare') {
      const ballot = first.ballot;
      if (!this.prepareRound || !ballotEquals(this.prepareRound.ballot, ballot)) {
        // A new ballot: rounds of an older one cannot complete any more.
        this.prepareRound?.subscriptions.unsubscribe();
        for (const [slot, round] of this.acceptRounds) if (!ballotEquals(round.ballot, ballot)) this.endRound(slot);
        this.prepareRound = { ballot, subscriptions: new Subscription(), votes: new Map(), failures: new Map() };
      }
      const round = this.prepareRound;
      round.subscriptions.add(
        broadcast(targets, (t) => this.link(t.nodeId).prepare({ ballot: ballotToWire(ballot), fromSlot: first.fromSlot })).subscribe((a) => {
          noteVote(round, prepareVote(a, ballot, this.link(a.from).address), VoteOutcome.VOTE_OUTCOME_PROMISED);
          this.noteFailure(round, a);
          this.feedPrepare(a, ballot);
        }),
      );
      return;
    }
    if (first.type !== 'accept') return;
    const round = this.acceptRound(key, first);
    const wireValue = slotValueToWire(first.value);
    const wireBallot = ballotToWire(first.ballot);
    const { slot, ballot } = first;
    round.subscriptions.add(
      broadcast(targets, (t) => this.link(t.nodeId).accept({ accept: { ballot: wireBallot, slot, value: wireValue }, commits: this.commits.take(t.nodeId), quorumCommittedIndex: this.catchUp.quorumCommittedIndex })).subscribe((a) => {
        noteVote(round, acceptVote(a, ballot, this.link(a.from).address), VoteOutcome.VOTE_OUTCOME_ACCEPTED);
        this.noteFailure(round, a);
        this.feedAccept(a, ballot, slot);
      }),
    );
  }

  /** The slot's round at this ballot, opened on its first group of accepts (a round of an older ballot ends). */
  private acceptRound(key: string, first: Extract<ProposerMessage, { type: 'accept' }>): AcceptRound {
    const existing = this.acceptRounds.get(first.slot);
    if (existing && ballotEquals(existing.ballot, first.ballot)) return existing;
    this.endRound(first.slot);
    const round: AcceptRound = {
      ballot: first.ballot,
      subscriptions: new Subscription(),
      votes: new Map(),
      failures: new Map(),
      clients: first.value.kind === 'batch' ? first.value.commands.map((c) => c.clientRequestId) : [],
      sentAt: process.hrtime.bigint(),
    };
    this.remember(key, round.votes);
    this.acceptRounds.set(first.slot, round);
    this.opts.rounds?.opened(round.clients.length);
    if (this.acceptRounds.size > this.opts.windowSlots + ACCEPT_ROUNDS_SLACK) this.endRound(this.acceptRounds.keys().next().value as bigint);
    return round;
  }

  /** A failed request's reason is kept for the log; an answer from that acceptor clears it. */
  private noteFailure(round: Round, a: Answer<unknown>): void {
    if (a.error !== undefined) round.failures.set(a.from, failureReason(a.error));
    else round.failures.delete(a.from);
  }

  /**
   * The core says a round ended: its requests are dropped (the stragglers' answers are not needed)
   * unless it is only unreachable for now, whose clients hear UNAVAILABLE while the core keeps
   * asking; counted once for the metrics.
   */
  private roundEnded(e: RoundEnd): void {
    this.opts.rounds?.ended(e.phase, e.outcome);
    if (e.phase === 'prepare') {
      const round = this.prepareRound && ballotEquals(this.prepareRound.ballot, e.ballot) ? this.prepareRound : undefined;
      if (e.outcome === 'unreachable') {
        const err = this.unreachable(e, round);
        this.phase1Failed = { count: this.phase1Failed.count + 1, reason: err.message };
        this.roundFailed(err, undefined, this.gateway.waitingIds());
      } else round?.subscriptions.unsubscribe();
      return;
    }
    if (e.slot === undefined) throw new Error('assertion: an accept round ends with its slot');
    const round = this.acceptRounds.get(e.slot);
    const current = round && ballotEquals(round.ballot, e.ballot) ? round : undefined;
    if (e.outcome === 'unreachable') {
      this.roundFailed(this.unreachable(e, current), e.slot, current?.clients ?? []);
      return;
    }
    if (current && e.outcome === 'quorum' && this.opts.logger.isLevelEnabled('debug')) {
      this.opts.logger.debug({ slot: e.slot.toString(), commands: current.clients.length, ms: Number(process.hrtime.bigint() - current.sentAt) / 1e6 }, 'accept round reached a quorum');
    }
    if (current) this.endRound(e.slot, current);
  }

  private unreachable(e: RoundEnd, round: Round | undefined): QuorumUnreachableError {
    // The no answers are failures and refusals: those that refused did answer.
    return new QuorumUnreachableError(this.quorum.n - e.no + e.refused, this.quorum.n, this.quorum.q, round?.failures, e.refused);
  }

  /** Ends the slot's round (only `round`, when given): its outstanding requests are dropped. */
  private endRound(slot: bigint, round?: AcceptRound): void {
    const current = this.acceptRounds.get(slot);
    if (!current || (round && current !== round)) return;
    this.acceptRounds.delete(slot);
    current.subscriptions.unsubscribe();
  }

  private remember(key: string, votes: ReadonlyMap<number, AcceptorVote>): void {
    this.roundVotes.set(key, votes);
    if (this.roundVotes.size > ROUND_VOTES_MAX) this.roundVotes.delete(this.roundVotes.keys().next().value as string);
  }

  /** A round that cannot reach a quorum for now: its clients (`clients`) hear UNAVAILABLE; the core keeps retrying. */
  private roundFailed(err: QuorumUnreachableError, slot: bigint | undefined, clients: readonly string[]): void {
    this.opts.logger.warn(
      { slot: slot?.toString(), reason: err.message, failures: err.failureSummary() },
      slot === undefined ? 'prepare cannot reach a quorum' : 'accept cannot reach a quorum',
    );
    // The commands stay in the core, which keeps retrying: a client may retry with the same id.
    for (const id of clients) this.gateway.tell(id, new GrpcError(status.UNAVAILABLE, `${err.message}; not chosen yet: retry with the same client_request_id`));
  }

  /**
   * An acceptor's answer as the core's event; a malformed answer (a field missing, a value that
   * does not decode) counts as no answer from that acceptor, logged, and never stops the proposer.
   */
  private fromAnswer(from: number, what: string, unreachable: ProposerEvent, read: () => ProposerEvent | undefined): ProposerEvent | undefined {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.opts.logger.warn({ acceptor: from, reason: err.message }, `acceptor answered ${what} with a malformed message: taken as no answer`);
      return unreachable;
    }
  }

  private feedPrepare(a: Answer<PrepareResponse>, ballot: Ballot): void {
    const event = this.fromAnswer(a.from, 'a prepare', { type: 'unreachable', from: a.from, ballot }, () => {
      const e = prepareEvent(a, ballot);
      // Where the acceptor is: after a rival led, its slots are learned at once, not on a quiet pass.
      if (e.type === 'promise') this.catchUp.note(a.from, e.committedIndex);
      return e;
    });
    if (event !== undefined) this.process(this.core.handle(event));
  }

  private feedAccept(a: Answer<AcceptResponse>, ballot: Ballot, slot: bigint): void {
    const event = this.fromAnswer(a.from, 'an accept', { type: 'unreachable', from: a.from, ballot, slot }, () => {
      const r = acceptEvent(a, ballot, slot);
      if (r.committedIndex !== undefined) this.catchUp.note(a.from, r.committedIndex, r.durableCommittedIndex);
      return r.event;
    });
    if (event !== undefined) this.process(this.core.handle(event));
  }

  /**
   * Sends commit notices alone; the answer goes to catch-up's bookkeeping. A lost one costs
   * nothing: the next notice, or catch-up, brings the acceptor up.
   */
  private notify(to: number, commits: Commit[]): void {
    this.link(to)
      .accept({ commits, quorumCommittedIndex: this.catchUp.quorumCommittedIndex })
      .subscribe({ next: (r) => this.catchUp.noteReply(to, r), error: () => undefined });
  }

  private link(nodeId: number): AcceptorLink {
    const l = this.links[nodeId];
    if (!l) throw new Error(`assertion: no link to acceptor ${nodeId}`);
    return l;
  }
}
