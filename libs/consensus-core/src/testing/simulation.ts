import type { RejoinFloor } from '../acceptor';
import type { AcceptorReply, AcceptorRequest } from '../acceptor-types';
import { assert } from '../assert';
import { rejoinFloorFrom } from '../rejoin';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import { ClientSessions, SESSION_IDS_MAX_DEFAULT } from '../client-sessions';
import { Learner } from '../learner';
import type { ChosenEntry, ProposerEvent, ProposerMessage, ProposerOutput } from '../proposer/proposer-types';
import type { Quorum } from '../quorum';
import { SeededRandom } from '../rng';
import { SafetyChecker } from './checker';
import { SimClients } from './clients';
import { SimNetwork, type Envelope } from './network';
import { SimAcceptor } from './sim-acceptor';
import { SimProposer } from './sim-proposer';
import { replayCommand, resolveSimOptions, simQuorum, type ResolvedSimOptions, type SimOptions } from './sim-options';

const UNREACHABLE_PROBABILITY = 0.3;
const UNREACHABLE_DEADLINE_TICKS = 10;
const SHARE_CHOSEN_PROBABILITY = 0.5;
/** Per tick: a rejoining acceptor that is up is sent commit notices (with values) of the chosen log it lacks, as catch-up does. */
const CATCH_UP_PROBABILITY = 0.2;
const CATCH_UP_SLOTS = 8;

export interface SimStats {
  readonly ticks: number;
  readonly messages: number;
  readonly messagesDropped: number;
  readonly chosenSlots: number;
  readonly durableQuorums: number;
  readonly deliveredSlots: bigint;
  readonly commands: number;
  readonly commandsDelivered: number;
  /** Later copies of a client_request_id in the delivered log (harmless: the sessions skip them). */
  readonly duplicateCopies: number;
  readonly acceptorCrashes: number;
  readonly proposerCrashes: number;
  /** Acceptors that lost their data and rejoined. */
  readonly dataLosses: number;
}

export interface SimResult {
  readonly seed: number;
  readonly options: ResolvedSimOptions;
  readonly violations: readonly string[];
  readonly stats: SimStats;
  /** The command that replays this run. */
  readonly replay: string;
}

/** One deterministic run: phase A (faults on, safety), then phase B (healed core, liveness). */
export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(resolveSimOptions(options)).run();
}

class Simulation {
  private readonly rng: SeededRandom;
  private readonly faults: SeededRandom;
  private readonly quorum: Quorum;
  private readonly acceptors: SimAcceptor[];
  private readonly proposers: SimProposer[];
  private readonly network: SimNetwork;
  private readonly checker: SafetyChecker;
  private readonly learner = new Learner();
  /** The delivered log, for the catch-up of rejoining acceptors. */
  private readonly delivered: ChosenEntry[] = [];
  private readonly sessions: ClientSessions;
  private readonly effectSlot = new Map<string, bigint>();
  private duplicateCopies = 0;
  private readonly clients: SimClients;
  private now = 0;
  private liveProposer: number | null = null;

  constructor(private readonly o: ResolvedSimOptions) {
    this.rng = new SeededRandom(o.seed);
    this.faults = this.rng.fork('faults');
    this.quorum = simQuorum(o);
    const limits: Limits = { ...DEFAULT_LIMITS, entriesPerPromiseMax: o.entriesPerPromiseMax };
    this.checker = new SafetyChecker(this.quorum);
    const acceptorIds = Array.from({ length: o.acceptors }, (_, i) => i);
    const fsyncRng = this.rng.fork('fsync');
    this.acceptors = acceptorIds.map(
      (i) =>
        new SimAcceptor(
          i,
          limits,
          fsyncRng,
          o.fsyncTicksMin,
          o.fsyncTicksMax,
          o.unsafeReplies,
          (a, change) => {
            if (change.accepted !== undefined) this.checker.recordDurableVote(a, change.accepted);
          },
          (a, reply, durablePromised) => this.checker.checkReplyDurable(a, reply, durablePromised),
        ),
    );
    const proposerRng = this.rng.fork('proposers');
    this.proposers = Array.from(
      { length: o.proposers },
      (_, p) => new SimProposer(p, p + 1, this.quorum, acceptorIds, proposerRng, limits, o.windowSlots, o.batchCommandsMax, o.partialSlotsMax, o.acceptFanout),
    );
    this.network = new SimNetwork(this.rng.fork('network'), o.acceptors + o.proposers, o.lossProbability, o.duplicateProbability, o.delayTicksMax, {
      rng: new SeededRandom(o.seed).fork('late'),
      probability: o.lateProbability,
      ticksMax: o.lateTicksMax,
    });
    this.clients = new SimClients(this.rng.fork('clients'), o.commands, o.proposers, Math.floor(o.safetyTicks * 0.8));
    for (const c of this.clients.all()) this.checker.recordSubmitted(c);
    this.sessions = new ClientSessions((data) => data.join(','), SESSION_IDS_MAX_DEFAULT, 0n, !o.unsafeNoSessions);
  }

