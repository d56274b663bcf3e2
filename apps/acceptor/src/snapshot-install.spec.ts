// AcceptorService.InstallStateSnapshot as a proposer reaches it, on an in-process acceptor (the real
// storage, node, applier, snapshot files and services, plaintext on 127.0.0.1): one install at a
// time, and the place it holds is given up when its sender goes silent, but not while the node is
// still writing what it received.
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { AcceptorCore, DEFAULT_LIMITS, Quorum } from '@paxos/consensus-core';
import { createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import { AcceptorServiceClient, type InstallStateSnapshotRequest } from '@paxos/proto';
import { AgreedState, encodeStateSnapshot, REGISTRY_DEFAULTS } from '@paxos/state-machine';
import { AcceptorNode, joinChosenHistory, KeptStateSnapshots, restoreAgreedState, StateApplier, type StateSnapshotStore } from '@paxos/acceptor-node';
import { crc32 } from 'node:zlib';
import { acceptorServices } from './acceptor-services';
import { historyReadPacer } from './history-read-pacer';
import { ProposerAccess } from './proposer-access';
import { installStateSnapshotHandler, type SnapshotInstallContext } from './snapshot-install';
import { loadSourceHolder } from './source-holder';
import { AcceptorStorage, stateSnapshotFiles } from './storage';
import type { ChosenRecord } from './storage/durable-types';
import { tempDir } from './storage/storage-test-helpers';

const logger = createLogger('snapshot-install-test');
logger.level = 'silent';

type Bounds = Pick<SnapshotInstallContext, 'streamMs' | 'chunkIdleMs'>;

/**
 * An acceptor as main.ts builds one, in this process; every snapshot write waits `writeDelayMs`
 * first, and the n-th (from 1) fails as on a full disk when `failWrite(n)` says so.
 */
async function startAcceptor(dataDir: string, bounds: Bounds, writeDelayMs = 0, failWrite: (n: number) => boolean = () => false) {
  const access = new ProposerAccess(INSECURE);
  const source = await loadSourceHolder(`${dataDir}/no-cache`, 0, 3, logger);
  const { storage, recovered } = await AcceptorStorage.open({ dataDir, nodeId: 0, clusterSize: 3, logger, fsync: false });
  const core = new AcceptorCore({ limits: DEFAULT_LIMITS, validate: source.validate, ...(recovered.snapshot ? { restored: recovered.snapshot } : {}) });
  for (const change of recovered.changes) core.apply(change);
  joinChosenHistory(core, storage.history, logger);
  const node = new AcceptorNode(core, storage, { nodeId: 0, quorum: Quorum.majority(3), proposerIds: new Set([1, 2]), checkpointEveryRecords: 1000, logger, onStorageFailure: () => undefined, onStorageRecovered: () => undefined });
  const files = stateSnapshotFiles(dataDir);
  let writes = 0;
  const slow: StateSnapshotStore = {
    read: (g) => files.read(g),
    write: async (slot, body) => {
      await new Promise((r) => setTimeout(r, writeDelayMs));
      if (failWrite(++writes)) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${dataDir}/state.snapshot.tmp'`), { code: 'ENOSPC' });
      return files.write(slot, body);
    },
  };
  const snapshots = new KeptStateSnapshots(slow);
  const applier = new StateApplier(storage.history, restoreAgreedState(snapshots, storage.history, REGISTRY_DEFAULTS, logger), logger, { store: snapshots, everySlots: 1000 });
  node.onChosenPrefix((records) => applier.appended(records));
  const statusContext = { node, startedAtMs: performance.now(), version: 'test', dataSource: source.status, appliedSlot: () => applier.appliedSlot, stateError: () => applier.failure };
  const stateContext = {
    snapshotSlot: () => snapshots.slotToGive,
    installStateSnapshot: installStateSnapshotHandler({ node, access, applier, registry: REGISTRY_DEFAULTS, logger, ...bounds }),
    quorumCommittedIs: () => undefined,
  };
  const server: RunningServer = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxReceiveBytes: 1024 * 1024 + 64 * 1024,
    transport: INSECURE,
    logger,
    services: acceptorServices({ node, applier, snapshots, statusContext, stateContext, source, access, clientReads: historyReadPacer(), logger }),
  });
  return {
    address: `127.0.0.1:${server.port}`,
    node,
    applier,
    snapshots,
    stop: async () => {
      await applier.stop();
      await server.shutdown(0);
      await node.drain();
      node.stop();
      await storage.close();
    },
  };
}

const record = (s: number): ChosenRecord => ({
  slot: BigInt(s),
  ballot: { round: 1n, proposerId: 1 },
  value: { kind: 'batch', commands: [{ clientRequestId: `c${s}`, contentType: 'text/plain', data: Buffer.from(`v${s}`) }] },
});

/** The state applied up to `slot`, encoded as a node writes it. */
function snapshotAt(slot: number): Buffer {
  const state = new AgreedState({});
  for (let s = 0; s < slot; s++) state.advance(record(s));
  return encodeStateSnapshot(state.snapshot());
}

const chunkOf = (slot: bigint, body: Buffer, from: number, to: number): InstallStateSnapshotRequest => ({
  ballot: { round: 1n, proposerId: 1 },
  chunk: { slot, totalBytes: BigInt(body.length), crc32: crc32(body), offset: BigInt(from), data: body.subarray(from, to) },
});

