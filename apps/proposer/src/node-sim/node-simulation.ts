import { withGlobal } from '@sinonjs/fake-timers';
import { type Command, formatBallot, Quorum, rejoinFloorFrom, SeededRandom } from '@paxos/consensus-core';
import { Verdict } from '@paxos/proto';
import { buildProposal, encodeProposalValue, isHarmonicContentType, sourceHolders, sourcesToCertify, validateProposalValue, verificationsNeeded } from '@paxos/proposal';
import { GrpcError } from '@paxos/grpc-kit';
import { pino } from 'pino';
import { status } from '@grpc/grpc-js';
import { resolveProposerConfig, type ProposerConfig } from '../config';
import { assembleProposer } from '../proposer-assembly';
import type { ProposeOutcome, ProposerNode } from '../proposer-node';
import type { ChosenLog } from '../chosen-log';
import { checkRun, type ClientRecord } from './node-sim-checker';
import { type NodeSimOptions, nodeSimReplay } from './node-sim-options';
import { SimAcceptor } from './sim-acceptor';
import { SimAcceptorLink } from './sim-link';
import { SimNetwork } from './sim-network';
import { forgedMessages } from './forged-messages';

export interface NodeSimStats {
  readonly virtualMs: number;
  readonly messages: number;
  readonly commands: number;
  readonly acknowledged: number;
  readonly chosenSlots: number;
  readonly duplicateCopies: number;
  readonly acceptorCrashes: number;
  readonly powerLosses: number;
  readonly proposerCrashes: number;
  readonly diskFaults: number;
  /** Acceptors whose synced records were damaged: they refuse to start and stay down. */
  readonly corruptions: number;
  readonly forgedMessages: number;
  /** Commands refused (FAILED_PRECONDITION) because a claimed source's acceptors refused their claims. */
  readonly claimsRefused: number;
  /** Commands whose claims could not be verified after the heal (a claimed source's acceptors never started again). */
  readonly claimsUnverifiable: number;
  readonly partitions: number;
  /** Acceptor restarts whose LMFDB source did not load (their claim verdicts UNKNOWN until the heal). */
  readonly sourcesUnloaded: number;
  /** Acceptors whose disk was lost, rejoined under a floor (or, for the negative control, as new). */
  readonly dataLosses: number;
  /** Acceptors killed or powered off between a state snapshot write's two renames (left with the previous snapshot alone). */
  readonly snapshotWritesTorn: number;
  /** State snapshot files damaged on an acceptor's disk (one of its two at a time). */
  readonly snapshotsDamaged: number;
  /** Virtual ms from the heal until every command was answered and every acceptor was level. */
  readonly levelAfterHealMs: number;
  /** Linearizable reads checked in the middle of the faults (readAfterWriteProbability). */
  readonly readsAfterWrite: number;
}

export interface NodeSimResult {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly stats: NodeSimStats;
  readonly replay: string;
}

const FAULT_STEP_MS = 20;
/** Timer firings the wind-down may take to bring every client and node to rest. */
const WIND_DOWN_STEPS_MAX = 100_000;
const CLIENT_TIMEOUT_MS = 4000;
/** A read after a write: tries (each at a random live proposer) and each one's deadline, virtual ms. */
const READ_AFTER_WRITE_ATTEMPTS = 5;
const READ_AFTER_WRITE_DEADLINE_MS = 2000;
/** Virtual time the clock starts at (a plausible wall clock in ms: proposers take their first round from it). */
const EPOCH_MS = 1_760_000_000_000;

type SimClock = ReturnType<ReturnType<typeof withGlobal>['install']>;

interface ProposerIncarnation {
  readonly node: ProposerNode;
  readonly chosen: ChosenLog;
  readonly links: SimAcceptorLink[];
  readonly initialRound: bigint;
}

/**
 * One run of the real proposer and acceptor nodes over simulated network, disks and time, driven
 * by one seed: phase A with faults, then a heal after which every client's command must be
 * answered and every acceptor level; then the checker (node-sim-checker.ts).
 */