  run(): SimResult {
    try {
      if (this.o.splitBrain) this.splitBrain();
      for (; this.now < this.o.safetyTicks; ) this.step(true);
      this.heal();
      const end = this.o.safetyTicks + this.o.livenessTicks;
      for (; this.now < end && this.clients.deliveredCount < this.clients.total; ) this.step(false);
      const missing = this.clients.undelivered();
      if (missing.length > 0) {
        this.checker.violation(
          `liveness: ${missing.length} of ${this.clients.total} commands not chosen within ${this.o.livenessTicks} ticks after healing (${missing.slice(0, 5).join(', ')})`,
        );
      }
      this.drainFsyncs();
      this.checker.checkDurableStates(this.acceptors.map((a) => a.durableState()));
    } catch (err) {
      this.checker.violation(`exception at tick ${this.now}: ${(err as Error).message}`);
    }
    return {
      seed: this.o.seed,
      options: this.o,
      violations: this.checker.violations,
      stats: {
        ticks: this.now,
        messages: this.network.messagesSent,
        messagesDropped: this.network.messagesDropped,
        chosenSlots: this.checker.chosenSlots,
        durableQuorums: this.checker.durableChosenCount,
        deliveredSlots: this.learner.nextSlot,
        commands: this.clients.total,
        commandsDelivered: this.clients.deliveredCount,
        duplicateCopies: this.duplicateCopies,
        acceptorCrashes: this.acceptors.reduce((s, a) => s + a.crashes, 0),
        proposerCrashes: this.proposers.reduce((s, p) => s + p.crashes, 0),
        dataLosses: this.acceptors.reduce((s, a) => s + a.dataLosses, 0),
      },
      replay: replayCommand(this.o),
    };
  }

  /** Let every up acceptor finish its pending fsyncs (nothing is lost at the end of a run). */
  private drainFsyncs(): void {
    for (let i = 0; i <= this.o.fsyncTicksMax + 1; i++) {
      this.now++;
      for (const a of this.acceptors) a.tick(this.now);
    }
  }

  private step(faultsOn: boolean): void {
    this.now++;
    if (faultsOn) this.injectFaults();
    for (const env of this.network.take(this.now)) this.deliver(env);
    for (const a of this.acceptors) a.tick(this.now);
    this.catchUpRejoining();
    for (const p of this.proposers) if (p.core !== null) this.process(p, p.core.tick());
    const target = (preferred: number): number | null => {
      const index = this.liveProposer ?? preferred % this.proposers.length;
      return this.proposers[index].up ? index : null;
    };
    for (const { command, proposer } of this.clients.due(this.now, target)) {
      const p = this.proposers[proposer];
      if (p.core === null) continue;
      const result = p.core.submit(command);
      if ('rejected' in result) this.clients.retrySoon(command.clientRequestId);
      else this.process(p, result);
    }
  }

  private injectFaults(): void {
    const f = this.faults;
    const o = this.o;
    this.network.expirePartitions(this.now);
    for (const a of this.acceptors) if (!a.up && a.restartTick <= this.now) a.restart();
    for (const p of this.proposers) if (!p.up && p.restartTick <= this.now) p.start();
    if (f.chance(o.partitionProbability)) {
      const nodes: number[] = [];
      for (let i = 0; i < o.acceptors + o.proposers; i++) if (f.chance(0.5)) nodes.push(i);
      this.network.addPartition(nodes, this.now, f.int(10, 80), f.chance(0.5));
    }
    if (f.chance(o.acceptorCrashProbability)) {
      const a = this.acceptors[f.int(0, o.acceptors)];
      if (a.up) a.crash(this.now + f.int(5, 60));
    }
    if (f.chance(o.proposerCrashProbability)) {
      const p = this.proposers[f.int(0, o.proposers)];
      if (p.up) p.crash(this.now + f.int(10, 80));
    }
    if (o.dataLossProbability > 0 && f.chance(o.dataLossProbability)) this.loseData(this.acceptors[f.int(0, o.acceptors)]);
  }

