// `npm run bench -- --compare-etcd`: our network against etcd, the system a backend team would
// pick instead, measured in one run on one machine. Debian's etcd (installed when missing, as
// .ci/run installs what it needs) runs with 3 and with 23 members on loopback, fsync on; it is
// driven by the npm etcd3 client (on grpc-js, as ours) with the same closed-loop generator,
// value size and duration as our unary, stream and bulk paths. The systems take turns, each on
// an idle machine, the whole round repeated. stdout has JSON lines only: one per run, then one
// summary line (medians with the spread, quorum-ready and memory at rest, the issue's ratios);
// the same summary as a table goes to stderr.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNetworkCertificates } from '@paxos/grpc-kit';
import { TestCluster, bundleApp, freePorts, releasePorts } from '@paxos/test-cluster';
import { Etcd3, type IOptions } from 'etcd3';
import { atExit } from './cleanup';
import { bulkPropose, openClients, streamPropose, unaryPropose } from './clients';
import { type LoadResult, runLoad, warmUp } from './load';
import { memoryOf } from './rss';

export interface CompareOptions {
  readonly levels: readonly number[];
  readonly durationMs: number;
  readonly valueBytes: number;
  readonly repeats: number;
  readonly acceptors: number;
}

export interface Run {
  readonly system: string;
  readonly mode: string;
  readonly concurrency: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export interface Footprint {
  readonly system: string;
  readonly quorumReadyMs: number;
  /** VmRSS summed over the system's processes at rest: shared pages (the node or etcd binary, libraries) once per process. */
  readonly restRssMb: number;
  /** PSS summed over the same processes: each shared page once in all. */
  readonly restPssMb: number;
  /** Processes whose smaps_rollup was unreadable: their RSS stands in for their PSS. */
  readonly pssFromRss: number;
}

/** The etcd binary: on PATH, else Debian's package installed now (root or sudo), else a clear error. */
function ensureEtcd(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  const asRoot = process.getuid?.() === 0;
  const install = asRoot ? ['apt-get', ['install', '-y', '-qq', 'etcd-server']] : ['sudo', ['apt-get', 'install', '-y', '-qq', 'etcd-server']];
  // apt-get's progress goes to stderr: stdout is the comparison's JSON lines.
  const r = spawnSync(install[0] as string, install[1] as string[], { stdio: ['inherit', 2, 'inherit'] });
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

/** How long the load's calls wait for an answer, etcd's and ours alike. */
const CALL_DEADLINE_MS = 10_000;
/** How long a cluster may take to take its first write, etcd's and ours alike. */
const FIRST_VALUE_WAIT_MS = 120_000;
/** Each write that probes for a quorum waits this long at most. */
const PROBE_DEADLINE_MS = 2000;

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
/** Each call made once, on one member: the etcd3 client's default retries a failed call up to three times on other members (an error hidden as latency), and its circuit breaker fails a member's calls for 5 s after three failures; our load generator does neither. */
const ONE_ATTEMPT = { execute: async (fn: (context: { signal: AbortSignal }) => unknown) => fn({ signal: new AbortController().signal }) } as unknown as FaultPolicy;

/** An etcd client as the load generator uses ours: a deadline on every call, one attempt each. */
export function etcdClient(endpoints: readonly string[], deadlineMs = CALL_DEADLINE_MS): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    // eslint-disable-next-line no-restricted-properties -- a gRPC deadline is a wall-clock time
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    faultHandling: { global: ONE_ATTEMPT, host: () => ONE_ATTEMPT },
  });
}