export async function runNodeSimulation(opts: NodeSimOptions): Promise<NodeSimResult> {
  const realSetImmediate = setImmediate;
  const realMathRandom = Math.random;
  const clock = withGlobal(globalThis).install({
    now: EPOCH_MS,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'hrtime', 'performance'],
    loopLimit: 1_000_000_000,
  });
  const root = new SeededRandom(opts.seed);
  // Anything that still reaches for Math.random draws from the seed.
  const stray = root.fork('stray');
  Math.random = () => stray.next();
  try {
    return await new NodeSimulation(opts, root, clock, realSetImmediate).run();
  } finally {
    Math.random = realMathRandom;
    clock.uninstall();
  }
}

class NodeSimulation {
  // NODE_SIM_LOG=debug shows the nodes' own logs (on virtual time).
  private readonly logger = pino({ level: process.env['NODE_SIM_LOG'] ?? 'silent' }, pino.destination(2));
  private readonly faults: SeededRandom;
  private readonly net: SimNetwork;
  private readonly quorum: Quorum;
  private readonly acceptors: SimAcceptor[];
  private readonly proposers: Array<ProposerIncarnation | undefined>;
  private readonly lastInitialRound: bigint[];
  private readonly config: ProposerConfig;
  private readonly clients: ClientRecord[] = [];
  /** Disputed commands: the acceptors that refuse each. */
  private readonly disputed = new Map<string, ReadonlySet<number>>();
  /** Acceptors whose LMFDB source did not load at their last start (until the heal). */
  private readonly unloaded = new Set<number>();
  private readonly dataFaults: SeededRandom;
  /** Torn state snapshot writes and damaged snapshot files: a stream of its own, drawn only when they are on. */
  private readonly snapshotFaults: SeededRandom;
  private readonly violations: string[] = [];
  private faultPhase = true;
  private lastReadError = '';
  /** Reads after writes checked (readAfterWriteProbability). */
  private readsAfterWrite = 0;
  private healedAt = 0;
  /** Set once the run is judged: clients stop, and nothing of this run may act in the next one. */
  private ended = false;
  private readonly counts = { acceptorCrashes: 0, powerLosses: 0, proposerCrashes: 0, diskFaults: 0, corruptions: 0, forgedMessages: 0, partitions: 0, sourcesUnloaded: 0, dataLosses: 0, snapshotWritesTorn: 0, snapshotsDamaged: 0 };

  constructor(
    private readonly opts: NodeSimOptions,
    private readonly rng: SeededRandom,
    private readonly clock: SimClock,
    private readonly realSetImmediate: typeof setImmediate,
  ) {
    this.faults = rng.fork('faults');
    // A stream of its own, not a fork (a fork draws from the parent): runs without claims draw
    // every other number as they did before this stream existed, so pinned seeds stay pinned.
    this.dataFaults = new SeededRandom((BigInt(opts.seed) << 16n) ^ 0xda7an);
    this.snapshotFaults = new SeededRandom((BigInt(opts.seed) << 16n) ^ 0x5a75n);
    this.net = new SimNetwork(rng.fork('network'), { delayMsMin: 1, delayMsMax: 4, longDelayProbability: opts.longDelayProbability, longDelayMsMax: opts.longDelayMsMax });
    this.quorum = Quorum.majority(opts.acceptors);
    const addresses = Array.from({ length: opts.acceptors }, (_, i) => `sim:${i + 1}`).join(',');
    const config = resolveProposerConfig(['--acceptors', addresses, '--insecure'], {});
    if (config === 'help') throw new Error('assertion: proposer config resolved to help');
    this.config = config;
    const proposerIds = new Set(Array.from({ length: opts.proposers }, (_, i) => i + 1));
    const disks = rng.fork('disks');
    this.acceptors = Array.from(
      { length: opts.acceptors },
      (_, nodeId) =>
        new SimAcceptor({
          nodeId,
          quorum: this.quorum,
          proposerIds,
          storage: {
            syncDelayMs: () => disks.int(opts.syncMsMin, opts.syncMsMax + 1),
            writeFault: () => {
              if (!this.faultPhase || !disks.chance(opts.diskFaultProbability)) return undefined;
              this.counts.diskFaults++;
              return disks.chance(0.5) ? 'EIO: write failed (simulated)' : 'EIO: fdatasync failed (simulated)';
            },
            repairMs: 50,
            unsafeAckBeforeSync: opts.unsafeAckBeforeSync,
            betweenSnapshotRenames: (stop) => this.maybeTearSnapshotWrite(nodeId, stop),
          },
          claimsVerdict: (command) => {
            if (this.unloaded.has(nodeId)) return { verdict: Verdict.VERDICT_UNKNOWN, reason: `source ${nodeId % 10} is not loaded here` };
            if (this.disputed.get(command.clientRequestId)?.has(nodeId)) return { verdict: Verdict.VERDICT_FALSE, reason: `${command.clientRequestId}: this acceptor's data say the claim is false` };
            return { verdict: Verdict.VERDICT_TRUE, reason: '' };
          },
          random: (() => {
            const r = rng.fork(`acceptor-${nodeId}`);
            return () => r.next();
          })(),
          logger: this.logger.child({ node: nodeId }),
          ...(opts.stateSnapshotEvery > 0 ? { stateSnapshotEverySlots: opts.stateSnapshotEvery } : {}),
          ...(opts.historyRetainSlots >= 0 ? { historyRetainSlots: BigInt(opts.historyRetainSlots) } : {}),
        }),
    );
    this.proposers = Array.from({ length: opts.proposers }, () => undefined);
    this.lastInitialRound = Array.from({ length: opts.proposers }, () => 0n);
  }

