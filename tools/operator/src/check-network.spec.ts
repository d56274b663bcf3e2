import { createServer, type Socket } from 'node:net';
import { createLogger, INSECURE, type RunningServer, ServingStatus, startGrpcServer } from '@paxos/grpc-kit';
import { AcceptorServiceService, ClusterStatusResponse, ProposerServiceService, StatusResponse, StorageStatus } from '@paxos/proto';
import { freePortRange } from '@paxos/test-cluster';
import { checkNetwork, formatCheck } from './check-report';
import type { NetworkLayout, NodeLayout } from './network-dir';

const logger = createLogger('check-network-spec');
// Long enough for a fresh channel and a Status call to an in-process stand-in on a slow machine.
const DEADLINE_MS = 2000;

/** Answers held back by stand-ins that stay silent: given once the test is over (afterEach). */
const silentUntilReleased: Array<() => void> = [];
const releaseSilent = () => {
  for (const answer of silentUntilReleased.splice(0)) answer();
};

/** An acceptor stand-in whose Status answers as nodeId (with `extra` fields); its first `silentCalls` calls get no answer until the test is over. */
async function fakeAcceptor(nodeId: number, silentCalls = 0, extra: Partial<StatusResponse> = {}): Promise<RunningServer> {
  let calls = 0;
  const status = (_call: unknown, cb: (e: null, r: StatusResponse) => void) => {
    const answer = () => cb(null, StatusResponse.fromPartial({ nodeId, clusterSize: 3, committedIndex: 4n, ...extra }));
    if (calls++ < silentCalls) silentUntilReleased.push(answer);
    else answer();
  };
  return startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: { status } }] });
}

/** A proposer stand-in: only health (SERVING, ProposerService too). */
const fakeProposer = () => startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: {} }] });

/** A proposer stand-in that takes no client work (the ballot ceiling, or learning the log at its start): health NOT_SERVING, and ClusterStatus says why. */
async function blockedProposer(cannotChoose: string, learning = ''): Promise<RunningServer> {
  const clusterStatus = (_call: unknown, cb: (e: null, r: ClusterStatusResponse) => void) => cb(null, ClusterStatusResponse.fromPartial({ clusterSize: 3, quorumSize: 2, cannotChoose, learning }));
  const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: { clusterStatus } }] });
  server.health.setAll(ServingStatus.NOT_SERVING);
  return server;
}

const layoutOf = (acceptors: string[], proposer: string): NetworkLayout => ({
  createdAt: '',
  nodes: acceptors.map((address, id): NodeLayout => ({ name: `node_${id}`, role: 'acceptor', id, address })),
  proposer,
  lmfdbCacheDir: '',
});