  /**
   * An acceptor's disk is lost and it rejoins by the operator's procedure: every proposer is
   * stopped, then the floor is read from a quorum of the other acceptors (up, not rejoining
   * themselves): the highest promise, and the committed index it must reach first — above every
   * slot they accepted or know chosen, by a margin of the proposers' window. Requests of the
   * stopped proposers still in flight are delivered all the same. Skipped when too few answer.
   */
  private loseData(a: SimAcceptor): void {
    const f = this.faults;
    const others = this.acceptors.filter((x) => x !== a && x.core !== null && !x.rejoining);
    if (others.length < this.quorum.q) return;
    for (let i = others.length - 1; i > 0; i--) {
      const j = f.int(0, i + 1);
      [others[i], others[j]] = [others[j], others[i]];
    }
    for (const p of this.proposers) if (p.up) p.crash(this.now + f.int(10, 80));
    const reports = others.slice(0, this.quorum.q).flatMap((x) => (x.core === null ? [] : [x.core.rejoinReport()]));
    const read = rejoinFloorFrom(reports, this.quorum, BigInt(this.o.windowSlots));
    assert(!('problem' in read), 'the floor is read from a quorum of acceptors that are not rejoining');
    const floor: RejoinFloor | undefined = this.o.unsafeRejoin ? undefined : read;
    a.loseData(this.now + f.int(5, 60), floor);
  }

  /** Catch-up: a rejoining acceptor learns chosen slots it lacks (the node's catch-up streams them from the durable log). */
  private catchUpRejoining(): void {
    for (const a of this.acceptors) {
      const core = a.core;
      if (core === null || !core.rejoining || !this.rng.chance(CATCH_UP_PROBABILITY)) continue;
      const from = Number(core.committedIndex);
      for (const e of this.delivered.slice(from, from + CATCH_UP_SLOTS)) a.receive({ type: 'commit', slot: e.slot, ballot: e.ballot, value: e.value }, () => undefined);
    }
  }

  /** Negative control: one group of acceptors per proposer, cut off from each other. */
  private splitBrain(): void {
    const n = this.o.acceptors;
    const groups = this.o.proposers;
    for (let g = 0; g < groups; g++) {
      const nodes: number[] = [n + g];
      for (let i = 0; i < n; i++) if (Math.floor((i * groups) / n) === g) nodes.push(i);
      this.network.addPartition(nodes, this.now, this.o.safetyTicks, true);
    }
  }