  async run(): Promise<NodeSimResult> {
    for (let p = 0; p < this.opts.proposers; p++) this.startProposer(p, 0n);
    const clientsDone = this.startClients();
    let finished = false;
    void clientsDone.then(() => (finished = true));

    // Phase A: faults.
    const faultEnd = Date.now() + this.opts.faultMs;
    let nextFault = Date.now() + FAULT_STEP_MS;
    await this.runUntil(() => Date.now() >= faultEnd, () => {
      if (Date.now() >= nextFault) {
        nextFault += FAULT_STEP_MS;
        this.faultStep();
      }
    });

    // Phase B: heal, then everything must be answered and level.
    this.heal();
    this.healedAt = Date.now();
    const deadline = this.healedAt + this.opts.livenessMs;
    // Once the clients are done, a linearizable read on every proposer: what a user does to see
    // every acknowledged write (a value chosen just before its proposer crashed is learned by the
    // phase 1 the read runs); then every acceptor must hold the log.
    let readsDone = false;
    void clientsDone.then(() => this.readsAfterHeal(deadline)).then(() => (readsDone = true));
    await this.runUntil(() => (finished && readsDone && this.level()) || Date.now() >= deadline);
    const levelAfterHealMs = Date.now() - this.healedAt;
    if (finished && !readsDone) {
      this.violations.push(`liveness: a linearizable read did not succeed ${this.opts.livenessMs} ms after the heal (${this.lastReadError}); ${this.proposerStates()}`);
    } else if (!finished) {
      const open = this.clients.filter((c) => c.acknowledgedSlot === undefined && !c.refused && !c.unverifiable && !c.alreadyExists).map((c) => c.id);
      this.violations.push(
        `liveness: ${open.length} commands not answered ${this.opts.livenessMs} ms after the heal (${open.slice(0, 5).join(', ')}${open.length > 5 ? ', ...' : ''}); ${this.proposerStates()}`,
      );
    } else if (!this.level()) {
      this.violations.push(`liveness: acceptors not level ${this.opts.livenessMs} ms after the heal (committed ${this.acceptors.map((a) => a.current?.core.committedIndex ?? 'down').join(', ')})`);
    }

    const report = checkRun({
      acceptors: this.acceptors,
      proposers: this.proposers.flatMap((p) => (p ? [p.chosen] : [])),
      clients: this.clients,
      clusterSize: this.opts.acceptors,
    });
    this.violations.push(...report.violations);
    const stats: NodeSimStats = {
      virtualMs: Date.now() - EPOCH_MS,
      messages: this.net.messages,
      commands: this.clients.length,
      acknowledged: this.clients.filter((c) => c.acknowledgedSlot !== undefined).length,
      chosenSlots: report.chosenSlots,
      duplicateCopies: report.duplicateCopies,
      ...this.counts,
      claimsRefused: this.clients.filter((c) => c.refused).length,
      claimsUnverifiable: this.clients.filter((c) => c.unverifiable).length,
      levelAfterHealMs,
      readsAfterWrite: this.readsAfterWrite,
    };
    await this.windDown(() => finished && readsDone);
    return { seed: this.opts.seed, violations: this.violations, replay: nodeSimReplay(this.opts), stats };
  }

