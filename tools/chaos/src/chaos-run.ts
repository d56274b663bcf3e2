// One chaos run of real processes: a network, retrying clients, the nemesis, then the heal and
// the check of the history (history-check.ts).
import { Metadata } from '@grpc/grpc-js';
import { type ChosenEntry, SeededRandom } from '@paxos/consensus-core';
import { AcceptorServiceClient, type LogEntry, type ReadLogResponse, ReadServiceClient } from '@paxos/proto';
import { TestCluster, textValue } from '@paxos/test-cluster';
import { ballotFromWire, slotValueFromWire } from '@paxos/wire';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHistory, type NodeSlot, slotDigest, type Violation } from './history-check';
import { Nemesis, type FaultCounts } from './nemesis';
import { type ClientApi, type ClientLedger, runClient } from './retrying-clients';
import { type ReadLedger, runReader } from './linearizable-reader';

export interface ChaosOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly acceptors: number;
  readonly proposers: number;
  readonly clients: number;
  readonly dir: string;
  /** Negative control: the proposers run without client sessions. */
  readonly unsafeNoSessions: boolean;
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
  readonly slots: number;
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
    call(client as never, req, new Metadata(), { deadline: Date.now() + 5000 }, (e, r) => {
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

/** A node's whole log from slot 0, as entries and as the node's view of each slot. */
async function readWholeLog(address: string, upTo: bigint): Promise<{ entries: ChosenEntry[]; view: NodeSlot[] }> {
  const entries: ChosenEntry[] = [];
  const view: NodeSlot[] = [];
  const until = Date.now() + LEVEL_TIMEOUT_MS;
  while (BigInt(entries.length) < upTo && Date.now() < until) {
    const page = await readLogPage(address, BigInt(entries.length));
    if (page.entries.length === 0) {
      await sleep(100); // the node has not applied that far yet
      continue;
    }
    for (const e of page.entries) {
      const entry = toEntry(e);
      entries.push(entry);
      view.push({ slot: e.slot, valueDigest: slotDigest(entry), effects: e.outcomes.filter((o) => !o.forgotten).map((o) => ({ id: o.clientRequestId, tookEffect: !o.duplicate })) });
    }
  }
  return { entries, view };
}

const toEntry = (e: LogEntry): ChosenEntry => ({ slot: e.slot, ballot: ballotFromWire(e.ballot), value: slotValueFromWire(e.value) });

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
    slots: 0,
    commands: 0,
    duplicateCopies: 0,
    levelAfterHealMs: null,
    violations: 1,
    dir: o.dir,
  };
}

export async function runChaos(o: ChaosOptions): Promise<{ report: ChaosReport; violations: Violation[] }> {
  mkdirSync(o.dir, { recursive: true });
  const random = new SeededRandom(o.seed);
  const cluster = await TestCluster.start({ acceptors: o.acceptors, dir: o.dir, ...(o.unsafeNoSessions ? { proposerEnv: { PAXOS_UNSAFE_NO_SESSIONS: '1' } } : {}) });
  const proposerIds = Array.from({ length: o.proposers }, (_, i) => i + 1);
  try {
    for (const id of proposerIds) await cluster.startProposer(id);
    const addresses = proposerIds.map((id) => cluster.proposerAddress(id));
    const ledger: ClientLedger = { sent: new Set(), acked: new Map(), conflicts: [], refused: [], attempts: 0, retries: 0 };
    const chaosEnds = Date.now() + o.seconds * 1000;
    const apis: ClientApi[] = ['unary', 'stream', 'bulk'];
    const clients = Array.from({ length: o.clients }, (_, k) =>
      runClient(
        { tag: `c${k}`, api: apis[k % apis.length] as ClientApi, proposers: addresses, random: random.fork(`client ${k}`), ledger, batch: 8 },
        () => Date.now() >= chaosEnds,
        () => chaosEnds + CLIENT_GRACE_MS,
      ),
    );
    const reads: ReadLedger = { reads: 0, failed: 0, stale: [] };
    const readers = Array.from({ length: READERS }, (_, k) =>
      runReader({ proposers: addresses, random: random.fork(`reader ${k}`), highestAcked: () => ledger.highestAcked, reads }, () => Date.now() >= chaosEnds),
    );
    const nemesis = new Nemesis(cluster, proposerIds, random.fork('nemesis'), o.log);
    await nemesis.run(() => Date.now() >= chaosEnds);
    await nemesis.heal();
    o.log('healed: every node is up');
    await Promise.all(clients);
    await Promise.all(readers);
    // Liveness after the heal, and the slot every acceptor must then reach.
    ledger.sent.add('after-heal');
    let live: { slot: bigint };
    try {
      live = await cluster.propose(1, 'after-heal', textValue('after the heal'), 30_000);
      ledger.acked.set('after-heal', live.slot);
    } catch (e) {
      const violation: Violation = { kind: 'no-liveness', detail: `a proposal after the heal was not chosen within 30 s: ${(e as Error).message}` };
      return { report: emptyReport(o), violations: [violation] };
    }
    const healedAt = Date.now();
    let levelAfterHealMs: number | null = null;
    while (Date.now() - healedAt < LEVEL_TIMEOUT_MS) {
      const indexes = await Promise.all(cluster.acceptorAddresses.map((a) => committedIndexOf(a).catch(() => -1n)));
      if (indexes.every((x) => x > live.slot)) {
        levelAfterHealMs = Date.now() - healedAt;
        break;
      }
      await sleep(50);
    }
    const upTo = live.slot + 1n;
    const proposer = await readWholeLog(addresses[0] as string, upTo);
    const nodes = new Map<string, NodeSlot[]>([['proposer 1', proposer.view]]);
    for (const [i, a] of cluster.acceptorAddresses.entries()) nodes.set(`acceptor ${i}`, (await readWholeLog(a, upTo)).view);
    const { violations, figures } = checkHistory({ sent: ledger.sent, acked: ledger.acked, log: proposer.entries, nodes });
    for (const c of ledger.conflicts) violations.push({ kind: 'ack-not-at-first-slot', detail: c });
    for (const r of ledger.refused) violations.push({ kind: 'unexpected-refusal', detail: r });
    for (const r of reads.stale) violations.push({ kind: 'stale-read', detail: r });
    if (BigInt(proposer.entries.length) < upTo) violations.push({ kind: 'gap', detail: `the proposer served ${proposer.entries.length} of ${upTo} slots` });
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
      slots: figures.slots,
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
  }
}
