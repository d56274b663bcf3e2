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
  formatBallot,
} from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import { type AcceptResponse, type AcceptorVote, type PrepareResponse, VoteOutcome, VotePhase } from '@paxos/proto';
import { acceptedEntryFromWire, ballotFromWire, ballotToWire, slotValueFromWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog, ChosenResult } from './chosen-log';
import { type Answer, broadcast, QuorumDeniedError, QuorumUnreachableError, untilQuorum } from './fan-out';

export interface ProposeOutcome extends ChosenResult {
  readonly duplicate: boolean;
  readonly votes: readonly AcceptorVote[];
}

interface Waiter {
  readonly resolve: (r: ProposeOutcome) => void;
  readonly reject: (e: unknown) => void;
}

export interface ProposerNodeOptions {
  readonly tickMs: number;
  /** Commit notices sent at once to bring one lagging acceptor up to the committed index. */
  readonly catchUpBatchSlots: number;
  readonly catchUpIntervalMs: number;
  /** Slots in flight; an acceptor further behind than this gets values at once. */
  readonly windowSlots: number;
  readonly logger: Logger;
}

/** Idle ticks (nothing queued, nothing in flight) before the ticker sleeps until new work. */
const IDLE_TICKS_BEFORE_SLEEP = 100;
/** When nothing suggests a gap, Learn runs on one catch-up pass in this many. */
const QUIET_LEARN_EVERY_PASSES = 10;

/** How long a commit notice waits for an accept to ride on before it goes out alone. */
const COMMIT_FLUSH_MS = 5;
/** Bound on commit notices waiting per acceptor, and on one range. */
const PENDING_COMMITS_MAX = 4096;
const MAX_RANGE = 4096;

/** Chosen entries asked for in one Learn call. */
const LEARN_BATCH_ENTRIES = 256;