  /**
   * Brings every client and node of this run to rest before the fake clock is uninstalled. A run
   * that ended with clients still retrying (a liveness failure) otherwise left their loops alive:
   * the next run in the same process fired their timers on its own clock, so its outcome depended
   * on the runs before it and on real time, and a failing seed did not replay alone.
   */
  private async windDown(settled: () => boolean): Promise<void> {
    this.ended = true;
    for (const [i, p] of this.proposers.entries()) {
      p?.node.stop();
      this.proposers[i] = undefined;
    }
    for (const a of this.acceptors) a.crash(undefined);
    let steps = 0;
    await this.runUntil(() => (settled() && this.clock.countTimers() === 0) || ++steps > WIND_DOWN_STEPS_MAX);
    if (steps > WIND_DOWN_STEPS_MAX) {
      this.violations.push(`harness: ${this.clock.countTimers()} timers still pending ${WIND_DOWN_STEPS_MAX} firings after every node stopped${settled() ? '' : ' (clients still running)'}`);
    }
  }

  /** Fires timers one at a time, letting promises settle after each, until `done` or nothing is left. */
  private async runUntil(done: () => boolean, each?: () => void): Promise<void> {
    while (!done()) {
      each?.();
      if (this.clock.countTimers() === 0) this.clock.tick(FAULT_STEP_MS);
      else this.clock.next();
      await new Promise<void>((resolve) => this.realSetImmediate(resolve));
    }
  }

  /** A linearizable read on each live proposer, retried (as a client would) until it succeeds or the deadline passes. */
  private async readsAfterHeal(deadline: number): Promise<void> {
    for (const [i, p] of this.proposers.entries()) {
      if (!p) continue;
      for (;;) {
        if (this.ended) return;
        try {
          await p.node.readBarrier(2000);
          break;
        } catch (e) {
          this.lastReadError = `proposer ${i + 1}: ${e instanceof Error ? e.message : String(e)}`;
          if (Date.now() >= deadline || this.ended) return;
          await sleep(100);
        }
      }
    }
  }

  /** What each proposer is doing, for a liveness failure's message. */
  private proposerStates(): string {
    return this.proposers
      .map((p, i) => {
        if (!p) return `proposer ${i + 1} down`;
        const { inFlightSlots, pendingCommands } = p.node.load;
        return `proposer ${i + 1} ${p.node.isLeader ? 'leads' : 'follows'} at ${formatBallot(p.node.ballot)}, ${inFlightSlots} slots in flight, ${pendingCommands} commands queued, delivered to ${p.chosen.nextSlot}`;
      })
      .concat(`acceptors promised ${this.acceptors.map((a) => (a.current ? formatBallot(a.current.core.promised) : 'down')).join(', ')}`)
      .join('; ');
  }

  private level(): boolean {
    const committed = this.acceptors.filter((a) => a.refusedToStart === undefined).map((a) => a.current?.core.committedIndex);
    if (committed.some((c) => c === undefined)) return false;
    const top = this.proposers.reduce((m, p) => (p && p.chosen.nextSlot > m ? p.chosen.nextSlot : m), 0n);
    return committed.every((c) => c === top);
  }

  private faultStep(): void {
    const f = this.faults;
    const o = this.opts;
    // Never more than n - q acceptors down at once (a corrupted one stays down for good; one that
    // rejoins votes only once caught up, so it counts as down): the nemesis tests safety under
    // faults the protocol tolerates, and liveness once they stop.
    const down = this.acceptors.filter((a) => !a.running || a.rejoining);
    if (f.chance(o.acceptorCrashProbability) && down.length < this.quorum.n - this.quorum.q) {
      const up = this.acceptors.filter((a) => a.running);
      const victim = up[f.int(0, up.length)] as SimAcceptor;
      const powerLoss = f.chance(0.5);
      const corrupt = this.counts.corruptions === 0 && this.quorum.n - this.quorum.q >= 2 && f.chance(o.corruptionProbability);
      this.crashAcceptor(victim, powerLoss, corrupt);
    }
    const restartable = down.filter((a) => !a.running && a.refusedToStart === undefined);
    if (restartable.length > 0 && f.chance(0.1)) {
      const restarted = restartable[f.int(0, restartable.length)] as SimAcceptor;
      restarted.start();
      if (this.dataFaults.chance(o.sourceUnloadedProbability)) {
        this.unloaded.add(restarted.nodeId);
        this.counts.sourcesUnloaded++;
      } else this.unloaded.delete(restarted.nodeId);
    }
    if (f.chance(o.proposerCrashProbability)) {
      const p = f.int(0, o.proposers);
      if (this.proposers[p]) this.crashProposer(p);
    }
    for (let p = 0; p < o.proposers; p++) if (!this.proposers[p] && f.chance(0.05)) this.startProposer(p, this.clockJump(p));
    if (f.chance(o.partitionProbability)) {
      this.net.partition(f.int(1, o.proposers + 1), f.int(0, o.acceptors));
      this.counts.partitions++;
    }
    if (this.net.partitions > 0 && f.chance(0.05)) this.net.healOne();
    if (f.chance(o.forgedMessageProbability)) this.forge();
    if (o.dataLossProbability > 0 && f.chance(o.dataLossProbability)) this.loseData();
    if (o.stateSnapshotDamageProbability > 0 && this.snapshotFaults.chance(o.stateSnapshotDamageProbability)) this.damageStateSnapshot();
  }