describe('npm run check against stand-in nodes', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    releaseSilent();
    await Promise.all(servers.splice(0).map((s) => s.shutdown(100)));
  });
  const start = async (s: Promise<RunningServer>) => {
    const r = await s;
    servers.push(r);
    return `127.0.0.1:${r.port}`;
  };

  it('asks a node silent at the first deadline once more, and counts it when it answers', async () => {
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1, 1)), await start(fakeAcceptor(2))];
    const report = await checkNetwork(layoutOf(acceptors, await start(fakeProposer())), DEADLINE_MS, INSECURE);
    expect(report.nodes.map((n) => n.alive)).toEqual([true, true, true]);
    expect(report).toMatchObject({ alive: 3, quorumAlive: true, serving: true, proposer: { answering: true } });
  });

  it('does not count an acceptor that answers with another id, and says why', async () => {
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(0)), await start(fakeAcceptor(0))];
    const report = await checkNetwork(layoutOf(acceptors, await start(fakeProposer())), DEADLINE_MS, INSECURE);
    expect(report).toMatchObject({ alive: 1, quorumAlive: false, serving: false });
    expect(report.nodes[1]?.error).toBe('answers as acceptor 0, not acceptor 1 of this network (another network on these ports, or a node started with another --id)');
  });

  it('counts only voting acceptors toward the quorum: one whose storage failed or that rejoins is alive but no vote', async () => {
    const rejoining = { rejoining: true, rejoinCatchUpTo: 70n };
    const failed = { storage: StorageStatus.fromPartial({ healthy: false, error: 'fdatasync: EIO' }) };
    const proposer = await start(fakeProposer());
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1, 0, rejoining)), await start(fakeAcceptor(2, 0, failed))];
    const report = await checkNetwork(layoutOf(acceptors, proposer), DEADLINE_MS, INSECURE);
    expect(report).toMatchObject({ alive: 3, voting: 1, quorumAlive: false, serving: false });
    expect(report.nodes.map((n) => n.voting)).toEqual([true, false, false]);
    expect(formatCheck(report)).toContain('alive: 3/3 (2 of them not voting); quorum 2 is NOT alive (crash tolerance 1, Byzantine tolerance 0)');
    const oneRejoining = [acceptors[0] ?? '', acceptors[1] ?? '', await start(fakeAcceptor(2))];
    expect(await checkNetwork(layoutOf(oneRejoining, proposer), DEADLINE_MS, INSECURE)).toMatchObject({ alive: 3, voting: 2, quorumAlive: true, serving: true });
  });

  it('is not serving when the proposer is down or silent, with a quorum of acceptors alive', async () => {
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1)), await start(fakeAcceptor(2))];
    const freePort = await freePortRange(1);
    const down = await checkNetwork(layoutOf(acceptors, `127.0.0.1:${freePort}`), DEADLINE_MS, INSECURE);
    expect(down).toMatchObject({ quorumAlive: true, serving: false, proposer: { answering: false, error: expect.stringMatching(/^UNAVAILABLE/) } });
    expect(formatCheck(down)).toContain(`proposer 127.0.0.1:${freePort}: NOT serving (${down.proposer.error}): clients cannot propose; see proposer.log`);
    // A port that takes the connection and never answers: a paused proposer.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const paused = await checkNetwork(layoutOf(acceptors, `127.0.0.1:${port}`), DEADLINE_MS, INSECURE);
      expect(paused).toMatchObject({ serving: false, proposer: { answering: false, error: expect.stringMatching(/^DEADLINE_EXCEEDED/) } });
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  it('is not serving when the proposer can choose nothing more (the ballot ceiling), and names the cause', async () => {
    // Before, the proposer of a network whose acceptors promised round 2^62 answered SERVING and
    // check exited 0 while every proposal failed.
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1)), await start(fakeAcceptor(2))];
    const why = 'this proposer (id 1) can choose nothing more in this network: acceptors 0, 1 promised ballot 4611686018427387904.16';
    const report = await checkNetwork(layoutOf(acceptors, await start(blockedProposer(why))), DEADLINE_MS, INSECURE);
    expect(report).toMatchObject({ quorumAlive: true, serving: false, proposer: { answering: false, cannotChoose: why } });
    expect(formatCheck(report)).toContain(`proposer ${report.proposer.address}: NOT serving: it cannot choose (the ballot ceiling): ${why}`);
  });

  it('is not serving yet while the proposer learns the chosen log at its start, and says so', async () => {
    // Before, check read the node's health (SERVING while it learns) and exited 0 while every proposal waited.
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1)), await start(fakeAcceptor(2))];
    const why = 'the proposer is still learning the chosen log (at slot 120) and takes client work once it has';
    const server = await blockedProposer('', why);
    servers.push(server);
    server.health.setStatus('', ServingStatus.SERVING);
    const report = await checkNetwork(layoutOf(acceptors, `127.0.0.1:${server.port}`), DEADLINE_MS, INSECURE);
    expect(report).toMatchObject({ quorumAlive: true, serving: false, proposer: { answering: false, learning: why } });
    expect(formatCheck(report)).toContain(`proposer ${report.proposer.address}: NOT serving yet: ${why} (it holds the proposals it receives meanwhile; check again shortly)`);
  });

  it('reports a status page that does not answer', async () => {
    const acceptors = [await start(fakeAcceptor(0)), await start(fakeAcceptor(1)), await start(fakeAcceptor(2))];
    const freePort = await freePortRange(1);
    const report = await checkNetwork({ ...layoutOf(acceptors, await start(fakeProposer())), statusPage: `127.0.0.1:${freePort}` }, DEADLINE_MS, INSECURE);
    expect(report).toMatchObject({ serving: true, statusPage: { answering: false, error: `http://127.0.0.1:${freePort}/: ECONNREFUSED` } });
  });
});
