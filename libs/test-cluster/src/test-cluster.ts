import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ProposerServiceClient, type ProposeResponse, type Value } from '@paxos/proto';
import { type NodeProcess, spawnNode } from './node-process';
import { freePorts } from './ports';

export interface TestClusterOptions {
  readonly acceptors: number;
  /** LMFDB cache dir for every node (default: an empty dir, so no source is loaded). */
  readonly lmfdbCacheDir?: string;
  readonly extraAcceptorArgs?: readonly string[];
  /** Where data and logs go (default: a new temporary dir, removed by stop()). A given dir is kept. */
  readonly dir?: string;
  /** Environment added to every proposer (negative controls). */
  readonly proposerEnv?: NodeJS.ProcessEnv;
}

/**
 * A real cluster for tests: acceptor and proposer processes on free loopback ports, with data
 * and logs in a temporary directory (kept when KEEP_TEST_CLUSTER is set).
 */
export class TestCluster {
  readonly acceptors: Array<NodeProcess | undefined>;
  readonly proposers = new Map<number, NodeProcess>();
  private readonly proposerPorts = new Map<number, number>();

  private constructor(
    readonly dir: string,
    readonly acceptorPorts: readonly number[],
    private readonly opts: TestClusterOptions,
  ) {
    this.acceptors = new Array(acceptorPorts.length).fill(undefined);
  }

  static async start(opts: TestClusterOptions): Promise<TestCluster> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'paxos-cluster-'));
    mkdirSync(dir, { recursive: true });
    const cluster = new TestCluster(dir, await freePorts(opts.acceptors), opts);
    await Promise.all(cluster.acceptorPorts.map((_, i) => cluster.startAcceptor(i)));
    return cluster;
  }

  get acceptorAddresses(): string[] {
    return this.acceptorPorts.map((p) => `127.0.0.1:${p}`);
  }

  get lmfdbCacheDir(): string {
    return this.opts.lmfdbCacheDir ?? join(this.dir, 'no-lmfdb-cache');
  }

  async startAcceptor(i: number, extraArgs: readonly string[] = []): Promise<NodeProcess> {
    const address = this.acceptorAddresses[i] as string;
    const node = spawnNode({
      app: 'acceptor',
      name: `acceptor ${i}`,
      address,
      logFile: join(this.dir, `node_${i}.log`),
      args: [
        '--id', String(i), '--cluster-size', String(this.acceptorPorts.length), '--port', String(this.acceptorPorts[i]),
        '--data-dir', join(this.dir, `node_${i}.data`), '--lmfdb-cache', this.lmfdbCacheDir,
        ...(this.opts.extraAcceptorArgs ?? []), ...extraArgs,
      ],
    });
    this.acceptors[i] = node;
    await node.waitServing();
    return node;
  }

  async killAcceptor(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.acceptors[i]?.kill(signal);
  }

  /** SIGSTOP (pause) or SIGCONT (resume) an acceptor's process. */
  signalAcceptor(i: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    const node = this.acceptors[i];
    if (node?.running && node.child.pid !== undefined) process.kill(node.child.pid, signal);
  }

  /** Starts proposer `id` on the cluster's acceptors, or on the `acceptors` addresses given (a test's own servers among them). */
  async startProposer(id: number, extraArgs: readonly string[] = [], acceptors: readonly string[] = this.acceptorAddresses): Promise<NodeProcess> {
    const port = this.proposerPorts.get(id) ?? (await freePorts(1))[0];
    if (port === undefined) throw new Error('no free port');
    this.proposerPorts.set(id, port);
    const node = spawnNode({
      app: 'proposer',
      name: `proposer ${id}`,
      address: `127.0.0.1:${port}`,
      logFile: join(this.dir, `proposer_${id}.log`),
      args: ['--id', String(id), '--port', String(port), '--acceptors', acceptors.join(','), '--lmfdb-cache', this.lmfdbCacheDir, ...extraArgs],
      ...(this.opts.proposerEnv ? { env: this.opts.proposerEnv } : {}),
    });
    this.proposers.set(id, node);
    await node.waitServing();
    return node;
  }

  proposerAddress(id: number): string {
    const port = this.proposerPorts.get(id);
    if (port === undefined) throw new Error(`proposer ${id} was never started`);
    return `127.0.0.1:${port}`;
  }

  /** One Propose call with a deadline; resolves with the answer or the gRPC error. */
  propose(proposerId: number, clientRequestId: string, value: Value, deadlineMs = 10_000): Promise<ProposeResponse> {
    const client = new ProposerServiceClient(this.proposerAddress(proposerId), credentials.createInsecure());
    return new Promise<ProposeResponse>((resolve, reject) =>
      client.propose({ clientRequestId, value, includeVotes: true }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.proposers.values(), ...this.acceptors].map((n) => n?.kill('SIGKILL')));
    if (!process.env['KEEP_TEST_CLUSTER'] && this.opts.dir === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function textValue(text: string): Value {
  return { contentType: 'text/plain', data: Buffer.from(text) };
}