  /**
   * A state snapshot write of acceptor `nodeId` reached its renames: in the fault phase, with
   * stateSnapshotTornProbability, the acceptor is killed or loses power right between them (when
   * another acceptor may go down: at most n - q at once, as for every crash).
   */
  private maybeTearSnapshotWrite(nodeId: number, stop: () => void): void {
    const o = this.opts;
    if (!this.faultPhase || o.stateSnapshotTornProbability <= 0) return;
    const s = this.snapshotFaults;
    if (!s.chance(o.stateSnapshotTornProbability)) return;
    const down = this.acceptors.filter((a) => !a.running || a.rejoining);
    const victim = this.acceptors[nodeId] as SimAcceptor;
    if (down.length >= this.quorum.n - this.quorum.q || !victim.running) return;
    stop();
    this.crashAcceptor(victim, s.chance(0.5), false, s);
    this.counts.snapshotWritesTorn++;
  }

  /**
   * One state snapshot file of a random acceptor (the latest or the previous) is damaged on its
   * disk, when both of its files are there and whole: the single damaged file the two are kept for.
   */
  private damageStateSnapshot(): void {
    const s = this.snapshotFaults;
    const victim = this.acceptors[s.int(0, this.acceptors.length)] as SimAcceptor;
    const generation = s.chance(0.5) ? 'latest' : 'previous';
    const files = victim.disk.stateSnapshots;
    if (!files.latest || !files.previous || files.latest.damaged || files.previous.damaged) return;
    if (victim.disk.damageStateSnapshot(generation)) this.counts.snapshotsDamaged++;
  }

  /**
   * An acceptor's disk is lost and it rejoins as npm run rejoin does it: every proposer is
   * stopped, the floor is read from a quorum of the other acceptors that run and are not
   * rejoining themselves (the proposers' window as the margin), and the acceptor restarts on an
   * empty disk under it (later, as restarts come). Skipped when too few others could answer.
   */
  private loseData(): void {
    const f = this.faults;
    // As for crashes: at most n - q acceptors down or rejoining, so a quorum votes while it catches up.
    const down = this.acceptors.filter((a) => !a.running || a.rejoining);
    const candidates = this.acceptors.filter((a) => (a.running && !a.rejoining) || a.refusedToStart !== undefined);
    if (candidates.length === 0) return;
    const victim = candidates[f.int(0, candidates.length)] as SimAcceptor;
    if (victim.running && down.length >= this.quorum.n - this.quorum.q) return;
    const others = this.acceptors.filter((a) => a !== victim && a.running && !a.rejoining);
    if (others.length < this.quorum.q) return;
    for (let p = 0; p < this.opts.proposers; p++) if (this.proposers[p]) this.crashProposer(p);
    // Exactly a quorum of them, drawn at random (the tool counts every one that answers; fewer
    // is the harder case for the floor).
    for (let i = others.length - 1; i > 0; i--) {
      const j = f.int(0, i + 1);
      [others[i], others[j]] = [others[j], others[i]] as [SimAcceptor, SimAcceptor];
    }
    const reports = others.slice(0, this.quorum.q).flatMap((a) => (a.current ? [a.current.core.rejoinReport()] : []));
    const floor = rejoinFloorFrom(reports, this.quorum, BigInt(this.config.windowSlots));
    if ('problem' in floor) throw new Error(`assertion: a rejoin floor from ${reports.length} running acceptors: ${floor.problem}`);
    const incarnation = victim.incarnation;
    victim.loseData(this.opts.unsafeRejoin ? undefined : floor);
    for (const p of this.proposers) for (const l of p?.links ?? []) if (l.nodeId === victim.nodeId) l.acceptorCrashed(incarnation);
    this.counts.dataLosses++;
  }

