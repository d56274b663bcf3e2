import { status } from '@grpc/grpc-js';
import {
  AcceptorNode,
  HistoryRetention,
  installStateSnapshot,
  joinChosenHistory,
  KeptStateSnapshots,
  learnReply,
  MemoryDisk,
  MemoryStorage,
  type MemoryStorageOptions,
  restoreAgreedState,
  StateApplier,
} from '@paxos/acceptor-node';
import { AcceptorCore, type Ballot, type ChosenRecord, type Command, DEFAULT_LIMITS, type Quorum, type RejoinFloor, type SlotValue } from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import type { AcceptRequest, AcceptResponse, Command as WireCommand, LearnResponse, PrepareRequest, PrepareResponse, StatusResponse, Verdict, VerifyClaimsResponse } from '@paxos/proto';
import { sourceOfAcceptor, validateProposalValue, valueVoteProblem } from '@paxos/proposal';
import type { StateSnapshotBytes } from '@paxos/read-service';
import { type AgreedState, REGISTRY_DEFAULTS } from '@paxos/state-machine';
import { acceptReplyToWire, acceptRequestFromWire, ballotToWire, commandFromWire, prepareFromWire, prepareReplyToWire, WireError } from '@paxos/wire';

export interface SimAcceptorOptions {
  readonly nodeId: number;
  readonly quorum: Quorum;
  readonly proposerIds: ReadonlySet<number>;
  readonly storage: MemoryStorageOptions;
  /** This acceptor's data's verdict on a command's claims about its source (VerifyClaims). */
  readonly claimsVerdict: (command: Command) => { verdict: Verdict; reason: string };
  readonly random: () => number;
  readonly logger: Logger;
  /** State snapshots every this many applied slots (the acceptor's --state-snapshot-every); none when absent. */
  readonly stateSnapshotEverySlots?: number;
  /** History dropped below the snapshots but for this many newest slots (--history-retain-slots); all kept when absent. */
  readonly historyRetainSlots?: bigint;
}

/** What an acceptor incarnation runs beside its node: the agreed state, its snapshots and the history's retention. */
interface AgreedStateParts {
  readonly applier: StateApplier;
  /** The snapshot files as this incarnation last saw them: what it gives and reports. */
  readonly snapshots: KeptStateSnapshots;
  readonly retention: HistoryRetention;
  /** Set while an InstallStateSnapshot runs (one at a time, as the service holds it). */
  installing: boolean;
}

/**
 * One acceptor process in the node-level simulator: the real AcceptorNode and core over a
 * MemoryDisk that outlives its incarnations. A request arrives as the wire message a proposer
 * sent and is decoded, handled and answered by the same functions the gRPC service uses.
 */
export class SimAcceptor {
  /** Outlives incarnations; replaced by an empty one when the disk is lost (loseData). */
  disk = new MemoryDisk();
  /** The floor it rejoined under after losing its data (kept, as node.json keeps it). */
  private rejoinFloor: RejoinFloor | undefined;
  private node: AcceptorNode<MemoryStorage> | undefined;
  private storage: MemoryStorage | undefined;
  private agreed: AgreedStateParts | undefined;
  /** Chosen records this acceptor held and released (retention, installs, a power loss's unsynced tail, a lost disk), on every disk it had: the checker holds them too. */
  readonly released: ChosenRecord[] = [];
  /** Changes on every start and crash: an answer from an older incarnation is never delivered. */
  incarnation = 0;
  /** Set when a restart refused to start (a damaged disk): the node stays down. */
  refusedToStart: string | undefined;

  constructor(private readonly opts: SimAcceptorOptions) {
    this.start();
  }

  get nodeId(): number {
    return this.opts.nodeId;
  }

  get running(): boolean {
    return this.node !== undefined;
  }

  /** The running node (the checker reads its core and history). */
  get current(): AcceptorNode<MemoryStorage> | undefined {
    return this.node;
  }