type Outcome = { code: number; details: string; committedIndex?: bigint };

/** An install stream: `requests` written, then ended unless `leaveOpen` (the sender went silent). */
function install(client: InstanceType<typeof AcceptorServiceClient>, requests: readonly InstallStateSnapshotRequest[], leaveOpen = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.installStateSnapshot(new Metadata(), { deadline: new Date(Date.now() + 20_000) }, (e: ServiceError | null, r) =>
      resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '', committedIndex: r?.committedIndex }),
    );
    for (const q of requests) call.write(q);
    if (!leaveOpen) call.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('InstallStateSnapshot on an acceptor', () => {
  let dir: string;
  let cleanup: () => void;
  let stop: (() => Promise<void>) | undefined;
  let client: InstanceType<typeof AcceptorServiceClient> | undefined;
  beforeEach(() => ({ dir, cleanup } = tempDir('snapshot-install-')));
  afterEach(async () => {
    client?.close();
    client = undefined;
    await stop?.();
    stop = undefined;
    cleanup();
  });

  it('gives up a stream whose sender stopped sending without ending it, so that another proposer installs', async () => {
    const acceptor = await startAcceptor(dir, { chunkIdleMs: 300 });
    stop = acceptor.stop;
    client = new AcceptorServiceClient(acceptor.address, credentials.createInsecure());
    const body = snapshotAt(20);
    // The first proposer sends the first bytes and then nothing (paused, its connection still open).
    const silent = install(client, [chunkOf(20n, body, 0, 10)], true);
    await sleep(100);
    const meanwhile = await install(client, [chunkOf(20n, body, 0, body.length)]);
    expect(meanwhile.code).toBe(status.ABORTED);
    const given = await silent;
    expect(given.code).toBe(status.DEADLINE_EXCEEDED);
    expect(given.details).toMatch(/sent nothing for 0.3 s/);
    // The place is free again: the next proposer's install is taken whole.
    const next = await install(client, [chunkOf(20n, body, 0, body.length)]);
    expect(next).toEqual({ code: status.OK, details: '', committedIndex: 20n });
    expect(acceptor.applier.appliedSlot).toBe(20n);
  });

  it('keeps its place while the received snapshot is being written, past the stream bound, and answers how it went', async () => {
    // Each of the install's two snapshot writes takes 400 ms: past the stream's 300 ms bound.
    const acceptor = await startAcceptor(dir, { streamMs: 300 }, 400);
    stop = acceptor.stop;
    client = new AcceptorServiceClient(acceptor.address, credentials.createInsecure());
    const body = snapshotAt(20);
    const first = install(client, [chunkOf(20n, body, 0, body.length)]);
    await sleep(500);
    // Another proposer's install while the first one's files are written: one at a time.
    const other = snapshotAt(30);
    const second = await install(client, [chunkOf(30n, other, 0, other.length)]);
    expect(second.code).toBe(status.ABORTED);
    expect(await first).toEqual({ code: status.OK, details: '', committedIndex: 20n });
    expect(acceptor.node.core.committedIndex).toBe(20n);
    expect(acceptor.applier.appliedSlot).toBe(20n);
  });

  for (const failing of [1, 2]) {
    it(`a snapshot write that fails (write ${failing} of the install's two) installs nothing: INTERNAL naming the cause, the state as it was, and a restart comes back consistent`, async () => {
      let acceptor = await startAcceptor(dir, {}, 0, (n) => n === failing);
      stop = acceptor.stop;
      client = new AcceptorServiceClient(acceptor.address, credentials.createInsecure());
      const body = snapshotAt(20);
      const failed = await install(client, [chunkOf(20n, body, 0, body.length)]);
      expect(failed.code).toBe(status.INTERNAL);
      expect(failed.details).toMatch(/writing the state snapshot failed: ENOSPC/);
      expect(acceptor.node.core.committedIndex).toBe(0n);
      expect(acceptor.applier.appliedSlot).toBe(0n);
      expect(acceptor.node.storage.history.firstSlot).toBe(0n);
      // A restart: the history is as it was, and the state either the empty one it continues from
      // or, when the first write got through, the snapshot's (a whole file; the history reaches it later).
      client.close();
      client = undefined;
      await acceptor.stop();
      stop = undefined;
      acceptor = await startAcceptor(dir, {});
      stop = acceptor.stop;
      expect(acceptor.node.storage.history.firstSlot).toBe(0n);
      expect(acceptor.node.core.committedIndex).toBe(0n);
      expect(acceptor.applier.failure).toBeUndefined();
      expect(acceptor.applier.appliedSlot).toBe(failing === 1 ? 0n : 20n);
      // The proposer's next try is taken whole.
      client = new AcceptorServiceClient(acceptor.address, credentials.createInsecure());
      const next = await install(client, [chunkOf(30n, snapshotAt(30), 0, snapshotAt(30).length)]);
      expect(next).toEqual({ code: status.OK, details: '', committedIndex: 30n });
      expect(acceptor.applier.appliedSlot).toBe(30n);
      expect(acceptor.snapshots.slotToGive).toBe(30n);
    });
  }
});