  /** A restarted proposer's clock: forwards or backwards by up to 5 s, or exactly the last incarnation's first round. */
  private clockJump(p: number): bigint {
    const f = this.faults;
    if (f.chance(0.25) && (this.lastInitialRound[p] ?? 0n) > 0n) return (this.lastInitialRound[p] ?? 0n) - BigInt(Date.now());
    return BigInt(f.int(-5000, 5001));
  }

  private crashAcceptor(a: SimAcceptor, powerLoss: boolean, corrupt: boolean, f: SeededRandom = this.faults): void {
    const incarnation = a.incarnation;
    a.crash(powerLoss ? (unsynced) => f.int(0, unsynced + 1) : undefined, corrupt);
    this.counts.acceptorCrashes++;
    if (corrupt) this.counts.corruptions++;
    if (powerLoss) this.counts.powerLosses++;
    for (const p of this.proposers) for (const l of p?.links ?? []) if (l.nodeId === a.nodeId) l.acceptorCrashed(incarnation);
  }

  /** Proposer runs started: each run's origin is unique (drawn from no random stream, so that seeds keep their runs). */
  private proposerRuns = 0;

  private startProposer(p: number, clockJumpMs: bigint): void {
    const id = p + 1;
    const links = this.acceptors.map((a) => new SimAcceptorLink(id, a, this.net, { requestDeadlineMs: this.config.requestDeadlineMs, inFlightMax: this.config.inFlightPerAcceptor }));
    const initialRound = BigInt(Date.now()) + clockJumpMs;
    const r = this.rng.fork(`proposer-${id}-${initialRound}`);
    const { node, chosen } = assembleProposer(
      { ...this.config, id },
      { links, initialRound: initialRound > 0n ? initialRound : 1n, random: () => r.next(), origin: (BigInt(++this.proposerRuns) << 32n) | BigInt(id), unsafeNoSessions: this.opts.unsafeNoSessions, unsafeForgeCertificates: this.opts.unsafeForgeCertificates, logger: this.logger.child({ proposer: id }) },
    );
    node.start();
    this.proposers[p] = { node, chosen, links, initialRound };
    this.lastInitialRound[p] = initialRound;
  }

  /** kill -9 of a proposer: it keeps nothing; its clients hear UNAVAILABLE and retry elsewhere. */
  private crashProposer(p: number): void {
    this.proposers[p]?.node.stop();
    this.proposers[p] = undefined;
    this.counts.proposerCrashes++;
  }

  private heal(): void {
    this.faultPhase = false;
    this.net.heal();
    this.unloaded.clear();
    for (const a of this.acceptors) a.start();
    for (let p = 0; p < this.opts.proposers; p++) if (!this.proposers[p]) this.startProposer(p, this.clockJump(p));
  }

  /** A message no proposer sent: it must be refused, change nothing, and trip no assertion. */
  private forge(): void {
    const f = this.faults;
    const target = this.acceptors[f.int(0, this.acceptors.length)] as SimAcceptor;
    if (!target.running) return;
    const messages = forgedMessages(this.opts.proposers);
    const m = messages[f.int(0, messages.length)] as (typeof messages)[number];
    this.counts.forgedMessages++;
    const sent = m.kind === 'prepare' ? target.prepare(m.request) : target.accept(m.request);
    sent.then(
      () => !this.ended && this.violations.push(`forged message "${m.name}" to acceptor ${target.nodeId} was answered, not refused`),
      (e: unknown) => {
        if (!(e instanceof GrpcError) || (e.code !== status.INVALID_ARGUMENT && e.code !== status.UNAVAILABLE && e.code !== status.INTERNAL)) {
          this.violations.push(`forged message "${m.name}" to acceptor ${target.nodeId} tripped ${e instanceof Error ? e.message : String(e)}`);
        }
      },
    );
  }