  /** Phase B: a quorum-sized core of acceptors and one proposer, healed; everyone else cut off. */
  private heal(): void {
    const f = this.faults;
    this.network.healAll();
    this.network.lossProbability = 0;
    this.network.duplicateProbability = 0;
    this.network.lateProbability = 0;
    const live = f.int(0, this.o.proposers);
    this.liveProposer = live;
    if (!this.proposers[live].up) this.proposers[live].start();
    const order = this.acceptors.map((a) => a.index);
    for (let i = order.length - 1; i > 0; i--) {
      const j = f.int(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    // A rejoining acceptor votes once caught up: one whose floor lies above the chosen log needs
    // slots the others must choose first, so the healed core is formed of the rest first.
    const waits = (i: number) => this.acceptors[i].rejoining && (this.acceptors[i].catchUpTo ?? 0n) > BigInt(this.delivered.length);
    order.sort((x, y) => Number(waits(x)) - Number(waits(y)));
    const core = new Set(order.slice(0, this.quorum.q));
    for (const a of this.acceptors) {
      if (!core.has(a.index)) this.network.isolate(a.index);
      else if (!a.up) a.restart();
    }
    for (const p of this.proposers) if (p.index !== live) this.network.isolate(this.o.acceptors + p.index);
    this.clients.resubmitAllNow();
  }

  private deliver(env: Envelope): void {
    if (env.kind === 'reply') {
      const p = this.proposers[env.to];
      if (p.core === null || p.incarnation !== env.incarnation) return;
      this.process(p, p.core.handle(env.event));
      return;
    }
    const a = this.acceptors[env.to];
    const req = env.req;
    a.receive(req, (reply) => {
      const event = this.toEvent(a.index, req, reply);
      if (event === null) return;
      const out: Envelope = { kind: 'reply', from: a.index, to: env.from, incarnation: env.incarnation, event };
      this.network.send(out, a.index, this.o.acceptors + env.from, this.now);
    });
  }

  private toEvent(from: number, req: AcceptorRequest, reply: AcceptorReply): ProposerEvent | null {
    const slot = req.type === 'prepare' ? undefined : req.slot;
    switch (reply.type) {
      case 'promise':
        return { type: 'promise', from, ballot: reply.ballot, accepted: reply.accepted, truncated: reply.truncated, committedIndex: reply.committedIndex };
      case 'reject':
        return { type: 'reject', from, promised: reply.promised, ballot: req.ballot, slot };
      case 'accepted':
        return { type: 'accepted', from, ballot: reply.ballot, slot: reply.slot };
      case 'refused':
        return { type: 'refused', from, ballot: req.ballot, slot: slot ?? 0n, reason: reply.reason };
      case 'committed':
        return { type: 'committed', from, committedIndex: reply.committedIndex };
      case 'invalid':
        this.checker.violation(`acceptor ${from} found a ${req.type} invalid: ${reply.reason}`);
        return null;
    }
  }

  private process(p: SimProposer, out: ProposerOutput): void {
    for (const e of out.chosen) {
      this.checker.recordReportedChosen(e.slot, e.ballot, e.value, `proposer ${p.proposerId}`);
      for (const d of this.learner.learn(e)) {
        this.delivered.push(d);
        if (d.value.kind === 'batch') for (const c of d.value.commands) this.clients.markDelivered(c.clientRequestId);
        this.applyToSessions(d);
      }
      for (const other of this.proposers) {
        if (other !== p && other.core !== null && this.rng.chance(SHARE_CHOSEN_PROBABILITY)) other.core.learnChosen(e);
      }
    }
    for (const f of out.failed) this.checker.violation(`command ${f.clientRequestId} failed: ${f.reason}`);
    for (const m of out.messages) this.sendRequest(p, m);
  }

  /**
   * The state machine's exactly-once rule over the delivered log: each client_request_id takes
   * effect at most once. Retried copies in the log (after crashes, through another proposer) are
   * duplicates; with unsafeNoSessions (negative control) they take effect again and this reports it.
   */
  private applyToSessions(d: ChosenEntry): void {
    for (const effect of this.sessions.apply(d)) {
      if (effect.duplicateOf !== undefined) {
        this.duplicateCopies++;
        continue;
      }
      const first = this.effectSlot.get(effect.clientRequestId);
      if (first !== undefined) this.checker.violation(`exactly-once: ${effect.clientRequestId} took effect in slot ${first} and again in slot ${d.slot}`);
      else this.effectSlot.set(effect.clientRequestId, d.slot);
    }
  }

  private sendRequest(p: SimProposer, m: ProposerMessage): void {
    const req: AcceptorRequest =
      m.type === 'prepare'
        ? { type: 'prepare', ballot: m.ballot, fromSlot: m.fromSlot }
        : m.type === 'accept'
          ? { type: 'accept', ballot: m.ballot, slot: m.slot, value: m.value }
          : { type: 'commit', slot: m.slot, ballot: m.ballot, value: m.value };
    const env: Envelope = { kind: 'request', from: p.index, incarnation: p.incarnation, to: m.to, req };
    const sent = this.network.send(env, this.o.acceptors + p.index, m.to, this.now) && this.acceptors[m.to].up;
    if (!sent && m.type !== 'commit' && this.rng.chance(UNREACHABLE_PROBABILITY)) {
      const event: ProposerEvent = { type: 'unreachable', from: m.to, ballot: m.ballot, slot: m.type === 'accept' ? m.slot : undefined };
      this.network.schedule({ kind: 'reply', from: m.to, to: p.index, incarnation: p.incarnation, event }, this.now + UNREACHABLE_DEADLINE_TICKS);
    }
  }
}
