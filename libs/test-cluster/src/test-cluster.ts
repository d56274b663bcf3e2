import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChannelCredentials, type ChannelOptions, Metadata, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, ensureNetworkCertificates, INSECURE, loadTls, serverNameOptions, tlsFilesIn, type Transport, deadlineAfter } from '@paxos/grpc-kit';
import { ProposerServiceClient, type ProposeResponse, type Value } from '@paxos/proto';
import { type NodeProcess, spawnNode } from './node-process';
import { freePorts, releasePorts } from './ports';

export interface TestClusterOptions {
  readonly acceptors: number;
  /** False: start() returns once every acceptor process is started, not serving (a bench timing start-up as a whole). Default true. */
  readonly waitServing?: boolean;
  /** LMFDB cache dir for every node (default: an empty dir, so no source is loaded). */
  readonly lmfdbCacheDir?: string;
  readonly extraAcceptorArgs?: readonly string[];
  /** Where data and logs go (default: a new temporary dir, removed by stop()). A given dir is kept. */
  readonly dir?: string;
  /** Environment added to every proposer (negative controls). */
  readonly proposerEnv?: NodeJS.ProcessEnv;
  /** Mutual TLS with certificates made for this cluster (default), or plaintext (--insecure). */
  readonly tls?: boolean;
}

export interface StartProposerOptions {
  /** The proposer id the process is given (--id; default the key it is started under): two processes may share one. */
  readonly identity?: number;
  /** Environment added to this process only. */
  readonly env?: NodeJS.ProcessEnv;
  /** False: return once the process is started, without waiting for it to serve (default true). */
  readonly waitServing?: boolean;
}

/**
 * A real cluster for tests: acceptor and proposer processes on free loopback ports, with data
 * and logs in a temporary directory (kept when KEEP_TEST_CLUSTER is set).
 */