  /** Clients: each sends its commands one at a time, retrying with the same id through any proposer. */
  private startClients(): Promise<void> {
    const runs: Promise<void>[] = [];
    for (let c = 0; c < this.opts.clients; c++) {
      const r = this.rng.fork(`client-${c}`);
      runs.push(this.client(c, r));
    }
    return Promise.all(runs).then(() => undefined);
  }

  /**
   * A client's command: opaque bytes, or a Monster Harmonic proposal with claims on one or two
   * sources, disputed (refused by some of those sources' acceptors) with claimRefusalProbability.
   */
  private commandOf(id: string, proposalNumber: number, r: SeededRandom): { command: Command; refusedBy?: Set<number> } {
    // Drawn first, so that with claims off a seed runs as it did before claims were simulated.
    const data = new Uint8Array(r.int(8, 64)).map(() => r.int(0, 256));
    if (!r.chance(this.opts.claimsProbability)) return { command: { clientRequestId: id, contentType: 'application/octet-stream', data } };
    const sources = [...new Set([r.int(0, 10), r.int(0, 10)].slice(0, r.int(1, 3)))];
    const claims = sources.map((source) => ({ source, label: `${r.int(11, 500)}.a${r.int(1, 5)}`, field: 'jinv', claimedValue: String(r.int(-1000, 1000)) }));
    const leaderboard = [{ framework: `f${r.int(0, 5)}`, score: `${r.int(1, 100)}.5`, pricePerPoint: '0.01', bid: '1', ask: '2' }];
    const value = encodeProposalValue(buildProposal({ proposalNumber: BigInt(proposalNumber), proposerId: 1, leaderboard, claims }));
    const command = { clientRequestId: id, contentType: value.contentType, data: new Uint8Array(value.data) };
    const holders = sources.flatMap((s) => sourceHolders(s, this.opts.acceptors));
    if (holders.length === 0 || !r.chance(this.opts.claimRefusalProbability)) return { command };
    const refusedBy = new Set<number>();
    const count = r.int(1, holders.length + 1);
    while (refusedBy.size < count) refusedBy.add(holders[r.int(0, holders.length)] as number);
    return { command, refusedBy };
  }

  /** Whether enough of every claimed source's acceptors can still start and would verify the command's claims. */
  private certifiable(command: Command): boolean {
    const refusedBy = this.disputed.get(command.clientRequestId);
    if (!isHarmonicContentType(command.contentType)) return true;
    const checked = validateProposalValue(command.contentType, command.data);
    if (!checked.ok) return true;
    return sourcesToCertify(checked.proposal, this.opts.acceptors).every((source) => {
      const holders = sourceHolders(source, this.opts.acceptors);
      const verifiers = holders.filter((id) => this.acceptors[id]?.refusedToStart === undefined && !refusedBy?.has(id));
      return verifiers.length >= verificationsNeeded(holders.length);
    });
  }

  private async client(c: number, r: SeededRandom): Promise<void> {
    for (let i = 0; i < this.opts.commandsPerClient; i++) {
      const id = `client-${c}-${i}`;
      const { command, refusedBy } = this.commandOf(id, c * 1000 + i, r);
      if (refusedBy) this.disputed.set(id, refusedBy);
      const record: ClientRecord = { id, contentType: command.contentType, data: command.data, acknowledgedSlot: undefined, refused: false, ...(refusedBy ? { refusedBy } : {}) };
      this.clients.push(record);
      const reused = this.opts.reusedIdProbability > 0 && !isHarmonicContentType(command.contentType) && r.chance(this.opts.reusedIdProbability);
      if (reused) void this.otherBytes(command, r.fork(`other bytes of ${id}`));
      await this.sendUntilAnswered(command, record, r);
      if (record.acknowledgedSlot !== undefined && this.opts.readAfterWriteProbability > 0 && r.chance(this.opts.readAfterWriteProbability)) {
        await this.readAfterWrite(record, r.fork(`read after ${id}`));
      }
      await sleep(r.int(0, 30));
      if (this.ended) return;
    }
  }

