// One chaos run of real processes: a network, retrying clients, the nemesis, then the heal and
// the check of the history (history-check.ts).
import { Metadata, status } from '@grpc/grpc-js';
import { type ChosenEntry, SeededRandom } from '@paxos/consensus-core';
import { AcceptorServiceClient, type GetStateSnapshotResponse, type LogEntry, type ReadLogResponse, ReadServiceClient } from '@paxos/proto';
import { StateSnapshotAssembler } from '@paxos/read-service';
import { type AgreedStateSnapshot, decodeStateSnapshot } from '@paxos/state-machine';
import { freePorts, releasePorts, TestCluster, textValue } from '@paxos/test-cluster';
import { ballotFromWire, belowHistoryOf, slotValueFromWire } from '@paxos/wire';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHistory, type NodeSlot, type OutOfRange, slotDigest, type Violation } from './history-check';
import { Nemesis, type FaultCounts, type NemesisExtras } from './nemesis';
import { PartitionProxies } from './partition-proxy';
import { type ClientApi, type ClientLedger, runClient } from './retrying-clients';
import { type ReadLedger, readAfterHeal, runReader } from './linearizable-reader';
import { deadlineAfter, ensureNetworkCertificates } from '@paxos/grpc-kit';

export interface ChaosOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly acceptors: number;
  readonly proposers: number;
  readonly clients: number;
  readonly dir: string;
  /** Flags given to every acceptor (--state-snapshot-every, --history-retain-slots, --history-segment-bytes). */
  readonly acceptorArgs?: readonly string[];
  /** Negative control: the proposers run without client sessions. */
  readonly unsafeNoSessions: boolean;
  /** Faults a default run does not inject (all off by default). */
  readonly partitions?: boolean;
  readonly longPauses?: boolean;
  readonly fileEventKills?: boolean;
  /** The data dir of acceptor 0 is a tmpfs of this many MiB, filled now and then and made read-only for a restart (needs root). */
  readonly diskFaultsMiB?: number;
  readonly clockJumps?: boolean;
  /** A second process with proposer 1's identity, which the clients use too. */
  readonly twinProposer?: boolean;
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly seconds: number;
  readonly acceptors: number;
  readonly proposers: number;
  readonly clients: number;
  readonly sent: number;
  readonly acked: number;
  readonly attempts: number;
  readonly retries: number;
  readonly faults: FaultCounts;
  /** Linearizable reads through the proposers during the faults, and how many of them failed (retryable). */
  readonly reads: number;
  readonly failedReads: number;
  /** The failed reads by gRPC status (UNAVAILABLE while a proposer is down, DEADLINE_EXCEEDED while it is paused). */
  readonly failedReadsBy: Readonly<Record<string, number>>;
  /** The first few distinct messages of each status among the failed reads. */
  readonly failedReadSamples: Readonly<Record<string, readonly string[]>>;
  readonly slots: number;
  /** Slots no node serves any more (dropped under retention), covered by a state snapshot. */
  readonly slotsInSnapshots: number;
  /** Acceptors' state snapshots compared with the state the log gives at their slot. */
  readonly snapshotsChecked: number;
  readonly commands: number;
  readonly duplicateCopies: number;
  readonly levelAfterHealMs: number | null;
  readonly violations: number;
  readonly dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEVEL_TIMEOUT_MS = 60_000;
const CLIENT_GRACE_MS = 30_000;
/** Clients that only read (linearizable, through any proposer) while the faults go on. */
const READERS = 2;