async function startEtcd(binary: string, members: number): Promise<EtcdCluster> {
  const ports = await freePorts(2 * members);
  const dir = mkdtempSync(join(tmpdir(), `bench-etcd${members}-`));
  const children: ChildProcess[] = [];
  // Killed and removed however the bench ends (an error, Ctrl-C, a kill), not only by stop().
  const undo = atExit(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    undo();
    releasePorts(ports);
  };
  try {
    const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
    const initial = Array.from({ length: members }, (_, i) => `m${i}=${peer(i)}`).join(',');
    const started = performance.now();
    let failed: string | undefined;
    for (let i = 0; i < members; i++) {
      const child = spawn(
        binary,
        [
          '--name', `m${i}`, '--data-dir', join(dir, `m${i}`),
          '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
          '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
          '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `bench-${process.pid}`,
          '--logger', 'zap', '--log-level', 'error',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
      child.once('error', (e) => (failed ??= `etcd member m${i} did not start: ${e.message}`));
      child.once('exit', (code, signal) => (failed ??= `etcd member m${i} exited (${signal ?? `code ${code}`}) before the cluster took a write: ${stderr.trim().slice(-500)}`));
      children.push(child);
    }
    const endpoints = Array.from({ length: members }, (_, i) => client(i));
    const etcd = etcdClient(endpoints, PROBE_DEADLINE_MS);
    let quorumReadyMs = -1;
    try {
      while (quorumReadyMs < 0) {
        if (failed) throw new Error(failed);
        if (performance.now() - started > FIRST_VALUE_WAIT_MS) throw new Error(`etcd with ${members} members did not take a write within ${FIRST_VALUE_WAIT_MS / 1000} s`);
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
    return { endpoints, pids: () => children.map((c) => c.pid as number), quorumReadyMs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
/** The median of the figures there are (a run that completed nothing has no latency: NaN, left out). */
export const median = (xs: readonly number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function report(system: string, mode: string, concurrency: number, r: LoadResult): Run {
  const run: Run = { system, mode, concurrency, opsPerSecond: round(r.perSecond, 1), p50Ms: round(r.p50Ms), p99Ms: round(r.p99Ms), errors: r.errors };
  console.log(JSON.stringify({ ...run, ...(r.firstError ? { firstError: r.firstError } : {}) }));
  return run;
}

/** Resident memory of the processes after `settleMs` at rest: the RSS and PSS sums. */
async function restMemory(pids: readonly number[], settleMs: number): Promise<Pick<Footprint, 'restRssMb' | 'restPssMb' | 'pssFromRss'>> {
  await new Promise((r) => setTimeout(r, settleMs));
  const m = memoryOf(pids);
  return { restRssMb: round(m.rssMb, 1), restPssMb: round(m.pssMb, 1), pssFromRss: m.pssFromRss };
}

async function measureEtcd(binary: string, members: number, o: CompareOptions, value: Buffer, runs: Run[], footprints: Footprint[]): Promise<void> {
  const cluster = await startEtcd(binary, members);
  const system = `etcd-${members}`;
  const etcd = etcdClient(cluster.endpoints);
  try {
    footprints.push({ system, quorumReadyMs: cluster.quorumReadyMs, ...(await restMemory(cluster.pids(), 3000)) });
    const put = (seq: number) => etcd.put(`bench/${seq % 100_000}`).value(value).exec();
    await warmUp(`${system} at ${cluster.endpoints.join(',')}`, put, 8, 1000);
    for (const c of o.levels) runs.push(report(system, 'put', c, await runLoad(put, c, o.durationMs)));
  } finally {
    etcd.close();
    await cluster.stop();
  }
}

async function measureOurs(o: CompareOptions, value: Buffer, runs: Run[], footprints: Footprint[]): Promise<void> {
  // Timed as etcd is: from starting the processes to the first value chosen. Bundling the apps and
  // making the certificates are build and provisioning steps (etcd's binary is built, and it runs
  // plaintext here): they happen before the clock starts.
  bundleApp('acceptor');
  bundleApp('proposer');
  const dir = mkdtempSync(join(tmpdir(), 'bench-ours-'));
  // Removed however the bench ends (the nodes are killed at exit by their NodeProcess).
  const removeDir = atExit(() => rmSync(dir, { recursive: true, force: true }));
  let cluster: TestCluster | undefined;
  let clients: ReturnType<typeof openClients> = [];
  try {
    ensureNetworkCertificates(join(dir, 'tls'), [...Array.from({ length: o.acceptors }, (_, i) => `acceptor-${i}`), 'proposer-1', 'client-test']);
    // Every process at once, as etcd's members are started: the proposer learns the log once a
    // quorum of acceptors answers, and the first value is chosen by the first quorum that serves.
    const started = performance.now();
    cluster = await TestCluster.start({ acceptors: o.acceptors, dir, waitServing: false });
    const proposer = await cluster.startProposer(1, [], cluster.acceptorAddresses, { waitServing: false });
    clients = openClients(cluster.proposerAddress(1), cluster.transport);
    // eslint-disable-next-line no-restricted-properties -- a moment, to tell runs apart
    const tag = `compare-${process.pid}-${Date.now()}`;
    let quorumReadyMs = -1;
    const first = unaryPropose(clients, value, PROBE_DEADLINE_MS, `${tag}-ready`);
    while (quorumReadyMs < 0) {
      try {
        await first(0);
        quorumReadyMs = Math.round(performance.now() - started);
      } catch (e) {
        if (performance.now() - started > FIRST_VALUE_WAIT_MS) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const acceptors = cluster.acceptors;
    // Memory at rest is read with every node up, as etcd's with every member.
    await Promise.all([proposer, ...acceptors].map((n) => n?.waitServing(FIRST_VALUE_WAIT_MS)));
    const pids = () => [proposer.child.pid as number, ...acceptors.map((a) => a?.child.pid as number)];
    footprints.push({ system: 'ours', quorumReadyMs, ...(await restMemory(pids(), 3000)) });
    await warmUp(`our proposer at ${cluster.proposerAddress(1)}`, unaryPropose(clients, value, CALL_DEADLINE_MS, `${tag}-warm`), 8, 1000);
    for (const c of o.levels) {
      runs.push(report('ours', 'unary', c, await runLoad(unaryPropose(clients, value, CALL_DEADLINE_MS, `${tag}-u${c}`), c, o.durationMs)));
      const s = streamPropose(clients, value, `${tag}-s${c}`, 4);
      runs.push(report('ours', 'stream', c, await runLoad(s.call, c, o.durationMs)));
      s.close();
      const b = bulkPropose(clients, value, `${tag}-b${c}`, 4, 64);
      runs.push(report('ours', 'bulk', c, await runLoad(b.call, c, o.durationMs)));
      b.close();
    }
  } finally {
    for (const c of clients) c.close();
    await cluster?.stop();
    removeDir();
  }
}

/** The medians over the rounds of one system's runs in one mode at one concurrency, and each run's throughput. */
export function summarize(runs: readonly Run[], system: string, mode: string, c: number): { ops: number; p50: number; p99: number; spread: number[] } {
  const rs = runs.filter((r) => r.system === system && r.mode === mode && r.concurrency === c);
  return { ops: median(rs.map((r) => r.opsPerSecond)), p50: median(rs.map((r) => r.p50Ms)), p99: median(rs.map((r) => r.p99Ms)), spread: rs.map((r) => r.opsPerSecond) };
}

/**
 * The performance issue's ratios, each of two medians of the same quantity at the same C:
 * against etcd with 3 members and with as many members as we have acceptors (`members`).
 */
export function comparisonRatios(runs: readonly Run[], footprints: readonly Footprint[], levels: readonly number[], members: number): Record<string, number> {
  const big = `etcd-${members}`;
  const s = (system: string, mode: string, c: number) => summarize(runs, system, mode, c);
  const foot = (system: string, f: (x: Footprint) => number) => median(footprints.filter((x) => x.system === system).map(f));
  const ratios: Record<string, number> = {};
  if (levels.includes(1)) {
    ratios[`unary C=1 p50 / ${big} p50 (target <= 0.6)`] = round(s('ours', 'unary', 1).p50 / s(big, 'put', 1).p50, 3);
    ratios['unary C=1 p50 / ProposeStream C=1 p50 (target <= 1.2)'] = round(s('ours', 'unary', 1).p50 / s('ours', 'stream', 1).p50, 3);
  }
  if (levels.includes(256)) {
    ratios['unary C=256 ops / etcd-3 ops (target >= 1)'] = round(s('ours', 'unary', 256).ops / s('etcd-3', 'put', 256).ops, 3);
    ratios['bulk C=256 ops / etcd-3 ops (target >= 2.5)'] = round(s('ours', 'bulk', 256).ops / s('etcd-3', 'put', 256).ops, 3);
    ratios['bulk C=256 p99 / etcd-3 p99 (target < 1)'] = round(s('ours', 'bulk', 256).p99 / s('etcd-3', 'put', 256).p99, 3);
  }
  // Both sums, each of both systems alike: RSS counts the binary's shared pages once per process
  // (24 node processes against `members` etcd ones), PSS once in all.
  ratios[`memory at rest, RSS sum / ${big} (target <= 0.8)`] = round(foot('ours', (f) => f.restRssMb) / foot(big, (f) => f.restRssMb), 3);
  ratios[`memory at rest, PSS sum / ${big} (target <= 0.8)`] = round(foot('ours', (f) => f.restPssMb) / foot(big, (f) => f.restPssMb), 3);
  ratios[`quorum-ready / ${big}`] = round(foot('ours', (f) => f.quorumReadyMs) / foot(big, (f) => f.quorumReadyMs), 3);
  return ratios;
}

/** One system's figures at rest over the rounds: the medians, and each round's. */
export interface FootprintSummary {
  readonly system: string;
  readonly quorumReadyMs: number;
  readonly restRssMb: number;
  readonly restPssMb: number;
  readonly rounds: ReadonlyArray<Omit<Footprint, 'system'>>;
}

/** The comparison's last JSON line: what it compared, the medians with each run's throughput, the footprints and the ratios. */
export interface ComparisonSummary {
  readonly comparison: 'etcd';
  readonly rounds: number;
  readonly acceptors: number;
  readonly valueBytes: number;
  readonly durationMs: number;
  readonly medians: ReadonlyArray<{ system: string; mode: string; concurrency: number; opsPerSecond: number; p50Ms: number; p99Ms: number; runsOpsPerSecond: number[] }>;
  readonly footprints: readonly FootprintSummary[];
  readonly ratios: Record<string, number>;
}

/**
 * The summary line and the table of a finished comparison. The line is one JSON object on one
 * line (a figure there is none of, NaN, is null in it); the table, for a person, ends in a newline.
 */
export function comparisonOutput(runs: readonly Run[], footprints: readonly Footprint[], o: Pick<CompareOptions, 'levels' | 'repeats' | 'acceptors' | 'valueBytes' | 'durationMs'>): { summaryLine: string; table: string } {
  const etcds = [...new Set([3, o.acceptors])].map((n) => `etcd-${n}`);
  const medians: Array<ComparisonSummary['medians'][number]> = [];
  for (const [system, mode] of [...etcds.map((e) => [e, 'put'] as const), ['ours', 'unary'], ['ours', 'stream'], ['ours', 'bulk']] as const) {
    for (const c of o.levels) {
      const s = summarize(runs, system, mode, c);
      medians.push({ system, mode, concurrency: c, opsPerSecond: round(s.ops, 1), p50Ms: round(s.p50), p99Ms: round(s.p99), runsOpsPerSecond: s.spread });
    }
  }
  const foot = (system: string) => footprints.filter((f) => f.system === system);
  const footSummaries: FootprintSummary[] = [...etcds, 'ours'].map((system) => {
    const fs = foot(system);
    return {
      system,
      quorumReadyMs: median(fs.map((f) => f.quorumReadyMs)),
      restRssMb: round(median(fs.map((f) => f.restRssMb)), 1),
      restPssMb: round(median(fs.map((f) => f.restPssMb)), 1),
      rounds: fs.map(({ system: _, ...rest }) => rest),
    };
  });
  const ratios = comparisonRatios(runs, footprints, o.levels, o.acceptors);
  const summary: ComparisonSummary = { comparison: 'etcd', rounds: o.repeats, acceptors: o.acceptors, valueBytes: o.valueBytes, durationMs: o.durationMs, medians, footprints: footSummaries, ratios };
  const rows = medians.map((m) => `${`${m.system} ${m.mode}`.padEnd(14)} C=${String(m.concurrency).padEnd(4)} ${String(m.opsPerSecond).padStart(8)} ops/s (runs ${m.runsOpsPerSecond.join(', ')})  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms`);
  for (const system of [...etcds, 'ours']) {
    const fs = foot(system);
    rows.push(
      `${system.padEnd(8)} quorum-ready ${fs.map((f) => `${(f.quorumReadyMs / 1000).toFixed(2)} s`).join(', ')}; at rest RSS sum ${fs.map((f) => `${f.restRssMb} MB`).join(', ')}, PSS sum ${fs.map((f) => `${f.restPssMb} MB${f.pssFromRss > 0 ? ` (${f.pssFromRss} processes' PSS unreadable: their RSS)` : ''}`).join(', ')}`,
    );
  }
  const table = ['', 'medians over the rounds (each system alone on the machine, in turns):', ...rows, '', 'ratios:', ...Object.entries(ratios).map(([k, v]) => `  ${k}: ${v}`), ''].join('\n');
  return { summaryLine: JSON.stringify(summary), table };
}

/**
 * Runs the comparison and prints the runs, the medians and the ratios the performance issue sets.
 * etcd runs with 3 members and with as many as our network has acceptors (23 unless --acceptors
 * says otherwise), so the memory and quorum-ready ratios set like against like.
 */
export async function compareWithEtcd(o: CompareOptions): Promise<void> {
  const binary = ensureEtcd();
  if (!existsSync(binary)) throw new Error(`etcd not found at ${binary}`);
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const runs: Run[] = [];
  const footprints: Footprint[] = [];
  const sizes = [...new Set([3, o.acceptors])];
  // The systems take turns, in a different order each round, so a slow spell of the machine does not fall on one.
  const systems: Array<() => Promise<void>> = [...sizes.map((n) => () => measureEtcd(binary, n, o, value, runs, footprints)), () => measureOurs(o, value, runs, footprints)];
  for (let round = 0; round < o.repeats; round++) {
    const order = round % 2 === 0 ? systems : [...systems].reverse();
    for (const measure of order) await measure();
  }
  const out = comparisonOutput(runs, footprints, o);
  // stdout carries JSON lines only (the runs, then this summary), for tools reading it line by
  // line; the table for a person goes to stderr.
  process.stderr.write(out.table);
  console.log(out.summaryLine);
}