/** Bound on rounds whose votes are kept for answers (one per slot in flight, plus slack). */
const ROUND_VOTES_MAX = 4096;

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
  /** Client ids of the commands in each slot being accepted, to fail them if the round is unreachable. */
  private readonly slotClients = new Map<bigint, readonly string[]>();
  private readonly roundVotes = new Map<string, AcceptorVote[]>();
  private prepareVotes: AcceptorVote[] = [];
  private learning = false;
  private learnNext = 0;
  private quietLearnPasses = 0;
  private idleTicks = 0;
  private stopped = false;
  private readonly catchingUp = new Set<number>();
  /** Commit notices waiting to ride on each acceptor's next accept. */
  private readonly pendingCommits = new Map<number, Array<{ slot: bigint; ballot: Ballot }>>();
  private commitFlushTimer: NodeJS.Timeout | undefined;
  /** The committed index each acceptor last reported, and what it was at the previous catch-up pass. */
  private readonly acceptorCommitted = new Map<number, bigint>();
  private readonly committedAtLastPass = new Map<number, bigint>();
  /** Stream breaks of each link when last seen by catch-up. */
  private readonly breaksSeen = new Map<number, number>();
  /** The committed index each acceptor reported before its latest report. */
  private readonly lastReported = new Map<number, bigint>();
  /** Acceptors that did not move after value-less notices: the next pass sends values. */
  private readonly valuesNeeded = new Set<number>();
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
  }

  start(): void {
    this.ensureTicking();
    this.catchUpTimer = setInterval(() => {
      this.catchUpLaggards();
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
    let ahead = false;
    for (const index of this.acceptorCommitted.values()) if (index > this.chosen.nextSlot) ahead = true;
    const watched = this.chosen.delivered$.observed;
    if (!ahead && !watched && ++this.quietLearnPasses % QUIET_LEARN_EVERY_PASSES !== 0) return;
    this.learnFromAcceptors();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    if (this.commitFlushTimer) clearTimeout(this.commitFlushTimer);
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

  /** Chooses the command, exactly once per client request id. Resolves when its slot is delivered. */
  propose(command: Command): Promise<ProposeOutcome> {
    const known = this.chosen.result(command.clientRequestId);
    if (known) return Promise.resolve({ ...known, duplicate: true, votes: [] });
    const up = this.reachable();
    if (up < this.quorum.q && !this.inCore.has(command.clientRequestId)) {
      return Promise.reject(new QuorumUnreachableError(up, this.quorum.n, this.quorum.q));
    }
    return new Promise<ProposeOutcome>((resolve, reject) => {
      const list = this.waiters.get(command.clientRequestId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(command.clientRequestId, list);
      if (this.inCore.has(command.clientRequestId)) return; // a retry of a command still in flight
      const out = this.core.submit(command);
      if ('rejected' in out) {
        this.waiters.delete(command.clientRequestId);
        reject(new GrpcError(status.RESOURCE_EXHAUSTED, out.rejected));
        return;
      }
      this.inCore.add(command.clientRequestId);
      this.idleTicks = 0;
      this.ensureTicking();
      this.process(out);
    });
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
        this.queueCommit(m);
        continue;
      }
      const key = m.type === 'prepare' ? `p:${formatBallot(m.ballot)}` : `a:${formatBallot(m.ballot)}:${m.slot}`;
      const group = rounds.get(key) ?? [];
      group.push(m);
      rounds.set(key, group);
    }
    for (const [key, group] of rounds) this.sendRound(key, group);
    if (out.chosen.length > 0) {
      for (const e of out.chosen) this.slotClients.delete(e.slot);
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
    for (const e of entries) this.core.learnChosen(e);
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
        this.noteCommittedIndex(link.nodeId, r.committedIndex);
        this.learnCommitted(r.chosen.map((c) => ({ slot: c.slot, ballot: ballotFromWire(c.ballot), value: slotValueFromWire(c.value) })));
        if (r.chosen.length > 0 && r.committedIndex > this.chosen.nextSlot) this.learnFromAcceptors();
      },
      () => {
        this.learning = false;
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

  private rejectWaiters(clientRequestId: string, err: unknown): void {
    const list = this.waiters.get(clientRequestId);
    if (!list) return;
    this.waiters.delete(clientRequestId);
    for (const w of list) w.reject(err);
  }

  private sendRound(key: string, group: readonly ProposerMessage[]): void {
    const targets = group.map((m) => ({ nodeId: m.to, message: m }));
    const full = targets.length === this.quorum.n;
    const first = group[0] as ProposerMessage;
    const votes: AcceptorVote[] = [];
    if (first.type === 'prepare') {
      if (full) this.prepareVotes = votes;
      const answers = broadcast(targets, (t) => this.link(t.nodeId).prepare({ ballot: ballotToWire(first.ballot), fromSlot: first.fromSlot }));
      const decided = full ? answers.pipe(untilQuorum(this.quorum, (r: PrepareResponse) => r.outcome?.$case === 'promised')) : answers;
      decided.subscribe({
        next: (a) => {
          votes.push(this.prepareVote(a, first.ballot));
          this.feedPrepare(a, first.ballot);
        },
        error: (err: unknown) => this.roundFailed(err, undefined),
      });
      return;
    }
    if (first.type !== 'accept') return;
    if (full) {
      this.remember(key, votes);
      if (first.value.kind === 'batch') this.slotClients.set(first.slot, first.value.commands.map((c) => c.clientRequestId));
    }
    const wireValue = slotValueToWire(first.value);
    const wireBallot = ballotToWire(first.ballot);
    const answers = broadcast(targets, (t) => {
      const commit = this.takeCommitRange(t.nodeId, first.ballot);
      return this.link(t.nodeId).accept({ $case: 'accept', value: { ballot: wireBallot, slot: first.slot, value: wireValue, ...(commit ? { commit } : {}) } });
    });
    const decided = full ? answers.pipe(untilQuorum(this.quorum, (r: AcceptResponse) => r.outcome?.$case === 'accepted')) : answers;
    const sentAt = process.hrtime.bigint();
    decided.subscribe({
      next: (a) => {
        votes.push(this.acceptVote(a, first.ballot));
        this.feedAccept(a, first.ballot, first.slot);
      },
      error: (err: unknown) => this.roundFailed(err, first.slot),
      complete: () => {
        if (full && this.opts.logger.isLevelEnabled('debug')) this.opts.logger.debug({ slot: first.slot.toString(), commands: first.value.kind === 'batch' ? first.value.commands.length : 0, ms: Number(process.hrtime.bigint() - sentAt) / 1e6 }, 'accept round reached a quorum');
      },
    });
  }

  private remember(key: string, votes: AcceptorVote[]): void {
    this.roundVotes.set(key, votes);
    if (this.roundVotes.size > ROUND_VOTES_MAX) this.roundVotes.delete(this.roundVotes.keys().next().value as string);
  }

  private roundFailed(err: unknown, slot: bigint | undefined): void {
    if (err instanceof QuorumDeniedError) return; // the core moves to a higher ballot and retries
    if (!(err instanceof QuorumUnreachableError)) {
      this.opts.logger.error({ err }, 'fan-out failed');
      return;
    }
    this.opts.logger.warn({ slot: slot?.toString(), reason: err.message }, slot === undefined ? 'prepare cannot reach a quorum' : 'accept cannot reach a quorum');
    // The commands stay in the core, which keeps retrying: a client may retry with the same id.
    const ids = slot === undefined ? [...this.waiters.keys()] : this.slotClients.get(slot) ?? [];
    for (const id of ids) this.rejectWaiters(id, new GrpcError(status.UNAVAILABLE, `${err.message}; not chosen yet: retry with the same client_request_id`));
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
      this.noteCommittedIndex(a.from, o.value.committedIndex);
      event = { type: 'accepted', from: a.from, ballot: ballotFromWire(o.value.ballot), slot: o.value.slot };
    }
    else if (o.$case === 'rejected') event = { type: 'reject', from: a.from, promised: ballotFromWire(o.value.promised), ballot, slot };
    else if (o.$case === 'refused') event = { type: 'refused', from: a.from, ballot, slot, reason: o.value.reason };
    else return;
    this.process(this.core.handle(event));
  }

  private prepareVote(a: Answer<PrepareResponse>, ballot: Ballot): AcceptorVote {
    const link = this.link(a.from);
    const o = a.reply?.outcome;
    const outcome = !o ? VoteOutcome.VOTE_OUTCOME_NO_ANSWER : o.$case === 'promised' ? VoteOutcome.VOTE_OUTCOME_PROMISED : VoteOutcome.VOTE_OUTCOME_REJECTED;
    const detail = !o ? String((a.error as Error)?.message ?? 'no answer') : o.$case === 'rejected' ? `promised ${formatBallot(ballotFromWire(o.value.promised))}` : '';
    return { nodeId: a.from, address: link.address, phase: VotePhase.VOTE_PHASE_PREPARE, outcome, ballot: ballotToWire(ballot), detail };
  }

  private acceptVote(a: Answer<AcceptResponse>, ballot: Ballot): AcceptorVote {
    const link = this.link(a.from);
    const o = a.reply?.outcome;
    let outcome = VoteOutcome.VOTE_OUTCOME_NO_ANSWER;
    let detail = !o ? String((a.error as Error)?.message ?? 'no answer') : '';
    if (o?.$case === 'accepted') outcome = VoteOutcome.VOTE_OUTCOME_ACCEPTED;
    else if (o?.$case === 'rejected') {
      outcome = VoteOutcome.VOTE_OUTCOME_REJECTED;
      detail = `promised ${formatBallot(ballotFromWire(o.value.promised))}`;
    } else if (o?.$case === 'refused') {
      outcome = VoteOutcome.VOTE_OUTCOME_REFUSED;
      detail = o.value.reason;
    }
    return { nodeId: a.from, address: link.address, phase: VotePhase.VOTE_PHASE_ACCEPT, outcome, ballot: ballotToWire(ballot), detail };
  }

  /**
   * Holds a commit notice for the acceptor's next accept, which carries it as a slot range (one
   * message per slot spared); what no accept picks up within COMMIT_FLUSH_MS goes out alone.
   */
  private queueCommit(m: Extract<ProposerMessage, { type: 'commit' }>): void {
    const list = this.pendingCommits.get(m.to) ?? [];
    list.push({ slot: m.slot, ballot: m.ballot });
    this.pendingCommits.set(m.to, list);
    if (list.length > PENDING_COMMITS_MAX) this.flushCommits(m.to);
    this.commitFlushTimer ??= setTimeout(() => {
      this.commitFlushTimer = undefined;
      for (const to of [...this.pendingCommits.keys()]) this.flushCommits(to);
    }, COMMIT_FLUSH_MS);
  }

  /** Takes the longest run of consecutive pending slots chosen under `ballot`, as a range. */
  private takeCommitRange(to: number, ballot: Ballot): { fromSlot: bigint; toSlot: bigint } | undefined {
    const list = this.pendingCommits.get(to);
    if (!list || list.length === 0) return undefined;
    list.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
    const start = list.findIndex((c) => ballotEquals(c.ballot, ballot));
    if (start < 0) return undefined;
    let end = start + 1;
    while (end < list.length && end - start < MAX_RANGE && ballotEquals((list[end] as { ballot: Ballot }).ballot, ballot) && (list[end] as { slot: bigint }).slot === (list[end - 1] as { slot: bigint }).slot + 1n) end++;
    const fromSlot = (list[start] as { slot: bigint }).slot;
    const toSlot = (list[end - 1] as { slot: bigint }).slot + 1n;
    list.splice(start, end - start);
    if (list.length === 0) this.pendingCommits.delete(to);
    return { fromSlot, toSlot };
  }

  private flushCommits(to: number): void {
    const list = this.pendingCommits.get(to);
    this.pendingCommits.delete(to);
    for (const c of list ?? []) this.sendCommit({ type: 'commit', to, slot: c.slot, ballot: c.ballot });
  }

  /**
   * A commit notice without the value: on the Accept stream it follows this acceptor's own accept
   * of the slot, if one was sent. An acceptor that lacks the value keeps its committed index and
   * gets the value from catch-up, so a batch is not sent a second time to every straggler.
   */
  private sendCommit(m: Extract<ProposerMessage, { type: 'commit' }>): void {
    this.link(m.to)
      .accept({ $case: 'commit', value: { slot: m.slot, ballot: ballotToWire(m.ballot) } })
      .subscribe({
        next: (r) => this.noteCommitted(m.to, r),
        error: () => undefined, // a commit notice is an optimisation; the next one will do
      });
  }

  private noteCommitted(nodeId: number, r: AcceptResponse): void {
    if (r.outcome?.$case !== 'committed') return;
    this.noteCommittedIndex(nodeId, r.outcome.value.committedIndex);
  }

  private noteCommittedIndex(nodeId: number, committedIndex: bigint): void {
    // Latest wins, not the highest: a restarted acceptor may report less than before.
    const previous = this.acceptorCommitted.get(nodeId);
    if (previous !== undefined) this.lastReported.set(nodeId, previous);
    this.acceptorCommitted.set(nodeId, committedIndex);
  }

  /**
   * Runs every catch-up interval. An acceptor whose committed index trails the delivered prefix
   * and has not moved since the previous pass is brought up in two steps: first commit notices
   * without values (enough when it holds the accepted values, as after a lost notice), and only
   * if it still has not moved at the next pass, notices with the values it lacks (it was down or
   * restarted). An acceptor whose index is unknown is asked with a notice of the latest slot.
   * Under load every acceptor keeps moving, so catch-up sends nothing.
   */
  private catchUpLaggards(): void {
    const delivered = this.chosen.nextSlot;
    if (delivered === 0n) return;
    const previous = new Map(this.committedAtLastPass);
    this.committedAtLastPass.clear();
    for (const [node, index] of this.acceptorCommitted) this.committedAtLastPass.set(node, index);
    for (const link of this.links) {
      if (this.catchingUp.has(link.nodeId) || !link.up) continue;
      if (this.breaksSeen.get(link.nodeId) !== link.breaks) {
        // Its stream broke since we last looked: it may have restarted and forgotten commit
        // notices (they are not durable), so what it reported before no longer holds.
        this.breaksSeen.set(link.nodeId, link.breaks);
        this.acceptorCommitted.delete(link.nodeId);
        this.lastReported.delete(link.nodeId);
        this.valuesNeeded.delete(link.nodeId);
      }
      const known = this.acceptorCommitted.get(link.nodeId);
      if (known !== undefined && (known >= delivered || previous.get(link.nodeId) !== known)) {
        this.valuesNeeded.delete(link.nodeId); // caught up, or still moving on its own
        continue;
      }
      // Values at once for an acceptor that restarted (its index went down) or is far behind.
      const before = this.lastReported.get(link.nodeId);
      const restarted = known !== undefined && before !== undefined && known < before;
      const farBehind = known !== undefined && delivered - known > BigInt(this.opts.windowSlots);
      const withValues = known === undefined || restarted || farBehind || this.valuesNeeded.has(link.nodeId);
      if (known !== undefined) this.valuesNeeded.add(link.nodeId);
      const from = known === undefined ? delivered - 1n : known < this.chosen.oldestSlot ? this.chosen.oldestSlot : known;
      const sends = [];
      for (let slot = from; slot < delivered && sends.length < this.opts.catchUpBatchSlots; slot++) {
        const e = this.chosen.entry(slot);
        if (!e) break;
        sends.push(link.accept({ $case: 'commit', value: { slot, ballot: ballotToWire(e.ballot), ...(withValues ? { value: slotValueToWire(e.value) } : {}) } }));
      }
      if (sends.length === 0) continue;
      this.catchingUp.add(link.nodeId);
      let remaining = sends.length;
      const settle = () => {
        remaining -= 1;
        if (remaining === 0) this.catchingUp.delete(link.nodeId);
      };
      for (const send of sends) send.subscribe({ next: (r) => this.noteCommitted(link.nodeId, r), error: settle, complete: settle });
    }
  }

  private link(nodeId: number): AcceptorLink {
    const l = this.links[nodeId];
    if (!l) throw new Error(`assertion: no link to acceptor ${nodeId}`);
    return l;
  }

  /** For tests and status: the ballot in use, as text. */
  describe(): string {
    return `ballot ${formatBallot(this.core.ballot)}${this.core.isLeader ? ' (leader)' : ''}, next slot ${this.core.nextSlot}`;
  }

  /** True when the given ballot is the one this proposer uses now. */
  owns(ballot: Ballot): boolean {
    return ballotEquals(ballot, this.core.ballot);
  }
}