function unary<Req, Res>(address: string, make: (a: string) => { close(): void }, call: (c: never, r: Req, m: Metadata, o: object, cb: (e: Error | null, r: Res) => void) => void, req: Req): Promise<Res> {
  const client = make(address);
  return new Promise((resolve, reject) =>
    call(client as never, req, new Metadata(), { deadline: deadlineAfter(5000) }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

const readLogPage = (address: string, fromSlot: bigint) =>
  unary<{ fromSlot: bigint; maxEntries: number }, ReadLogResponse>(
    address,
    (a) => new ReadServiceClient(a, TestCluster.credentialsFor(a), TestCluster.channelOptionsFor(a)),
    (c: ReadServiceClient, r, m, o, cb) => c.readLog(r, m, o, cb),
    { fromSlot, maxEntries: 1024 },
  );

const committedIndexOf = (address: string) =>
  unary<object, { committedIndex: bigint }>(
    address,
    (a) => new AcceptorServiceClient(a, TestCluster.credentialsFor(a), TestCluster.channelOptionsFor(a)),
    (c: AcceptorServiceClient, _r, m, o, cb) => c.status({}, m, o, cb),
    {},
  ).then((s) => s.committedIndex);

/** The slots an OUT_OF_RANGE answer's trailers name: where the node's history goes on, and the snapshot that covers the slot asked. */
function outOfRangeOf(node: string, from: bigint, trailers: Metadata | undefined): OutOfRange | undefined {
  const below = belowHistoryOf(trailers);
  if (below?.stateSnapshotSlot === undefined) return undefined;
  return { node, from, keptFrom: below.historyFirstSlot, snapshotSlot: below.stateSnapshotSlot };
}

/**
 * A node's log from slot 0 up to `upTo`, as entries and as the node's view of each slot; slots it
 * dropped under retention are skipped, with the OUT_OF_RANGE answer that named their snapshot.
 */
async function readWholeLog(node: string, address: string, upTo: bigint): Promise<{ entries: ChosenEntry[]; view: NodeSlot[]; outOfRange: OutOfRange[] }> {
  const entries: ChosenEntry[] = [];
  const view: NodeSlot[] = [];
  const outOfRange: OutOfRange[] = [];
  const until = performance.now() + LEVEL_TIMEOUT_MS;
  let next = 0n;
  while (next < upTo && performance.now() < until) {
    let page: ReadLogResponse;
    try {
      page = await readLogPage(address, next);
    } catch (e) {
      const err = e as { code?: number; metadata?: Metadata; message: string };
      const dropped = err.code === status.OUT_OF_RANGE ? outOfRangeOf(node, next, err.metadata) : undefined;
      if (dropped === undefined || dropped.keptFrom <= next) throw new Error(`${node}: ReadLog from slot ${next}: ${err.message}`);
      outOfRange.push(dropped);
      next = dropped.keptFrom;
      continue;
    }
    if (page.entries.length === 0) {
      await sleep(100); // the node has not applied that far yet
      continue;
    }
    for (const e of page.entries) {
      if (e.slot >= upTo) break;
      next = e.slot + 1n;
      const entry = toEntry(e);
      entries.push(entry);
      view.push({ slot: e.slot, valueDigest: slotDigest(entry), effects: e.outcomes.filter((o) => !o.forgotten).map((o) => ({ id: o.clientRequestId, tookEffect: !o.duplicate })) });
    }
  }
  return { entries, view, outOfRange };
}

/** An acceptor's latest durable state snapshot (GetStateSnapshot); undefined when it has none yet. */
function stateSnapshotOf(address: string): Promise<AgreedStateSnapshot | undefined> {
  const client = new ReadServiceClient(address, TestCluster.credentialsFor(address), TestCluster.channelOptionsFor(address));
  const assembler = new StateSnapshotAssembler();
  return new Promise<AgreedStateSnapshot | undefined>((resolve, reject) => {
    const call = client.getStateSnapshot({}, new Metadata(), { deadline: deadlineAfter(30_000) });
    call.on('data', (m: GetStateSnapshotResponse) => assembler.add(m.chunk));
    call.on('error', (e: { code?: number }) => (e.code === status.FAILED_PRECONDITION ? resolve(undefined) : reject(e)));
    call.on('end', () => {
      try {
        const bytes = assembler.finish();
        const snapshot = decodeStateSnapshot(bytes.body);
        if (snapshot.slot !== bytes.slot) throw new Error(`a snapshot named slot ${bytes.slot} holds the state at slot ${snapshot.slot}`);
        resolve(snapshot);
      } catch (e) {
        reject(e);
      }
    });
  }).finally(() => client.close());
}

const toEntry = (e: LogEntry): ChosenEntry => ({ slot: e.slot, ballot: ballotFromWire(e.ballot), value: slotValueFromWire(e.value) });

/**
 * One proposal through proposer `id`, sent again with the same id after a retryable answer (as a
 * client would) until `withinMs` passes: a proposer just resumed or restarted answers UNAVAILABLE
 * at once while its links to the acceptors reconnect.
 */
export async function proposeUntilChosen(cluster: Pick<TestCluster, 'propose'>, id: number, clientRequestId: string, withinMs: number): Promise<{ slot: bigint }> {
  const until = performance.now() + withinMs;
  for (;;) {
    const left = Math.round(until - performance.now());
    try {
      return await cluster.propose(id, clientRequestId, textValue('after the heal'), Math.max(left, 1));
    } catch (e) {
      const code = (e as { code?: number }).code;
      if ((code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) || performance.now() + 200 >= until) throw e;
      await sleep(200);
    }
  }
}

/** The report of a run that ended without a history to check (no liveness after the heal). */
function emptyReport(o: ChaosOptions): ChaosReport {
  return {
    seed: o.seed,
    seconds: o.seconds,
    acceptors: o.acceptors,
    proposers: o.proposers,
    clients: o.clients,
    sent: 0,
    acked: 0,
    attempts: 0,
    retries: 0,
    faults: { proposerKills: 0, proposerPauses: 0, acceptorKills: 0, acceptorPauses: 0 },
    reads: 0,
    failedReads: 0,
    failedReadsBy: {},
    failedReadSamples: {},
    slots: 0,
    slotsInSnapshots: 0,
    snapshotsChecked: 0,
    commands: 0,
    duplicateCopies: 0,
    levelAfterHealMs: null,
    violations: 1,
    dir: o.dir,
  };
}

/** The proposer key of proposer 1's twin (--twin-proposer): another process with identity 1. */
const TWIN_KEY = 101;

/** A preload that sets a process's wall clock (Date) to PAXOS_CHAOS_CLOCK_AT, held there for its first 3 s, then moving on. */
const CLOCK_PRELOAD = `'use strict';
const at = Number(process.env.PAXOS_CHAOS_CLOCK_AT);
if (Number.isFinite(at)) {
  const RealDate = Date;
  const start = RealDate.now();
  const now = () => at + Math.max(0, RealDate.now() - start - 3000);
  // A proxy, not a subclass: Date() called without new (a string of the time) works as before.
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget),
    apply: () => new RealDate(now()).toString(),
    get: (target, prop, receiver) => (prop === 'now' ? now : Reflect.get(target, prop, receiver)),
  });
}
`;

export async function runChaos(o: ChaosOptions): Promise<{ report: ChaosReport; violations: Violation[] }> {
  mkdirSync(o.dir, { recursive: true });
  const random = new SeededRandom(o.seed);
  const diskAcceptor = 0;
  const dataDirOf = (i: number) => join(o.dir, `node_${i}.data`);
  let mounted: string | undefined;
  if (o.diskFaultsMiB !== undefined) {
    mkdirSync(dataDirOf(diskAcceptor), { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${o.diskFaultsMiB}m`, 'tmpfs', dataDirOf(diskAcceptor)]);
    mounted = dataDirOf(diskAcceptor);
  }
  const clockPreload = join(o.dir, 'clock-preload.cjs');
  if (o.clockJumps) writeFileSync(clockPreload, CLOCK_PRELOAD);
  let cluster: TestCluster;
  try {
    cluster = await TestCluster.start({ acceptors: o.acceptors, dir: o.dir, extraAcceptorArgs: o.acceptorArgs ?? [], ...(o.unsafeNoSessions ? { proposerEnv: { PAXOS_UNSAFE_NO_SESSIONS: '1' } } : {}) });
  } catch (e) {
    if (mounted !== undefined) execFileSync('umount', ['-l', mounted]);
    throw e;
  }
  const proposerIds = [...Array.from({ length: o.proposers }, (_, i) => i + 1), ...(o.twinProposer ? [TWIN_KEY] : [])];
  const proxyPorts: number[] = [];
  let proxies: PartitionProxies | undefined;
  try {
    if (o.partitions) {
      proxies = await PartitionProxies.start(proposerIds, cluster.acceptorPorts, async () => {
        const [p] = await freePorts(1);
        proxyPorts.push(p as number);
        return p as number;
      });
    }
    const startProposer = (key: number, clockAt?: number) =>
      cluster.startProposer(key, [], proxies?.acceptorsFor(key) ?? cluster.acceptorAddresses, {
        ...(key === TWIN_KEY ? { identity: 1 } : {}),
        ...(clockAt !== undefined ? { env: { NODE_OPTIONS: `--require ${JSON.stringify(clockPreload)}`, PAXOS_CHAOS_CLOCK_AT: String(clockAt) } } : {}),
      });
    const extras: NemesisExtras = {
      ...(proxies ? { partitions: proxies } : {}),
      ...(o.longPauses ? { longPauses: true } : {}),
      ...(o.fileEventKills ? { fileEventKills: true } : {}),
      ...(mounted !== undefined ? { diskFaults: { acceptor: diskAcceptor, dataDir: mounted } } : {}),
      ...(o.clockJumps ? { clockJumps: true } : {}),
      startProposer,
    };
    // Every proposer's certificate before the nemesis reads the clock: a proposer whose clock is set back never starts before its certificate.
    if (cluster.tlsDir !== undefined) ensureNetworkCertificates(cluster.tlsDir, proposerIds.map((k) => `proposer-${k === TWIN_KEY ? 1 : k}`));
    const nemesis = new Nemesis(cluster, proposerIds, random.fork('nemesis'), o.log, extras);
    for (const id of proposerIds) await startProposer(id, nemesis.clockFor(id));
    nemesis.watchFiles(dataDirOf);
    const addresses = proposerIds.map((id) => cluster.proposerAddress(id));
    const ledger: ClientLedger = { sent: new Set(), acked: new Map(), conflicts: [], refused: [], attempts: 0, retries: 0 };
    const chaosEnds = performance.now() + o.seconds * 1000;
    const apis: ClientApi[] = ['unary', 'stream', 'bulk'];
    const clients = Array.from({ length: o.clients }, (_, k) =>
      runClient(
        { tag: `c${k}`, api: apis[k % apis.length] as ClientApi, proposers: addresses, random: random.fork(`client ${k}`), ledger, batch: 8 },
        () => performance.now() >= chaosEnds,
        () => chaosEnds + CLIENT_GRACE_MS,
      ),
    );
    const reads: ReadLedger = { reads: 0, failed: 0, failedBy: {}, failedSamples: {}, stale: [] };
    const readers = Array.from({ length: READERS }, (_, k) =>
      runReader({ proposers: addresses, random: random.fork(`reader ${k}`), highestAcked: () => ledger.highestAcked, reads }, () => performance.now() >= chaosEnds),
    );
    await nemesis.run(() => performance.now() >= chaosEnds);
    await nemesis.heal();
    o.log('healed: every node is up');
    await Promise.all(clients);
    await Promise.all(readers);
    // Liveness after the heal, and the slot every acceptor must then reach.
    ledger.sent.add('after-heal');
    let live: { slot: bigint };
    try {
      live = await proposeUntilChosen(cluster, 1, 'after-heal', 30_000);
      ledger.acked.set('after-heal', live.slot);
    } catch (e) {
      // What the nodes say, to tell a stuck proposer from a network that cannot choose.
      const indexes = await Promise.all(cluster.acceptorAddresses.map((a) => committedIndexOf(a).then(String, (x: Error) => x.message.slice(0, 60))));
      const others: string[] = [];
      for (const id of proposerIds.slice(1)) {
        others.push(
          await cluster.propose(id, `after-heal-via-${id}`, textValue('after the heal'), 10_000).then(
            (r) => `proposer ${id} chose slot ${r.slot}`,
            (x: Error) => `proposer ${id}: ${x.message.slice(0, 200)}`,
          ),
        );
      }
      o.log(`after the heal: acceptors' committed indexes ${indexes.join(', ')}; ${others.join('; ') || 'no other proposer'}`);
      const violation: Violation = { kind: 'no-liveness', detail: `a proposal after the heal, sent again after each retryable answer, was not chosen within 30 s: ${(e as Error).message} (acceptors' committed indexes ${indexes.join(', ')}; ${others.join('; ') || 'no other proposer'})` };
      return { report: emptyReport(o), violations: [violation] };
    }
    const healedAt = performance.now();
    let levelAfterHealMs: number | null = null;
    while (performance.now() - healedAt < LEVEL_TIMEOUT_MS) {
      const indexes = await Promise.all(cluster.acceptorAddresses.map((a) => committedIndexOf(a).catch(() => -1n)));
      if (indexes.every((x) => x > live.slot)) {
        levelAfterHealMs = Math.round(performance.now() - healedAt);
        break;
      }
      await sleep(50);
    }
    // Every proposer serves after the heal (one restarted past dropped history installs a snapshot first).
    const servesAfterHeal: Violation[] = [];
    for (const a of addresses) {
      const problem = await readAfterHeal(a, live.slot, 30_000);
      if (problem !== undefined) servesAfterHeal.push({ kind: problem.includes('applied_slot') ? 'stale-read' : 'no-liveness', detail: problem });
    }
    const upTo = live.slot + 1n;
    // Every node's log (what a node dropped under retention, another may still serve), and every acceptor's snapshot.
    const logs = [{ node: 'proposer 1', ...(await readWholeLog('proposer 1', addresses[0] as string, upTo)) }];
    for (const [i, a] of cluster.acceptorAddresses.entries()) logs.push({ node: `acceptor ${i}`, ...(await readWholeLog(`acceptor ${i}`, a, upTo)) });
    const snapshots = new Map<string, AgreedStateSnapshot>();
    for (const [i, a] of cluster.acceptorAddresses.entries()) {
      const s = await stateSnapshotOf(a);
      if (s !== undefined) snapshots.set(`acceptor ${i}`, s);
    }
    const served = new Map<bigint, ChosenEntry>();
    for (const l of logs) for (const e of l.entries) if (!served.has(e.slot)) served.set(e.slot, e);
    const log = [...served.values()].sort((a, b) => (a.slot < b.slot ? -1 : 1));
    const nodes = new Map<string, NodeSlot[]>(logs.map((l) => [l.node, l.view]));
    const { violations, figures } = checkHistory({ sent: ledger.sent, acked: ledger.acked, log, upTo, nodes, outOfRange: logs.flatMap((l) => l.outOfRange), snapshots });
    for (const c of ledger.conflicts) violations.push({ kind: 'ack-not-at-first-slot', detail: c });
    for (const r of ledger.refused) violations.push({ kind: 'unexpected-refusal', detail: r });
    for (const r of reads.stale) violations.push({ kind: 'stale-read', detail: r });
    violations.push(...servesAfterHeal);
    const proposer = logs[0] as (typeof logs)[number];
    const proposerCovered = proposer.entries.length + proposer.outOfRange.reduce((n, r) => n + Number(r.keptFrom - r.from), 0);
    if (proposerCovered < Number(upTo)) violations.push({ kind: 'gap', detail: `the proposer served ${proposer.entries.length} of ${upTo} slots (and named snapshots for ${proposerCovered - proposer.entries.length})` });
    if (levelAfterHealMs === null) violations.push({ kind: 'not-level', detail: `not every acceptor held slot ${live.slot} within ${LEVEL_TIMEOUT_MS} ms of the heal` });
    const report: ChaosReport = {
      seed: o.seed,
      seconds: o.seconds,
      acceptors: o.acceptors,
      proposers: o.proposers,
      clients: o.clients,
      sent: ledger.sent.size,
      acked: ledger.acked.size,
      attempts: ledger.attempts,
      retries: ledger.retries,
      faults: nemesis.faults,
      reads: reads.reads,
      failedReads: reads.failed,
      failedReadsBy: reads.failedBy,
      failedReadSamples: reads.failedSamples,
      slots: figures.slots,
      slotsInSnapshots: figures.slotsInSnapshots,
      snapshotsChecked: figures.snapshotsChecked,
      commands: figures.commands,
      duplicateCopies: figures.duplicateCopies,
      levelAfterHealMs,
      violations: violations.length,
      dir: o.dir,
    };
    writeFileSync(
      join(o.dir, 'history.json'),
      JSON.stringify({ report, violations, refused: ledger.refused, acked: Object.fromEntries([...ledger.acked].map(([k, v]) => [k, v.toString()])) }, null, 2),
    );
    return { report, violations };
  } finally {
    await cluster.stop();
    await proxies?.close();
    releasePorts(proxyPorts);
    if (mounted !== undefined) {
      try {
        execFileSync('umount', [mounted]);
      } catch (e) {
        o.log(`umount ${mounted}: ${(e as Error).message}`);
      }
    }
  }
}
