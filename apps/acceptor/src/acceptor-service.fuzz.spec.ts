// Seeded fuzz of an acceptor's gRPC services as a hostile client reaches them: an in-process server
// (the real storage, node, services and server bounds, plaintext on 127.0.0.1) takes random and
// extreme Prepare/Accept streams, Learn, VerifyClaims, InstallStateSnapshot chunks, Status and every
// ReadService call. Checks: every call settles within its deadline with a documented status (never
// UNKNOWN or INTERNAL), nothing is thrown unhandled, and the server still answers Status after each.
// FUZZ_SEED=<n> replays one seed; FUZZ_STEPS sets the calls per seed.
import { type ClientDuplexStream, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { AcceptorCore, DEFAULT_LIMITS, Quorum, SeededRandom } from '@paxos/consensus-core';
import { createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import {
  type AcceptRequest,
  type AcceptResponse,
  AcceptorServiceClient,
  Consistency,
  type PrepareRequest,
  type PrepareResponse,
  ReadServiceClient,
  type SlotValue,
} from '@paxos/proto';
import { REGISTRY_DEFAULTS } from '@paxos/state-machine';
import { AcceptorNode, joinChosenHistory, KeptStateSnapshots, restoreAgreedState, StateApplier } from '@paxos/acceptor-node';
import { crc32 } from 'node:zlib';
import { acceptorServices } from './acceptor-services';
import { historyReadPacer } from './history-read-pacer';
import { ProposerAccess } from './proposer-access';
import { installStateSnapshotHandler } from './snapshot-install';
import { loadSourceHolder } from './source-holder';
import { AcceptorStorage, stateSnapshotFiles, stateSnapshotReadsToGive } from './storage';
import { tempDir } from './storage/storage-test-helpers';
import { recordUncaught } from '@paxos/test-cluster';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3];
const STEPS = Number(process.env['FUZZ_STEPS'] ?? 60);
const DEADLINE_MS = 3000;

const logger = createLogger('acceptor-fuzz');
logger.level = 'silent';

const U64 = [0n, 1n, 2n, 3n, 63n, 1023n, 1024n, 1025n, (1n << 31n) - 1n, 1n << 32n, 1n << 53n, (1n << 62n) - 1n, 1n << 62n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];
const U32 = [0, 1, 2, 3, 1024, 1025, 0x7fffffff, 0x80000000, 0xffffffff];
/** Enum values a client may send: the named ones and numbers outside the enum (negative ones as int32). */
const ENUMS = [0, 1, 2, 3, 4, 99, -1, 0x7fffffff, -0x80000000];

class Gen {
  constructor(readonly r: SeededRandom) {}
  pick<T>(xs: readonly T[]): T {
    return xs[this.r.int(0, xs.length)] as T;
  }
  u64(): bigint {
    return this.r.chance(0.6) ? this.pick(U64) : BigInt(this.r.int(0, 40));
  }
  u32(): number {
    return this.r.chance(0.6) ? this.pick(U32) : this.r.int(0, 40);
  }
  str(): string {
    return this.pick(['', 'a', 'x'.repeat(300), '\uFFFD', '😀', '\u0000', 'text/plain', 'application/vnd.monster-harmonic.proposal+json', 'x'.repeat(this.r.int(0, 400))]);
  }
  bytes(): Buffer {
    const b = Buffer.alloc(this.pick([0, 1, 7, 100, 3000]));
    for (let i = 0; i < b.length; i += 13) b[i] = this.r.int(0, 256);
    return b;
  }
  ballot() {
    return this.r.chance(0.1) ? undefined : { round: this.r.chance(0.7) ? BigInt(this.r.int(0, 8)) : this.u64(), proposerId: this.pick([0, 1, 1, 2, 3, 0xffffffff]) };
  }
  value(): SlotValue | undefined {
    const c = this.r.int(0, 8);
    if (c === 0) return undefined;
    if (c === 1) return { kind: undefined };
    if (c === 2) return { kind: { $case: 'noop', value: {} } };
    const commands = Array.from({ length: this.pick([0, 1, 1, 2, 50]) }, () => ({
      clientRequestId: this.str(),
      ...(this.r.chance(0.9) ? { value: { contentType: this.str(), data: this.bytes() } } : {}),
      verifiedBy: Array.from({ length: this.pick([0, 0, 1, 5]) }, () => this.u32()),
    }));
    return { kind: { $case: 'batch', value: { commands } } };
  }
  prepare(): Omit<PrepareRequest, 'requestId'> {
    return { ...(this.r.chance(0.9) ? { ballot: this.ballot() } : {}), fromSlot: this.r.chance(0.8) ? BigInt(this.r.int(0, 10)) : this.u64() } as Omit<PrepareRequest, 'requestId'>;
  }
  accept(): Omit<AcceptRequest, 'requestId'> {
    const value = this.value();
    const commits = Array.from({ length: this.pick([0, 0, 1, 2]) }, () => {
      const from = this.r.chance(0.8) ? BigInt(this.r.int(0, 10)) : this.u64();
      const to = this.r.chance(0.8) ? BigInt.asUintN(64, from + BigInt(this.r.int(0, 3))) : this.u64();
      return { ballot: this.ballot(), fromSlot: from, toSlot: to, values: [] };
    });
    return {
      ...(this.r.chance(0.85) ? { accept: { ballot: this.ballot(), slot: this.r.chance(0.8) ? BigInt(this.r.int(0, 10)) : this.u64(), ...(value ? { value } : {}) } } : {}),
      commits,
      quorumCommittedIndex: this.r.chance(0.7) ? BigInt(this.r.int(0, 10)) : this.u64(),
    } as Omit<AcceptRequest, 'requestId'>;
  }
}

/** An acceptor as main.ts builds one (its services from the same acceptorServices), in this process, on a temp dir; plaintext. */
async function startAcceptor(dataDir: string, port: number, reported: { max: bigint }) {
  const access = new ProposerAccess(INSECURE);
  const source = await loadSourceHolder(`${dataDir}/no-cache`, 0, 3, logger);
  const { storage, recovered } = await AcceptorStorage.open({ dataDir, nodeId: 0, clusterSize: 3, logger, fsync: false });
  const core = new AcceptorCore({ limits: { ...DEFAULT_LIMITS, valueBytesMax: 64 * 1024 }, validate: source.validate, ...(recovered.snapshot ? { restored: recovered.snapshot } : {}) });
  for (const change of recovered.changes) core.apply(change);
  joinChosenHistory(core, storage.history, logger);
  const node = new AcceptorNode(core, storage, { nodeId: 0, quorum: Quorum.majority(3), proposerIds: new Set([1, 2]), checkpointEveryRecords: 1000, logger, onStorageFailure: () => undefined, onStorageRecovered: () => undefined });
  const snapshots = new KeptStateSnapshots(stateSnapshotFiles(dataDir), stateSnapshotReadsToGive(dataDir));
  const applier = new StateApplier(storage.history, restoreAgreedState(snapshots, storage.history, REGISTRY_DEFAULTS, logger), logger, { store: snapshots, everySlots: 4 });
  node.onChosenPrefix((records) => applier.appended(records));
  applier.catchUp();
  const statusContext = { node, startedAtMs: performance.now(), version: 'fuzz', dataSource: source.status, appliedSlot: () => applier.appliedSlot, stateError: () => applier.failure };
  const stateContext = {
    snapshotSlot: () => snapshots.slotToGive,
    installStateSnapshot: installStateSnapshotHandler({ node, access, applier, registry: REGISTRY_DEFAULTS, logger }),
    quorumCommittedIs: (index: bigint) => {
      if (index > reported.max) reported.max = index;
    },
  };
  const clientReads = historyReadPacer();
  const server: RunningServer = await startGrpcServer({
    host: '127.0.0.1',
    port,
    maxReceiveBytes: 64 * 1024 + 64 * 1024,
    transport: INSECURE,
    logger,
    services: acceptorServices({ node, applier, snapshots, statusContext, stateContext, source, access, clientReads, logger }),
  });
  return {
    server,
    stop: async () => {
      await applier.stop();
      await server.shutdown(0);
      await node.drain();
      node.stop();
      await storage.close();
    },
  };
}

type Outcome = { code: number; details: string; at: string };
const deadline = () => new Date(Date.now() + DEADLINE_MS);

/** Codes a hostile call may be answered with: the documented ones, never UNKNOWN or INTERNAL. */
const ALLOWED = new Set([
  status.OK,
  status.CANCELLED,
  status.INVALID_ARGUMENT,
  status.DEADLINE_EXCEEDED,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.ABORTED,
  status.OUT_OF_RANGE,
  status.UNAVAILABLE,
]);

const unary = <T>(at: string, f: (cb: (e: ServiceError | null, r?: T) => void) => void): Promise<Outcome> =>
  new Promise((resolve) => f((e) => resolve({ code: e ? e.code : status.OK, details: e?.details ?? '', at })));

/** Writes the stream's requests, then half-closes it or cancels it; settles with its status. */
function drive<Q, A>(at: string, call: ClientDuplexStream<Q, A>, requests: readonly Q[], end: 'half-close' | 'cancel' | 'leave', onAnswer: (a: A) => void = () => undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    call.on('data', onAnswer);
    call.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details, at }));
    call.on('status', (s: { code: number; details: string }) => {
      if (s.code === status.OK) resolve({ code: s.code, details: s.details, at });
    });
    for (const q of requests) call.write(q);
    if (end === 'half-close') call.end();
    else if (end === 'cancel') setTimeout(() => call.cancel(), 5);
  });
}