export class TestCluster {
  readonly acceptors: Array<NodeProcess | undefined>;
  readonly proposers = new Map<number, NodeProcess>();
  private readonly proposerPorts = new Map<number, number>();
  /** Each node's Prometheus port ("acceptor-0", "proposer-1"), free ports chosen at start. */
  readonly metricsPorts = new Map<string, number>();
  private clientTransport: Transport | undefined;

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
    if (opts.tls !== false) ensureNetworkCertificates(join(dir, 'tls'), [...Array.from({ length: opts.acceptors }, (_, i) => `acceptor-${i}`), 'client-test']);
    // Every port at once (gRPC, then metrics): ports taken one by one may come back twice.
    const ports = await freePorts(2 * opts.acceptors);
    const cluster = new TestCluster(dir, ports.slice(0, opts.acceptors), opts);
    ports.slice(opts.acceptors).forEach((p, i) => cluster.metricsPorts.set(`acceptor-${i}`, p));
    TestCluster.running.add(cluster);
    await Promise.all(cluster.acceptorPorts.map((_, i) => cluster.startAcceptor(i, [], opts.waitServing ?? true)));
    return cluster;
  }

  private static readonly running = new Set<TestCluster>();

  /** Credentials for a test's client of the node at `address`: its cluster's client certificate (plaintext when no running cluster has it). */
  static credentialsFor(address: string): ChannelCredentials {
    for (const c of TestCluster.running) {
      if (c.acceptorAddresses.includes(address) || [...c.proposerPorts.values()].some((p) => `127.0.0.1:${p}` === address)) return c.credentials;
    }
    return channelCredentials(INSECURE);
  }

  /** Channel options for a test's client of the node at `address` (its TLS server name: serverNameOptions). */
  static channelOptionsFor(address: string): ChannelOptions {
    for (const c of TestCluster.running) {
      if (c.acceptorAddresses.includes(address) || [...c.proposerPorts.values()].some((p) => `127.0.0.1:${p}` === address)) return serverNameOptions(c.transport, address);
    }
    return {};
  }

  /** The TLS folder of this cluster (ca.crt and one certificate per node), or undefined with plaintext. */
  get tlsDir(): string | undefined {
    return this.opts.tls === false ? undefined : join(this.dir, 'tls');
  }

  /** How a test client reaches the nodes: the cluster's client certificate, or plaintext. */
  get transport(): Transport {
    const dir = this.tlsDir;
    this.clientTransport ??= dir === undefined ? INSECURE : loadTls(tlsFilesIn(dir, 'client-test'));
    return this.clientTransport;
  }

  /** Channel credentials for a test's own clients of the nodes. */
  get credentials(): ChannelCredentials {
    return channelCredentials(this.transport);
  }

  /** The node's metrics port: the same one across its restarts. */
  private async metricsPort(name: string): Promise<number> {
    const known = this.metricsPorts.get(name);
    if (known !== undefined) return known;
    const [port] = await freePorts(1);
    if (port === undefined) throw new Error('no free port');
    this.metricsPorts.set(name, port);
    return port;
  }

  /** The transport flags a node of this cluster is started with. */
  private transportArgs(): string[] {
    const dir = this.tlsDir;
    return dir === undefined ? ['--insecure'] : ['--tls-dir', dir];
  }

  get acceptorAddresses(): string[] {
    return this.acceptorPorts.map((p) => `127.0.0.1:${p}`);
  }

  get lmfdbCacheDir(): string {
    return this.opts.lmfdbCacheDir ?? join(this.dir, 'no-lmfdb-cache');
  }

  async startAcceptor(i: number, extraArgs: readonly string[] = [], waitServing = true): Promise<NodeProcess> {
    const address = this.acceptorAddresses[i] as string;
    const node = spawnNode({
      app: 'acceptor',
      name: `acceptor ${i}`,
      address,
      logFile: join(this.dir, `node_${i}.log`),
      args: [
        '--id', String(i), '--cluster-size', String(this.acceptorPorts.length), '--port', String(this.acceptorPorts[i]),
        '--data-dir', join(this.dir, `node_${i}.data`), '--lmfdb-cache', this.lmfdbCacheDir, ...this.transportArgs(),
        '--metrics-port', String(await this.metricsPort(`acceptor-${i}`)),
        ...(this.opts.extraAcceptorArgs ?? []), ...extraArgs,
      ],
      transport: this.transport,
    });
    this.acceptors[i] = node;
    // All of a cluster's acceptors start at once and share the machine's cores: 23 of them on 2
    // cores with another job running missed a fixed 20 s before any test had begun.
    if (waitServing) await node.waitServing(20_000 + 1_000 * Math.max(0, this.acceptorPorts.length - 5));
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
  async startProposer(id: number, extraArgs: readonly string[] = [], acceptors: readonly string[] = this.acceptorAddresses, o: StartProposerOptions = {}): Promise<NodeProcess> {
    const identity = o.identity ?? id;
    if (!this.proposerPorts.has(id)) {
      const [grpcPort, metricsPort] = await freePorts(2);
      if (grpcPort === undefined || metricsPort === undefined) throw new Error('no free port');
      this.proposerPorts.set(id, grpcPort);
      this.metricsPorts.set(`proposer-${id}`, metricsPort);
    }
    const port = this.proposerPorts.get(id) as number;
    const tls = this.tlsDir;
    if (tls !== undefined) ensureNetworkCertificates(tls, [`proposer-${identity}`]);
    const node = spawnNode({
      app: 'proposer',
      name: `proposer ${id}`,
      address: `127.0.0.1:${port}`,
      logFile: join(this.dir, `proposer_${id}.log`),
      args: [
        '--id', String(identity), '--port', String(port), '--acceptors', acceptors.join(','), '--lmfdb-cache', this.lmfdbCacheDir, ...this.transportArgs(),
        '--metrics-port', String(await this.metricsPort(`proposer-${id}`)), ...extraArgs,
      ],
      transport: this.transport,
      ...(this.opts.proposerEnv || o.env ? { env: { ...this.opts.proposerEnv, ...o.env } } : {}),
    });
    this.proposers.set(id, node);
    if (o.waitServing ?? true) await node.waitServing();
    return node;
  }

  proposerAddress(id: number): string {
    const port = this.proposerPorts.get(id);
    if (port === undefined) throw new Error(`proposer ${id} was never started`);
    return `127.0.0.1:${port}`;
  }

  /** One Propose call with a deadline; resolves with the answer or the gRPC error. */
  propose(proposerId: number, clientRequestId: string, value: Value, deadlineMs = 10_000): Promise<ProposeResponse> {
    const client = new ProposerServiceClient(this.proposerAddress(proposerId), this.credentials, serverNameOptions(this.transport, this.proposerAddress(proposerId)));
    return new Promise<ProposeResponse>((resolve, reject) =>
      client.propose({ clientRequestId, value, includeVotes: true }, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err: ServiceError | null, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res);
      }),
    );
  }

  async stop(): Promise<void> {
    TestCluster.running.delete(this);
    await Promise.all([...this.proposers.values(), ...this.acceptors].map((n) => n?.kill('SIGKILL')));
    if (!process.env['KEEP_TEST_CLUSTER'] && this.opts.dir === undefined) rmSync(this.dir, { recursive: true, force: true });
    releasePorts([...this.acceptorPorts, ...this.proposerPorts.values(), ...this.metricsPorts.values()]);
  }
}

export function textValue(text: string): Value {
  return { contentType: 'text/plain', data: Buffer.from(text) };
}