  /** Starts from what the disk holds, as main.ts does from the data dir. */
  start(): void {
    if (this.node || this.refusedToStart !== undefined) return;
    const storage = new MemoryStorage(this.disk, { ...this.opts.storage, released: (records) => this.released.push(...records) });
    const recovered = storage.recovered();
    const core = new AcceptorCore({
      limits: DEFAULT_LIMITS,
      validate: (value: SlotValue) => valueVoteProblem(value, this.opts.quorum.n),
      ...(recovered.snapshot ? { restored: recovered.snapshot } : {}),
      ...(this.rejoinFloor !== undefined ? { rejoin: this.rejoinFloor } : {}),
    });
    for (const change of recovered.changes) core.apply(change);
    try {
      joinChosenHistory(core, storage.history, this.opts.logger);
    } catch (e) {
      this.refusedToStart = (e as Error).message;
      storage.crash();
      return;
    }
    this.storage = storage;
    this.node = new AcceptorNode(core, storage, {
      nodeId: this.opts.nodeId,
      quorum: this.opts.quorum,
      proposerIds: this.opts.proposerIds,
      checkpointEveryRecords: 40,
      logger: this.opts.logger,
      onStorageFailure: () => undefined,
      onStorageRecovered: () => undefined,
      random: this.opts.random,
    });
    // As main.ts assembles them: the state restored from the snapshots, applied on as the history grows.
    const logger = this.opts.logger;
    const snapshots = new KeptStateSnapshots(storage.stateSnapshots);
    const retention = new HistoryRetention(storage.history, this.opts.historyRetainSlots, logger, snapshots);
    const every = this.opts.stateSnapshotEverySlots;
    const applier = new StateApplier(
      storage.history,
      restoreAgreedState(snapshots, storage.history, REGISTRY_DEFAULTS, logger),
      logger,
      every !== undefined ? { store: snapshots, everySlots: every, written: () => retention.snapshotWritten() } : undefined,
    );
    this.node.onChosenPrefix((records) => applier.appended(records));
    applier.catchUp();
    this.agreed = { applier, snapshots, retention, installing: false };
    this.incarnation++;
  }

  /** The running incarnation's agreed state, settled (the checker compares it), or why it has none. */
  appliedState(): { state: AgreedState } | { unavailable: string } | undefined {
    const a = this.agreed;
    if (!a) return undefined;
    a.applier.settle();
    return a.applier.hasState ? { state: a.applier.state } : { unavailable: a.applier.failure ?? 'no state' };
  }

  /**
   * kill -9 and, with `powerLoss`, the machine's power: the unsynced history tail may go too.
   * With `corrupt`, a bit of a synced record flips: the storage's CRC check refuses to start
   * (storage/recovery.ts; its tests flip every bit of a record), so this node stays down.
   */
  crash(powerLoss: ((unsynced: number) => number) | undefined, corrupt = false): void {
    if (!this.node) return;
    this.node.stop();
    void this.agreed?.applier.stop();
    this.agreed = undefined;
    this.storage?.crash();
    if (powerLoss) this.released.push(...this.disk.powerLoss(powerLoss));
    if (corrupt) this.refusedToStart = 'storage corruption: a synced record fails its CRC';
    this.node = undefined;
    this.storage = undefined;
    this.incarnation++;
  }

  /**
   * The disk is lost (a replaced disk, or one too damaged to start from): the node is down and
   * comes back on an empty disk under `floor` (npm run rejoin's), or as a new acceptor without
   * one (the negative control).
   */
  loseData(floor: RejoinFloor | undefined): void {
    this.crash(undefined);
    this.released.push(...this.disk.history);
    this.disk = new MemoryDisk();
    this.refusedToStart = undefined;
    this.rejoinFloor = floor;
  }

  /** Whether it runs as a rejoin that has not yet learned the chosen log up to its floor. */
  get rejoining(): boolean {
    return this.node?.core.rejoining === true;
  }