describe('an acceptor as a hostile client reaches it', () => {
  let uncaught: ReturnType<typeof recordUncaught>;
  beforeAll(() => {
    uncaught = recordUncaught();
  });
  afterAll(() => uncaught.stop());

  for (const seed of SEEDS) {
    it(`answers every call with a documented status and keeps answering (seed ${seed})`, async () => {
      const { dir, cleanup } = tempDir('acceptor-fuzz-');
      // The quorum committed index the service took from accept requests, and the highest of the requests it answered.
      const reported = { max: 0n };
      let answeredMax = 0n;
      // Port 0: the OS picks a free one (specs of other projects run beside this one).
      const acceptor = await startAcceptor(dir, 0, reported);
      const address = `127.0.0.1:${acceptor.server.port}`;
      const client = new AcceptorServiceClient(address, credentials.createInsecure());
      const reads = new ReadServiceClient(address, credentials.createInsecure());
      const r = new SeededRandom(seed);
      const g = new Gen(r);
      const bad: Outcome[] = [];
      let requestId = 1n;
      try {
        for (let step = 0; step < STEPS; step++) {
          const op = r.int(0, 12);
          const md = new Metadata();
          let o: Outcome;
          switch (op) {
            case 0: {
              const reqs = Array.from({ length: g.pick([1, 3, 20, 300]) }, () => ({ requestId: r.chance(0.9) ? requestId++ : g.u64(), ...g.prepare() }) as PrepareRequest);
              o = await drive<PrepareRequest, PrepareResponse>(`prepare x${reqs.length}`, client.prepare(md, { deadline: new Date(Date.now() + 1000) }), reqs, g.pick(['half-close', 'cancel', 'leave'] as const));
              break;
            }
            case 1: {
              const reqs = Array.from({ length: g.pick([1, 3, 20, 300]) }, () => ({ requestId: requestId++, ...g.accept() }) as AcceptRequest);
              const byId = new Map(reqs.map((q) => [q.requestId, q]));
              o = await drive<AcceptRequest, AcceptResponse>(`accept x${reqs.length}`, client.accept(md, { deadline: new Date(Date.now() + 1000) }), reqs, g.pick(['half-close', 'cancel', 'leave'] as const), (a) => {
                const q = byId.get(a.requestId);
                if (q && q.quorumCommittedIndex > answeredMax) answeredMax = q.quorumCommittedIndex;
              });
              break;
            }
            case 2: {
              const req = { fromSlot: g.u64(), maxEntries: g.u32() };
              o = await unary(`learn ${JSON.stringify(req, (_k, v) => (typeof v === 'bigint' ? `${v}` : v))}`, (cb) => client.learn(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 3: {
              const req = r.chance(0.2) ? {} : { command: { clientRequestId: g.str(), verifiedBy: [], ...(r.chance(0.8) ? { value: { contentType: g.str(), data: g.bytes() } } : {}) } };
              o = await unary('verifyClaims', (cb) => client.verifyClaims(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 4: {
              const body = g.bytes();
              const total = r.chance(0.7) ? BigInt(body.length) : g.u64();
              const crc = r.chance(0.7) ? crc32(body) : g.u32();
              const slot = g.u64();
              const n = g.pick([0, 1, 2, 5]);
              const chunks = Array.from({ length: n }, (_, i) => ({
                ...(r.chance(0.9) ? { ballot: g.ballot() } : {}),
                ...(r.chance(0.95) ? { chunk: { slot, totalBytes: total, crc32: crc, offset: r.chance(0.8) ? BigInt(Math.min(body.length, i * 10)) : g.u64(), data: r.chance(0.5) ? body : body.subarray(i * 10, i * 10 + 10) } } : {}),
              }));
              o = await new Promise<Outcome>((resolve) => {
                const call = client.installStateSnapshot({ deadline: new Date(Date.now() + 1000) }, (e) => resolve({ code: e ? e.code : status.OK, details: e?.details ?? '', at: `install x${n}` }));
                for (const c of chunks) call.write(c as never);
                const end = g.pick(['half-close', 'cancel', 'leave'] as const);
                if (end === 'half-close') call.end();
                else if (end === 'cancel') setTimeout(() => call.cancel(), 5);
              });
              break;
            }
            case 5:
              o = await unary('status', (cb) => client.status({}, new Metadata(), { deadline: deadline() }, cb));
              break;
            case 6: {
              const req = { fromSlot: g.u64(), maxEntries: g.u32() };
              o = await unary(`readLog from ${req.fromSlot} max ${req.maxEntries}`, (cb) => reads.readLog(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 7: {
              const req = { proposalNumber: g.u64(), consistency: g.pick(ENUMS) as Consistency };
              o = await unary(`getProposal ${req.proposalNumber} consistency ${req.consistency}`, (cb) => reads.getProposal(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 8: {
              const req = { fromNumber: g.u64(), maxEntries: g.u32(), consistency: g.pick(ENUMS) as Consistency };
              o = await unary(`listProposals ${req.fromNumber} max ${req.maxEntries} consistency ${req.consistency}`, (cb) => reads.listProposals(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 9: {
              const req = { historyMax: g.u32(), consistency: g.pick(ENUMS) as Consistency };
              o = await unary(`getLeaderboard history ${req.historyMax} consistency ${req.consistency}`, (cb) => reads.getLeaderboard(req, new Metadata(), { deadline: deadline() }, cb));
              break;
            }
            case 10: {
              o = await new Promise<Outcome>((resolve) => {
                const call = reads.getStateSnapshot({}, { deadline: deadline() });
                call.on('data', () => undefined);
                call.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details, at: 'getStateSnapshot' }));
                call.on('status', (s: { code: number; details: string }) => {
                  if (s.code === status.OK) resolve({ code: s.code, details: s.details, at: 'getStateSnapshot' });
                });
              });
              break;
            }
            default: {
              // An honest proposer's round: promises and votes, then the slot chosen, so that the reads have a log.
              const round = BigInt(step + 100);
              const slot = BigInt(step);
              const ballot = { round, proposerId: 1 };
              const value: SlotValue = { kind: { $case: 'batch', value: { commands: [{ clientRequestId: `c${step}`, value: { contentType: 'text/plain', data: Buffer.from(`v${step}`) }, verifiedBy: [] }] } } };
              await drive<PrepareRequest, PrepareResponse>('honest prepare', client.prepare({ deadline: deadline() }), [{ requestId: requestId++, ballot, fromSlot: slot }], 'half-close');
              o = await drive<AcceptRequest, AcceptResponse>(
                'honest accept',
                client.accept({ deadline: deadline() }),
                [
                  { requestId: requestId++, accept: { ballot, slot, value }, commits: [], quorumCommittedIndex: 0n },
                  { requestId: requestId++, commits: [{ ballot, fromSlot: slot, toSlot: slot + 1n, values: [] }], quorumCommittedIndex: slot + 1n },
                ],
                'half-close',
                () => {
                  if (slot + 1n > answeredMax) answeredMax = slot + 1n;
                },
              );
            }
          }
          if (process.env['FUZZ_VERBOSE']) process.stdout.write(`${o.at.slice(0, 60)} -> ${status[o.code]} ${o.details.slice(0, 160)}\n`);
          if (!ALLOWED.has(o.code) || (o.code !== status.OK && o.details.trim() === '')) bad.push(o);
          // A refused request changes nothing: the quorum committed index (history retention's floor) comes only from requests the node took.
          if (reported.max > answeredMax && !bad.some((b) => b.code === -1)) bad.push({ code: -1, details: `took quorum_committed_index ${reported.max} from a refused request (highest answered ${answeredMax})`, at: o.at });
          // Still answering a normal request.
          const alive = await unary('status after', (cb) => client.status({}, new Metadata(), { deadline: deadline() }, cb));
          if (alive.code !== status.OK) bad.push({ ...alive, at: `status after ${o.at}` });
        }
        if (bad.length > 0 || uncaught.seen.length > 0) throw new Error(`seed ${seed} (FUZZ_SEED=${seed} replays it): ${JSON.stringify(bad.slice(0, 5))} ${uncaught.seen.map(String).join('; ')}`);
      } finally {
        client.close();
        reads.close();
        await acceptor.stop();
        cleanup();
      }
    }, 60_000);
  }
});
