// `npm run bench -- --compare-etcd`: our network against etcd, the system a backend team would
// pick instead, measured in one run on one machine. Debian's etcd (installed when missing, as
// .ci/run installs what it needs) runs with 3 and with 23 members on loopback, fsync on; it is
// driven by the npm etcd3 client (on grpc-js, as ours) with the same closed-loop generator,
// value size and duration as our unary, stream and bulk paths. The systems take turns, each on
// an idle machine, the whole round repeated; one JSON line per run, then medians with the spread
// and the issue's ratios.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNetworkCertificates } from '@paxos/grpc-kit';
import { TestCluster, bundleApp, freePorts } from '@paxos/test-cluster';
import { Etcd3 } from 'etcd3';
import { bulkPropose, openClients, streamPropose, unaryPropose } from './clients';
import { type LoadResult, runLoad, warmUp } from './load';
import { rssMb } from './rss';

export interface CompareOptions {
  readonly levels: readonly number[];
  readonly durationMs: number;
  readonly valueBytes: number;
  readonly repeats: number;
  readonly acceptors: number;
}

interface Run {
  readonly system: string;
  readonly mode: string;
  readonly concurrency: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

interface Footprint {
  readonly system: string;
  readonly quorumReadyMs: number;
  readonly restRssMb: number;
}

/** The etcd binary: on PATH, else Debian's package installed now (root or sudo), else a clear error. */
function ensureEtcd(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  const asRoot = process.getuid?.() === 0;
  const install = asRoot ? ['apt-get', ['install', '-y', '-qq', 'etcd-server']] : ['sudo', ['apt-get', 'install', '-y', '-qq', 'etcd-server']];
  const r = spawnSync(install[0] as string, install[1] as string[], { stdio: 'inherit' });
  const after = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (r.status !== 0 || !after) throw new Error("etcd is not installed and apt-get could not install Debian's etcd-server: install it (apt-get install etcd-server) and run again");
  return after;
}

interface EtcdCluster {
  readonly endpoints: string[];
  readonly pids: () => number[];
  readonly quorumReadyMs: number;
  stop(): Promise<void>;
}

async function startEtcd(binary: string, members: number): Promise<EtcdCluster> {
  const ports = await freePorts(2 * members);
  const dir = mkdtempSync(join(tmpdir(), `bench-etcd${members}-`));
  const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
  const initial = Array.from({ length: members }, (_, i) => `m${i}=${peer(i)}`).join(',');
  const started = performance.now();
  const children: ChildProcess[] = Array.from({ length: members }, (_, i) =>
    spawn(
      binary,
      [
        '--name', `m${i}`, '--data-dir', join(dir, `m${i}`),
        '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
        '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `bench-${process.pid}`,
        '--logger', 'zap', '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    ),
  );
  const endpoints = Array.from({ length: members }, (_, i) => client(i));
  const etcd = new Etcd3({ hosts: endpoints });
  let quorumReadyMs = -1;
  try {
    for (let i = 0; i < 1200 && quorumReadyMs < 0; i++) {
      try {
        await etcd.put('bench-ready').value('1').exec();
        quorumReadyMs = Math.round(performance.now() - started);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    etcd.close();
  }
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  };
  if (quorumReadyMs < 0) {
    await stop();
    throw new Error(`etcd with ${members} members did not take a write within 120 s`);
  }
  return { endpoints, pids: () => children.map((c) => c.pid as number), quorumReadyMs, stop };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function report(system: string, mode: string, concurrency: number, r: LoadResult): Run {
  const run: Run = { system, mode, concurrency, opsPerSecond: round(r.perSecond, 1), p50Ms: round(r.p50Ms), p99Ms: round(r.p99Ms), errors: r.errors };
  console.log(JSON.stringify({ ...run, ...(r.firstError ? { firstError: r.firstError } : {}) }));
  return run;
}

/** Resident memory of the processes after `settleMs` at rest. */
async function restRss(pids: readonly number[], settleMs: number): Promise<number> {
  await new Promise((r) => setTimeout(r, settleMs));
  return round(pids.reduce((s, p) => s + rssMb(p), 0), 1);
}

async function measureEtcd(binary: string, members: number, o: CompareOptions, value: Buffer, runs: Run[], footprints: Footprint[]): Promise<void> {
  const cluster = await startEtcd(binary, members);
  const system = `etcd-${members}`;
  footprints.push({ system, quorumReadyMs: cluster.quorumReadyMs, restRssMb: await restRss(cluster.pids(), 3000) });
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  try {
    const put = (seq: number) => etcd.put(`bench/${seq % 100_000}`).value(value).exec();
    await warmUp(`${system} at ${cluster.endpoints.join(',')}`, put, 8, 1000);
    for (const c of o.levels) runs.push(report(system, 'put', c, await runLoad(put, c, o.durationMs)));
  } finally {
    etcd.close();
    await cluster.stop();
  }
}

/** How long a first value may take to be chosen after the processes start. */
const FIRST_VALUE_WAIT_MS = 120_000;

async function measureOurs(o: CompareOptions, value: Buffer, runs: Run[], footprints: Footprint[]): Promise<void> {
  // Timed as etcd is: from starting the processes to the first value chosen. Bundling the apps and
  // making the certificates are build and provisioning steps (etcd's binary is built, and it runs
  // plaintext here): they happen before the clock starts.
  bundleApp('acceptor');
  bundleApp('proposer');
  const dir = mkdtempSync(join(tmpdir(), 'bench-ours-'));
  ensureNetworkCertificates(join(dir, 'tls'), [...Array.from({ length: o.acceptors }, (_, i) => `acceptor-${i}`), 'proposer-1', 'client-test']);
  const started = performance.now();
  const cluster = await TestCluster.start({ acceptors: o.acceptors, dir });
  const proposer = await cluster.startProposer(1);
  const clients = openClients(cluster.proposerAddress(1), cluster.transport);
  // eslint-disable-next-line no-restricted-properties -- a moment, to tell runs apart
  const tag = `compare-${process.pid}-${Date.now()}`;
  try {
    let quorumReadyMs = -1;
    const first = unaryPropose(clients, value, 2000, `${tag}-ready`);
    while (quorumReadyMs < 0) {
      try {
        await first(0);
        quorumReadyMs = Math.round(performance.now() - started);
      } catch (e) {
        if (performance.now() - started > FIRST_VALUE_WAIT_MS) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pids = () => [proposer.child.pid as number, ...cluster.acceptors.map((a) => a?.child.pid as number)];
    footprints.push({ system: 'ours', quorumReadyMs, restRssMb: await restRss(pids(), 3000) });
    await warmUp(`our proposer at ${cluster.proposerAddress(1)}`, unaryPropose(clients, value, 10_000, `${tag}-warm`), 8, 1000);
    for (const c of o.levels) {
      runs.push(report('ours', 'unary', c, await runLoad(unaryPropose(clients, value, 10_000, `${tag}-u${c}`), c, o.durationMs)));
      const s = streamPropose(clients, value, `${tag}-s${c}`, 4);
      runs.push(report('ours', 'stream', c, await runLoad(s.call, c, o.durationMs)));
      s.close();
      const b = bulkPropose(clients, value, `${tag}-b${c}`, 4, 64);
      runs.push(report('ours', 'bulk', c, await runLoad(b.call, c, o.durationMs)));
      b.close();
    }
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the comparison and prints the runs, the medians and the ratios the performance issue sets. */
export async function compareWithEtcd(o: CompareOptions): Promise<void> {
  const binary = ensureEtcd();
  if (!existsSync(binary)) throw new Error(`etcd not found at ${binary}`);
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const runs: Run[] = [];
  const footprints: Footprint[] = [];
  // The systems take turns, in a different order each round, so a slow spell of the machine does not fall on one.
  const systems: Array<() => Promise<void>> = [() => measureEtcd(binary, 3, o, value, runs, footprints), () => measureEtcd(binary, 23, o, value, runs, footprints), () => measureOurs(o, value, runs, footprints)];
  for (let round = 0; round < o.repeats; round++) {
    const order = round % 2 === 0 ? systems : [...systems].reverse();
    for (const measure of order) await measure();
  }
  const pick = (system: string, mode: string, c: number) => runs.filter((r) => r.system === system && r.mode === mode && r.concurrency === c);
  const summary = (system: string, mode: string, c: number) => {
    const rs = pick(system, mode, c);
    return { ops: median(rs.map((r) => r.opsPerSecond)), p50: median(rs.map((r) => r.p50Ms)), p99: median(rs.map((r) => r.p99Ms)), spread: rs.map((r) => r.opsPerSecond) };
  };
  const rows: string[] = [];
  for (const [system, mode] of [['etcd-3', 'put'], ['etcd-23', 'put'], ['ours', 'unary'], ['ours', 'stream'], ['ours', 'bulk']] as const) {
    for (const c of o.levels) {
      const s = summary(system, mode, c);
      rows.push(`${`${system} ${mode}`.padEnd(14)} C=${String(c).padEnd(4)} ${String(round(s.ops, 1)).padStart(8)} ops/s (runs ${s.spread.join(', ')})  p50 ${round(s.p50)} ms  p99 ${round(s.p99)} ms`);
    }
  }
  const foot = (system: string) => footprints.filter((f) => f.system === system);
  for (const system of ['etcd-3', 'etcd-23', 'ours']) {
    rows.push(`${system.padEnd(8)} quorum-ready ${foot(system).map((f) => `${(f.quorumReadyMs / 1000).toFixed(2)} s`).join(', ')}; resident at rest ${foot(system).map((f) => `${f.restRssMb} MB`).join(', ')}`);
  }
  const has = (c: number) => o.levels.includes(c);
  const ratios: Record<string, number> = {};
  if (has(1)) {
    ratios['unary C=1 p50 / etcd-23 p50 (target <= 0.6)'] = round(summary('ours', 'unary', 1).p50 / summary('etcd-23', 'put', 1).p50, 3);
    ratios['unary C=1 p50 / ProposeStream C=1 p50 (target <= 1.2)'] = round(summary('ours', 'unary', 1).p50 / summary('ours', 'stream', 1).p50, 3);
  }
  if (has(256)) {
    ratios['unary C=256 ops / etcd-3 ops (target >= 1)'] = round(summary('ours', 'unary', 256).ops / summary('etcd-3', 'put', 256).ops, 3);
    ratios['bulk C=256 ops / etcd-3 ops (target >= 2.5)'] = round(summary('ours', 'bulk', 256).ops / summary('etcd-3', 'put', 256).ops, 3);
    ratios['bulk C=256 p99 / etcd-3 p99 (target < 1)'] = round(summary('ours', 'bulk', 256).p99 / summary('etcd-3', 'put', 256).p99, 3);
  }
  ratios['memory at rest / etcd-23 (target <= 0.8)'] = round(median(foot('ours').map((f) => f.restRssMb)) / median(foot('etcd-23').map((f) => f.restRssMb)), 3);
  ratios['quorum-ready / etcd-23'] = round(median(foot('ours').map((f) => f.quorumReadyMs)) / median(foot('etcd-23').map((f) => f.quorumReadyMs)), 3);
  console.log(['', 'medians over the rounds (each system alone on the machine, in turns):', ...rows, '', 'ratios:', ...Object.entries(ratios).map(([k, v]) => `  ${k}: ${v}`)].join('\n'));
  console.log(JSON.stringify({ comparison: 'etcd', rounds: o.repeats, acceptors: o.acceptors, valueBytes: o.valueBytes, durationMs: o.durationMs, ratios }));
}