  /**
   * A linearizable read at a random live proposer after `record`'s write was acknowledged: once
   * its barrier passed, the proposer's applied state must hold every write acknowledged before the
   * read began, each id at the slot its answer named. Retried a few times, as a client would; a
   * proposer that crashed during the read is not checked.
   */
  private async readAfterWrite(record: ClientRecord, r: SeededRandom): Promise<void> {
    const before = this.clients.filter((c) => c.acknowledgedSlot !== undefined && c.alreadyExists !== true);
    const highest = before.reduce((m, c) => ((c.acknowledgedSlot as bigint) > m ? (c.acknowledgedSlot as bigint) : m), -1n);
    for (let attempt = 0; attempt < READ_AFTER_WRITE_ATTEMPTS && !this.ended; attempt++) {
      const live = this.proposers.flatMap((p, i) => (p ? [{ p, i }] : []));
      const pick = live.length === 0 ? undefined : live[r.int(0, live.length)];
      if (pick === undefined) {
        await sleep(50);
        continue;
      }
      const { p, i } = pick;
      if (!this.opts.unsafeReadWithoutBarrier) {
        try {
          await p.node.readBarrier(READ_AFTER_WRITE_DEADLINE_MS);
        } catch {
          await sleep(r.int(10, 100));
          continue;
        }
      }
      if (this.proposers[i] !== p) return;
      this.readsAfterWrite++;
      const log = p.chosen;
      const at = `a linearizable read at proposer ${i + 1} after ${record.id} was acknowledged at slot ${record.acknowledgedSlot}`;
      if (log.nextSlot <= highest) {
        this.violations.push(`linearizability: ${at} reflects slots below ${log.nextSlot} only, but slot ${highest} was acknowledged before it began`);
        return;
      }
      for (const c of before) {
        const took = log.result(c.id);
        if (took === undefined) this.violations.push(`linearizability: ${at} knows nothing of ${c.id}, acknowledged at slot ${c.acknowledgedSlot} before it began`);
        else if (took.slot !== c.acknowledgedSlot) this.violations.push(`linearizability: ${at} has ${c.id} take effect at slot ${took.slot}, but its answer named slot ${c.acknowledgedSlot}`);
        else continue;
        return;
      }
      return;
    }
  }

  /** Another client with the same id and other bytes, sent at once (see reusedIdProbability). */
  private async otherBytes(command: Command, r: SeededRandom): Promise<void> {
    const other: Command = { ...command, data: Buffer.concat([Buffer.from(command.data), Buffer.from(' (other bytes)')]) };
    const record: ClientRecord = { id: other.clientRequestId, contentType: other.contentType, data: other.data, acknowledgedSlot: undefined, refused: false };
    this.clients.push(record);
    await this.sendUntilAnswered(other, record, r);
  }

  /** Sends the command through a random live proposer until it is answered (or refused for good). */
  private async sendUntilAnswered(command: Command, record: ClientRecord, r: SeededRandom): Promise<void> {
    {
      let lastError: GrpcError | undefined;
      for (;;) {
        if (this.ended) return;
        const live = this.proposers.flatMap((p) => (p ? [p] : []));
        if (live.length === 0) {
          await sleep(50);
          continue;
        }
        const p = live[r.int(0, live.length)] as ProposerIncarnation;
        let outcome: ProposeOutcome | undefined;
        try {
          outcome = await withTimeout(p.node.propose(command), CLIENT_TIMEOUT_MS);
        } catch (e) {
          if (e instanceof GrpcError && e.code === status.FAILED_PRECONDITION) {
            record.refused = true;
            break;
          }
          if (e instanceof GrpcError && e.code === status.ALREADY_EXISTS) {
            // The id took effect (or is in flight) with other bytes: final for this client.
            record.alreadyExists = true;
            break;
          }
          lastError = e instanceof GrpcError ? e : undefined;
        }
        if (outcome === undefined) {
          const certifierSaysRetry = lastError?.code === status.UNAVAILABLE && /its claims on source \d+ need/.test(lastError.message);
          if (!this.faultPhase && certifierSaysRetry && !this.certifiable(command)) {
            // Its claims need acceptors that will never start again: UNAVAILABLE for good (the
            // proposer cannot tell a damaged acceptor from a slow one; an operator can).
            record.unverifiable = true;
            break;
          }
          await sleep(r.int(10, 200));
          continue;
        }
        if (record.acknowledgedSlot !== undefined && record.acknowledgedSlot !== outcome.slot) {
          this.violations.push(`${record.id}: answered with slot ${record.acknowledgedSlot}, then with slot ${outcome.slot}`);
        }
        record.acknowledgedSlot = outcome.slot;
        break;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