  async prepare(request: PrepareRequest): Promise<PrepareResponse> {
    const node = this.serving();
    const core = decode(() => prepareFromWire(request));
    return prepareReplyToWire(request.requestId, await node.handle(core));
  }

  async accept(request: AcceptRequest): Promise<AcceptResponse> {
    const node = this.serving();
    const { request: core, notices } = decode(() => acceptRequestFromWire(request));
    const reply = await node.handle(core, notices);
    // As the service does, only for a request the node answered.
    this.agreed?.retention.quorumCommittedIs(request.quorumCommittedIndex);
    return acceptReplyToWire(request.requestId, reply, node.core.committedIndex, node.storage.history.durableEnd);
  }

  learn(fromSlot: bigint, maxEntries: number): LearnResponse {
    return learnReply(this.serving(), { fromSlot, maxEntries }, this.agreed?.snapshots.slotToGive);
  }

  /** ReadService.GetStateSnapshot: the latest durable snapshot, or the previous one while the latest is damaged or missing. */
  stateSnapshot(): StateSnapshotBytes {
    this.serving();
    const read = (this.agreed as AgreedStateParts).snapshots.give();
    if ('missing' in read) throw new GrpcError(status.FAILED_PRECONDITION, `this acceptor has no state snapshot to give: ${read.missing}`);
    return read;
  }

  /** AcceptorService.InstallStateSnapshot, as snapshot-install.ts serves it: a configured proposer's ballot, one at a time. */
  async installStateSnapshot(ballot: Ballot, snapshot: StateSnapshotBytes): Promise<bigint> {
    const node = this.serving();
    const agreed = this.agreed as AgreedStateParts;
    node.checkProposerBallot(ballot);
    if (agreed.installing) throw new GrpcError(status.ABORTED, 'another state snapshot is being installed on this acceptor: try again when it is done');
    agreed.installing = true;
    try {
      return await installStateSnapshot({ node, applier: agreed.applier, registry: REGISTRY_DEFAULTS, logger: this.opts.logger }, snapshot);
    } finally {
      agreed.installing = false;
    }
  }

  verifyClaims(wire: WireCommand | undefined): VerifyClaimsResponse {
    this.serving();
    if (!wire?.value) throw new GrpcError(status.INVALID_ARGUMENT, 'command.value is missing');
    const checked = validateProposalValue(wire.value.contentType, wire.value.data);
    if (!checked.ok) throw new GrpcError(status.INVALID_ARGUMENT, checked.reason);
    return { acceptorId: this.opts.nodeId, source: sourceOfAcceptor(this.opts.nodeId), clusterSize: this.opts.quorum.n, ...this.opts.claimsVerdict(commandFromWire(wire, wire.value.data)) };
  }

  status(): StatusResponse {
    const node = this.serving();
    const q = this.opts.quorum;
    return {
      nodeId: this.opts.nodeId,
      promised: ballotToWire(node.core.promised),
      committedIndex: node.core.committedIndex,
      clusterSize: q.n,
      quorumSize: q.q,
      crashTolerance: q.n - q.q,
      byzantineTolerance: 0,
      uptimeMs: 0n,
      version: 'simulated',
      appliedSlot: this.agreed?.applier.appliedSlot ?? 0n,
      stateError: this.agreed?.applier.failure ?? '',
      rejoining: node.core.rejoining,
      rejoinCatchUpTo: node.core.rejoinCatchUpTo ?? 0n,
      stateSnapshotSlot: this.agreed?.snapshots.slotToGive ?? 0n,
    };
  }

  private serving(): AcceptorNode<MemoryStorage> {
    if (!this.node) throw new GrpcError(status.UNAVAILABLE, `acceptor ${this.opts.nodeId} is down`);
    return this.node;
  }
}

/** Malformed input answers INVALID_ARGUMENT, as the service does. */
function decode<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof WireError) throw new GrpcError(status.INVALID_ARGUMENT, e.message);
    throw e;
  }
}
