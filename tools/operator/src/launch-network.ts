import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Quorum } from '@paxos/consensus-core';
import { cacheFilePath, readCacheFile, SOURCE_COUNT } from '@paxos/lmfdb-client';
import { ConfigError, ensureNetworkCertificates, isServing, type Transport } from '@paxos/grpc-kit';
import { CLIENT_CERT_NAME, clientTransport, INGEST_CERT_NAME, STATUS_CERT_NAME, STATUS_PAGE_NAME, dataDir, defaultNetworkDir, LAYOUT_FILE, layoutProblem, lockNetworkDir, NETWORK_LOCK_FILE, logFile, type NetworkLayout, networkTlsDir, type NodeLayout, pidFile, portOf, readLayout, workspaceRoot, writeLayout } from './network-dir';
import { holdsVoteLog, holdsVotes, recordedClusterSize } from './acceptor-data-dir';
import { portProblem } from './port-check';
import { acceptorStatus } from './probe';
import { canonicalDir, isAlive, isOurs, isPaused, lastLogLine, LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV, listensOn, markedProcesses, readPid, removePid, removeStaleTemporaries, shutdownSignal, sleep, stopProcess, writePid } from './processes';
import { shellWord } from './shell-word';

export interface LaunchOptions {
  readonly nodes: number;
  readonly basePort: number;
  readonly proposerPort: number;
  /** HTTP port of the live status page. */
  readonly statusPort: number;
  /** Metrics port of acceptor 0: acceptor i on metricsPort + i, the proposer on metricsPort + 101 (default base port + 2000). */
  readonly metricsPort?: number;
  readonly dir: string;
  readonly lmfdbCacheDir: string;
  /** Undefined: the shipped snapshot (offline). */
  readonly baseUrl?: string;
  readonly readyTimeoutMs: number;
  /** Plaintext gRPC (no certificates): local experiments only. */
  readonly insecure?: boolean;
  readonly out: (line: string) => void;
}

export interface LaunchedNode extends NodeLayout {
  /** Absent for a node launch did not start (an acceptor that lost its data). */
  readonly pid?: number;
  readonly readyAfterMs?: number;
  /** Why it is not ready: its process exited (with its log's last line), or another process holds its port. */
  readonly problem?: string;
}

export interface LaunchResult {
  readonly layout: NetworkLayout;
  readonly nodes: readonly LaunchedNode[];
  readonly quorum: Quorum;
  readonly healthy: number;
  readonly quorumReadyMs?: number;
  readonly allReadyMs?: number;
  /** Time spent making the network's certificates (those still valid are kept). */
  readonly certificatesMs?: number;
  /** The status page's URL once it answers (absent: it did not start; see its log). */
  readonly statusPageUrl?: string;
  /** Why the status page did not answer (its log's last line), when it did not. */
  readonly statusPageProblem?: string;
}

/**
 * V8 flags per role. A 1 MiB young generation keeps each of the 23 acceptors small; the proposer,
 * one process every value passes through, keeps V8's default (measured: its scavenges cost ~8%
 * of its throughput with 1 MiB).
 */
const NODE_FLAGS: Record<NodeLayout['role'], readonly string[]> = { acceptor: ['--max-semi-space-size=1'], proposer: [] };

/** The pid files launch writes: node_<i>.pid, proposer.pid, status-page.pid (no other file in the dir is touched). */
const PID_FILE = new RegExp(`^(node_\\d+|proposer|${STATUS_PAGE_NAME})\\.pid$`);

/** Whether dir holds any pid file launch writes. */
export function hasPidFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => PID_FILE.test(f));
}

/**
 * A network that is already running in dir: its live pids. With removeStale (only under the
 * dir's lock: a launch may be writing them), pid files of processes that are gone are removed,
 * and a process launch started without leaving its pid file (a launch killed between the two)
 * gets one: stop, restart-missing and rejoin then find it, where it would otherwise hold its
 * port unseen and the next launch be refused for "ports in use".
 */
export function runningProcesses(dir: string, opts: { removeStale?: boolean } = {}): Array<{ name: string; pid: number }> {
  if (!existsSync(dir)) return [];
  const live: Array<{ name: string; pid: number }> = [];
  for (const f of readdirSync(dir).filter((f) => PID_FILE.test(f))) {
    const path = join(dir, f);
    const pid = readPid(path);
    const name = f.slice(0, -4);
    if (pid !== undefined && isOurs(pid, dir, name)) live.push({ name, pid });
    else if (opts.removeStale) removePid(path);
  }
  for (const p of markedProcesses(dir)) {
    if (!PID_FILE.test(`${p.name}.pid`) || live.some((l) => l.pid === p.pid)) continue;
    if (opts.removeStale && !live.some((l) => l.name === p.name)) {
      try {
        writePid(pidFile(dir, p.name), p.pid);
      } catch {
        // A full or read-only disk: the process is still found by its environment (stop must end it all the same).
      }
    }
    live.push(p);
  }
  if (opts.removeStale) removeStaleTemporaries(dir);
  return live;
}

const acceptorsOf = (layout: NetworkLayout): NodeLayout[] => layout.nodes.filter((n) => n.role === 'acceptor');

/** The layout a launch before this one left in dir, or undefined when there is none that can be read. */
function previousLayout(dir: string): NetworkLayout | undefined {
  try {
    return readLayout(dir);
  } catch {
    return undefined;
  }
}

/**
 * A launch with another number of acceptors than the network whose data is in dir: the old and
 * new quorums need not intersect, so a value chosen before could be overwritten. Refused before
 * anything starts (each acceptor also refuses a data dir made for another size).
 */
export function refuseMembershipChange(dir: string, nodes: number): void {
  const dataDirs = existsSync(dir) ? readdirSync(dir).filter((f) => /^node_\d+\.data$/.test(f)) : [];
  if (dataDirs.length === 0) return;
  let before: number | undefined;
  try {
    before = readLayout(dir).nodes.filter((n) => n.role === 'acceptor').length;
  } catch {
    before = undefined;
  }
  if (before === nodes) return;
  if (before === undefined) {
    // Without network.json the acceptors' own node.json files say the size their votes belong to
    // (each acceptor refuses another --cluster-size): when they agree, that size continues the
    // network. Refused on the count of data dirs alone, "launch with --nodes N" was refused again.
    // (A data dir without node.json holds no votes of its own: an acceptor that lost its data.)
    const sizes = new Set(dataDirs.flatMap((d) => recordedClusterSize(join(dir, d)) ?? []));
    const recorded = sizes.size === 1 ? [...sizes][0] : undefined;
    if (recorded === nodes) return;
    if (recorded === undefined) {
      throw new ConfigError(
        `${dir} holds the data of ${dataDirs.length} acceptors, and neither its ${LAYOUT_FILE} (missing or unreadable) nor their node.json files (each names its clusterSize) agree on how many acceptors the network had: ` +
          `launching ${nodes} on it could lose a chosen value. Restore ${join(dir, LAYOUT_FILE)} and launch again; or choose another --dir for a new network (or remove ${dir} to discard its data).`,
      );
    }
    before = recorded;
  }
  throw new ConfigError(
    `${dir} holds the data of a network of ${before} acceptors; launching ${nodes} on it is refused: ` +
      'the old and the new quorums need not intersect, so a chosen value could be lost. ' +
      `Launch with --nodes ${before} to continue that network, or choose another --dir for a new one (or remove ${dir} to discard its data).`,
  );
}

/**
 * Acceptors of the layout whose data dir is missing or empty while another acceptor's holds data:
 * they lost their data. Started as they are they would forget promises and votes they gave (two
 * values could then be chosen for one slot), so launch leaves them down and says how to bring
 * them back (npm run rejoin). Those of `except` are being rejoined.
 */
export function lostData(dir: string, layout: NetworkLayout, except: ReadonlySet<string> = new Set()): Map<string, string> {
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const lost = new Map<string, string>();
  // A new network whose launch was cut short (killed while it started the acceptors): those it
  // never started hold no data because they never ran, and no proposer of it ran yet.
  if (layout.acceptorsStarting === true) return lost;
  if (!acceptors.some((a) => holdsVotes(dataDir(dir, a.name)))) return lost;
  for (const a of acceptors) {
    // A vote log without node.json is not lost data: started, the acceptor refuses it and names node.json to restore.
    if (except.has(a.name) || holdsVotes(dataDir(dir, a.name)) || holdsVoteLog(dataDir(dir, a.name))) continue;
    lost.set(
      a.name,
      `not started: its data dir ${dataDir(dir, a.name)} holds no data while the other acceptors' do, so it lost its data; ` +
        `started empty it would forget promises and votes it gave. Bring it back with npm run rejoin -- --node ${a.id}${dir === defaultNetworkDir() ? '' : ` --dir ${shellWord(dir)}`}`,
    );
  }
  return lost;
}

/** Runs a script to its end; `refusedOn`: an exit code that means the work was refused before it began (a ConfigError: launch exits 2). */
function runNode(script: string, args: readonly string[], what: string, refusedOn?: number): void {
  // PAXOS_PARENT_PID: the ingest stops once this process is gone (a launch killed half way).
  const r = spawnSync(process.execPath, [script, ...args], { cwd: workspaceRoot(), stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PAXOS_PARENT_PID: String(process.pid) } });
  if (refusedOn !== undefined && r.status === refusedOn) throw new ConfigError(`${what} refused (exit ${r.status}, said above): nothing was started`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
}

/** lmfdb-ingest's exit code when another ingest fills the cache (its --help). */
const INGEST_EXIT_CACHE_IN_USE = 3;

/** Bundles the apps the network runs (the restarted nodes of a checkout that moved on run its current code, not a stale dist/). */
function bundleApps(): void {
  runNode(join(workspaceRoot(), 'tools/scripts/bundle.mjs'), ['acceptor', 'proposer', 'lmfdb-ingest', 'status-page'], 'bundling the apps');
}

/**
 * The sources whose cache file in cacheDir is missing or damaged, each with why: a file cut short,
 * whose records do not hash to its sha256, or that holds another source. The nodes would not load
 * such a file (each then refuses claims on that source as unverifiable), and a launch that only
 * looked for the files said the cache held the ten sources.
 */
export async function sourcesToFill(cacheDir: string): Promise<Map<number, string>> {
  const fill = new Map<number, string>();
  for (let n = 0; n < SOURCE_COUNT; n++) {
    const path = cacheFilePath(cacheDir, n);
    if (!existsSync(path)) {
      fill.set(n, 'missing');
      continue;
    }
    try {
      const file = await readCacheFile(path);
      if (file.source !== n) fill.set(n, `cache file ${path}: holds source ${file.source}, not source ${n}`);
    } catch (e) {
      fill.set(n, e instanceof Error ? e.message : String(e));
    }
  }
  return fill;
}

/** Bundles the apps and fills the LMFDB cache (snapshot or live API): the sources it lacks, and those whose file is damaged. */
export async function prepare(opts: LaunchOptions): Promise<void> {
  bundleApps();
  const fill = await sourcesToFill(opts.lmfdbCacheDir);
  if (fill.size === 0) {
    opts.out(`LMFDB cache ${opts.lmfdbCacheDir} holds the ten sources`);
    return;
  }
  const sources = [...fill.keys()];
  for (const [n, why] of fill) if (why !== 'missing') opts.out(`LMFDB source ${n} is damaged (${why}): filled again`);
  opts.out(`LMFDB cache ${opts.lmfdbCacheDir} lacks sources ${sources.join(',')}: ${opts.baseUrl ? `ingesting from ${opts.baseUrl}` : 'loading the shipped snapshot'}`);
  const ingest = join(workspaceRoot(), 'dist/apps/lmfdb-ingest/main.js');
  const args = ['--sources', sources.join(','), '--cache-dir', opts.lmfdbCacheDir, ...(opts.baseUrl ? ['--base-url', opts.baseUrl] : ['--offline'])];
  runNode(ingest, args, 'LMFDB ingest', INGEST_EXIT_CACHE_IN_USE);
}

function startProcess(dir: string, name: string, nodeFlags: readonly string[], script: string, args: readonly string[]): number {
  const log = openSync(logFile(dir, name), 'a');
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    cwd: workspaceRoot(),
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, [LAUNCH_MARKER_ENV]: canonicalDir(dir), [LAUNCH_NAME_ENV]: name },
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  child.unref();
  try {
    writePid(pidFile(dir, name), child.pid);
  } catch (e) {
    // Started a moment ago, it has done nothing yet; left running it would be known by no pid file.
    child.kill('SIGKILL');
    throw e;
  }
  return child.pid;
}

/** How long a launch that failed while it started its processes gives each of them to end. */
const START_FAILED_GRACE_MS = 10_000;

/**
 * Runs `start` (which records each process it starts in `started`); when it fails, the processes
 * it started are ended before the failure is thrown on, with them named: a launch on a disk that
 * filled up (no pid file could be written) said only "ENOSPC" and left its processes running.
 */
async function startingOrEnded<T>(dir: string, started: Map<string, number>, start: () => T): Promise<T> {
  try {
    return start();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (started.size === 0) throw new Error(`${why}; nothing was started`);
    const ended = await Promise.all(
      [...started].map(async ([name, pid]) => {
        const how = await stopProcess(pid, START_FAILED_GRACE_MS, () => isOurs(pid, dir, name));
        if (how !== 'unkillable') removePid(pidFile(dir, name));
        return `${name} pid ${pid} ${how === 'unkillable' ? 'STILL ALIVE after SIGKILL' : how}`;
      }),
    );
    throw new Error(`${why}; the processes started before it were ended (${ended.join(', ')}): run the command again once that is fixed`);
  }
}

/**
 * Starts `nodes` acceptors and a proposer in the background, each with a pid file and a log
 * file in dir, then waits until each answers health. Refuses when a network runs in dir.
 */
export async function launchNetwork(opts: LaunchOptions): Promise<LaunchResult> {
  // A refused launch (ports in use, flags that describe no network) into a dir it made leaves no
  // dir behind: a mistyped --dir is not made, as stop and --restart-missing make none.
  const madeDir = !existsSync(opts.dir);
  const release = once(await lockNetworkDir(opts.dir, 'launch'));
  try {
    return await launchLocked(opts, release);
  } catch (e) {
    if (madeDir && e instanceof ConfigError) {
      release();
      removeRefusedDir(opts.dir);
    }
    throw e;
  } finally {
    release();
  }
}

/**
 * Removes the dir a refused launch made, and its lock file, when the lock file is all it holds (a
 * refusal comes before anything else is written); anything else in it is left as it is. No other
 * command uses a dir this launch has just made: a second launch into it was refused at once, and
 * stop and --restart-missing take no lock where there is no network.json.
 */
function removeRefusedDir(dir: string): void {
  const lockFiles = [NETWORK_LOCK_FILE, `${NETWORK_LOCK_FILE}-journal`];
  try {
    if (readdirSync(dir).some((f) => !lockFiles.includes(f))) return;
    for (const f of lockFiles) rmSync(join(dir, f), { force: true });
    rmdirSync(dir);
  } catch {
    // left as it is: the refusal is what the operator needs to read
  }
}

/** f, run at most once. */
function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

/**
 * The dir's lock is held while processes start and their pid files are written, and released
 * before the wait for them to answer (up to --ready-timeout-ms): a stop may then end them.
 */
async function launchLocked(opts: LaunchOptions, release: () => void): Promise<LaunchResult> {
  const running = runningProcesses(opts.dir, { removeStale: true });
  if (running.length > 0) {
    // A refusal, like the other flags' (exit 2): nothing was started or changed.
    throw new ConfigError(
      `a network is already running in ${opts.dir} (${running.length} processes: ${running.map((r) => `${r.name} pid ${r.pid}`).slice(0, 3).join(', ')}${running.length > 3 ? ', ...' : ''}): ` +
        `stop it first with npm run stop -- --dir ${shellWord(opts.dir)}, or bring back its missing processes with npm run launch -- --restart-missing --dir ${shellWord(opts.dir)}`,
    );
  }
  refuseMembershipChange(opts.dir, opts.nodes);
  const quorum = Quorum.majority(opts.nodes);
  // Metrics on the nodes' defaults (acceptor 9100 + id, proposer 9200 + id), moved with the base
  // port, or with --metrics-port (a host where only one range of ports is free).
  const metricsShift = (opts.metricsPort ?? opts.basePort + 2000) - 9100;
  const acceptors: NodeLayout[] = Array.from({ length: opts.nodes }, (_, i) => ({
    name: `node_${i}`,
    role: 'acceptor',
    id: i,
    address: `127.0.0.1:${opts.basePort + i}`,
    source: i % 10,
    metricsAddress: `127.0.0.1:${9100 + metricsShift + i}`,
  }));
  const proposer: NodeLayout = { name: 'proposer', role: 'proposer', id: 1, address: `127.0.0.1:${opts.proposerPort}`, metricsAddress: `127.0.0.1:${9200 + metricsShift + 1}` };
  const layout: NetworkLayout = {
    createdAt: new Date().toISOString(),
    nodes: [...acceptors, proposer],
    proposer: proposer.address,
    lmfdbCacheDir: opts.lmfdbCacheDir,
    tls: !opts.insecure,
    statusPage: `127.0.0.1:${opts.statusPort}`,
  };
  // Ports derived from the flags (metrics at base + 2000 + i, the status page) must be ports too.
  const problem = layoutProblem(layout);
  if (problem) throw new ConfigError(`the network these flags describe cannot run: ${problem} (ports must be 1..65535: a lower --base-port, --proposer-port, --status-port or --metrics-port)`);
  const ports = await portProblem(layout);
  if (ports) throw new ConfigError(`nothing was started: ${ports}`);
  // Bundles and the LMFDB cache after the ports: a launch that cannot run does no work.
  await prepare(opts);
  const certsStarted = performance.now();
  if (!opts.insecure) ensureNetworkCertificates(networkTlsDir(opts.dir), certificateNames(layout));
  const certificatesMs = Math.round(performance.now() - certsStarted);
  // A new network (no acceptor holds votes), or one whose last launch was cut short before it had
  // started every acceptor (none of ours runs now: refused above), is marked as starting until
  // every acceptor has started: a launch killed meanwhile leaves acceptors that never ran, and
  // those are started by the next launch or --restart-missing rather than taken for lost data.
  const starting = previousLayout(opts.dir)?.acceptorsStarting === true || !acceptorsOf(layout).some((a) => holdsVotes(dataDir(opts.dir, a.name)));
  writeLayout(opts.dir, starting ? { ...layout, acceptorsStarting: true } : layout);

  const lost = starting ? new Map<string, string>() : lostData(opts.dir, layout);
  const startedAt = performance.now();
  const pids = new Map<string, number>();
  const statusPid = await startingOrEnded(opts.dir, pids, () => {
    for (const n of acceptorsOf(layout)) if (!lost.has(n.name)) pids.set(n.name, startNode(opts.dir, layout, n));
    // Every acceptor started: from here on one without data lost it. Before any proposer starts.
    if (starting) writeLayout(opts.dir, layout);
    for (const n of layout.nodes) if (n.role !== 'acceptor') pids.set(n.name, startNode(opts.dir, layout, n));
    // (A status page whose pid file cannot be written is ended by startProcess itself.)
    return startStatusPage(opts.dir, layout);
  });
  release();
  const ready = await waitReady(opts.dir, layout, pids, startedAt, opts.readyTimeoutMs, quorum, clientTransport(opts.dir), lost);
  const statusPageUrl = await statusPageReady(layout, statusPid, STATUS_PAGE_READY_MS);
  return { ...ready, ...(opts.insecure ? {} : { certificatesMs }), ...statusPageOutcome(opts.dir, layout, statusPageUrl, statusPid) };
}

/** A port as a node's flag takes it. */
const portArg = (address: string): string => String(portOf(address));

/** The certificate a node of the layout presents: "acceptor-<id>" or "proposer-<id>". */
const certificateName = (n: NodeLayout): string => `${n.role}-${n.id}`;

/** Every certificate a network needs: its nodes', the operator tools', the ingest server's and the status page's. */
const certificateNames = (layout: NetworkLayout): string[] => [...layout.nodes.map(certificateName), CLIENT_CERT_NAME, INGEST_CERT_NAME, STATUS_CERT_NAME];

/** Starts the status page of the layout (when it has one): it reads every node, so it starts with them. */
function startStatusPage(dir: string, layout: NetworkLayout): number | undefined {
  if (!layout.statusPage) return undefined;
  const acceptors = layout.nodes.filter((x) => x.role === 'acceptor');
  const proposer = layout.nodes.find((x) => x.role === 'proposer');
  return startProcess(dir, STATUS_PAGE_NAME, ['--max-semi-space-size=1'], join(workspaceRoot(), 'dist/apps/status-page/main.js'), [
    '--port', portArg(layout.statusPage), '--acceptors', acceptors.map((a) => a.address).join(','), '--proposer', layout.proposer,
    ...(proposer?.metricsAddress ? ['--proposer-metrics', proposer.metricsAddress] : []),
    ...(layout.tls === true ? ['--tls-dir', networkTlsDir(dir)] : ['--insecure']),
  ]);
}

/** How long launch waits for the status page to answer (it starts beside 24 nodes on a busy machine). */
const STATUS_PAGE_READY_MS = 15_000;

/**
 * The status page's URL once the process launch started (pid) answers GET / — not another
 * network's page that holds the port — or undefined when it does not within timeoutMs.
 */
async function statusPageReady(layout: NetworkLayout, pid: number | undefined, timeoutMs: number): Promise<string | undefined> {
  if (!layout.statusPage || pid === undefined) return undefined;
  const url = `http://${layout.statusPage}/`;
  const deadline = performance.now() + timeoutMs;
  // A paused page cannot answer: said at once (statusPageOutcome), not after the whole wait.
  while (performance.now() < deadline && isAlive(pid) && !isPaused(pid)) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok && res.headers.get('x-paxos-status-page') === String(pid)) return url;
      if (res.ok) {
        // Another process serves this port: this launch's page cannot bind it and exits, its log
        // saying why. Waited for, so that its exit is what is reported and nothing of this launch
        // is left running when it returns (it returned while the page was still starting).
        while (performance.now() < deadline && isAlive(pid) && !isPaused(pid)) await sleep(100);
        return undefined;
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return undefined;
}

/** The status page's URL, or why it did not answer: paused, or exited (with its log's last word, or how to start it again when its log has none: killed). */
export function statusPageOutcome(dir: string, layout: NetworkLayout, url: string | undefined, pid: number | undefined): Pick<LaunchResult, 'statusPageUrl' | 'statusPageProblem'> {
  if (url) return { statusPageUrl: url };
  if (!layout.statusPage) return {};
  if (pid !== undefined && isAlive(pid) && isPaused(pid)) return { statusPageProblem: `its process ${pid} is paused (SIGSTOP): resume it with kill -CONT ${pid}` };
  const last = lastLogLine(logFile(dir, STATUS_PAGE_NAME));
  if (pid !== undefined && !isAlive(pid)) {
    return { statusPageProblem: last ? `its process ${pid} exited: ${last}` : `its process ${pid} exited, its log says nothing of why (killed?): npm run launch -- --restart-missing --dir ${shellWord(dir)} starts it again` };
  }
  return last ? { statusPageProblem: last } : {};
}

/** Starts one node of the layout (data dir and log in dir); returns its pid. */
function startNode(dir: string, layout: NetworkLayout, n: NodeLayout, extraArgs: readonly string[] = []): number {
  const acceptors = layout.nodes.filter((x) => x.role === 'acceptor');
  const transport = layout.tls === true ? ['--tls-dir', networkTlsDir(dir)] : ['--insecure'];
  const metrics = n.metricsAddress ? ['--metrics-port', portArg(n.metricsAddress)] : [];
  if (n.role === 'acceptor') {
    return startProcess(dir, n.name, NODE_FLAGS[n.role], join(workspaceRoot(), 'dist/apps/acceptor/main.js'), [
      '--id', String(n.id), '--port', portArg(n.address), '--cluster-size', String(acceptors.length),
      '--data-dir', dataDir(dir, n.name), '--lmfdb-cache', layout.lmfdbCacheDir, ...transport, ...metrics, ...extraArgs,
    ]);
  }
  return startProcess(dir, n.name, NODE_FLAGS[n.role], join(workspaceRoot(), 'dist/apps/proposer/main.js'), [
    '--id', String(n.id), '--port', portArg(n.address), '--acceptors', acceptors.map((a) => a.address).join(','), '--lmfdb-cache', layout.lmfdbCacheDir, ...transport, ...metrics,
  ]);
}

/**
 * Restarts the nodes of the network in dir whose process is gone (killed or crashed), on their
 * data dirs, and waits for them to answer health. The nodes still running are left alone. A
 * network that was stopped (no process of it runs and no pid file is left, as npm run stop leaves
 * it) is refused, with `startCommand`'s launch: a restart that waited (paused, or queued behind the
 * stop's lock) brought back a network the operator had just ended.
 */
export async function restartMissing(dir: string, readyTimeoutMs: number, startCommand: (layout: NetworkLayout) => string): Promise<LaunchResult> {
  // A dir with no network (a mistyped --dir) is refused before the lock would make it: nothing
  // starts, so it exits 2 as launch's other refusals do (1 says a node did not come up).
  try {
    readLayout(dir);
  } catch (e) {
    if (!(e instanceof ConfigError) && !existsSync(join(dir, LAYOUT_FILE))) throw new ConfigError((e as Error).message);
    throw e;
  }
  const release = once(await lockNetworkDir(dir, 'restart the missing nodes'));
  try {
    if (!hasPidFiles(dir) && runningProcesses(dir).length === 0) {
      throw new ConfigError(
        `the network in ${dir} is stopped (none of its processes runs and no pid file is left, as npm run stop leaves it): --restart-missing brings back the missing processes of a running network; start it again with ${startCommand(readLayout(dir))}`,
      );
    }
    return await restartMissingLocked(dir, readyTimeoutMs, release);
  } finally {
    release();
  }
}

/** How long a restart waits for a node that is shutting down to end (a node's shutdown takes up to 20 s). */
const SHUTDOWN_WAIT_MS = 25_000;

/**
 * As launchLocked: the lock is released once the missing processes started. `extraArgs` adds
 * flags to named nodes (a rejoin's floor); an acceptor that lost its data is not started unless
 * it is one of them.
 */
export async function restartMissingLocked(dir: string, readyTimeoutMs: number, release: () => void, extraArgs: ReadonlyMap<string, readonly string[]> = new Map()): Promise<LaunchResult> {
  const layout = readLayout(dir);
  bundleApps();
  const live = new Map(runningProcesses(dir, { removeStale: true }).map((r) => [r.name, r.pid]));
  // Asked before a proposer that is shutting down is waited for: one that ran may have had votes given.
  const proposerRan = live.has('proposer');
  // A node shutting down on a signal (its log says so: it closed its port, and may take up to 20 s
  // to end its calls and flush) is waited for and started again: taken for running, it was left
  // down and reported as exited ("shutting down") right after a kill.
  await Promise.all(
    [...live].map(async ([name, pid]) => {
      if (shutdownSignal(logFile(dir, name), pid) === undefined) return;
      const until = performance.now() + SHUTDOWN_WAIT_MS;
      // (One paused meanwhile is not waited for: it is reported as paused.)
      while (isAlive(pid) && !isPaused(pid) && performance.now() < until) await sleep(100);
      if (!isAlive(pid)) {
        live.delete(name);
        removePid(pidFile(dir, name));
      }
    }),
  );
  // Certificates that expired since the launch are issued again before the nodes restart; a new CA
  // is refused while any process runs (it trusts the old CA: the restarted nodes could not talk to it).
  if (layout.tls === true) ensureNetworkCertificates(networkTlsDir(dir), certificateNames(layout), [...live.keys()]);
  const quorum = Quorum.majority(acceptorsOf(layout).length);
  // A launch cut short while it started a new network's acceptors (acceptorsStarting): those it
  // never started are started now. Not while a proposer of ours runs (launch starts it only once
  // every acceptor has started, so the mark is then stale): they may have voted.
  const { acceptorsStarting, ...settled } = layout;
  const lost = lostData(dir, acceptorsStarting === true && !proposerRan ? layout : settled, new Set(extraArgs.keys()));
  const startedAt = performance.now();
  const pids = new Map<string, number>();
  const started = new Map<string, number>();
  const start = (n: NodeLayout) => {
    if (lost.has(n.name)) return;
    if (!live.has(n.name)) started.set(n.name, startNode(dir, layout, n, extraArgs.get(n.name)));
    const pid = live.get(n.name) ?? started.get(n.name);
    if (pid !== undefined) pids.set(n.name, pid);
  };
  const statusPid = await startingOrEnded(dir, started, () => {
    acceptorsOf(layout).forEach(start);
    if (acceptorsStarting === true) writeLayout(dir, settled);
    layout.nodes.filter((n) => n.role !== 'acceptor').forEach(start);
    return live.get(STATUS_PAGE_NAME) ?? startStatusPage(dir, layout);
  });
  release();
  const ready = await waitReady(dir, layout, pids, startedAt, readyTimeoutMs, quorum, clientTransport(dir), lost);
  const statusPageUrl = await statusPageReady(layout, statusPid, STATUS_PAGE_READY_MS);
  return { ...ready, ...statusPageOutcome(dir, layout, statusPageUrl, statusPid) };
}

/**
 * Waits until each node's process answers health on its port: the process launch started (pid),
 * not another one that holds the port. A node whose process exits is not waited for: it is
 * reported with the last line of its log (a port in use, a data dir held by another process).
 */
const PROPOSER_SERVICE = 'paxos.v1.ProposerService';

async function waitReady(
  dir: string,
  layout: NetworkLayout,
  pids: Map<string, number>,
  startedAt: number,
  readyTimeoutMs: number,
  quorum: Quorum,
  transport: Transport,
  notStarted: ReadonlyMap<string, string> = new Map(),
): Promise<LaunchResult> {
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const ready = new Map<string, number>();
  const gaveUp = new Map<string, string>(notStarted);
  /** Nodes that answer health from a process other than theirs. */
  const foreign = new Set<string>();
  let quorumReadyMs: number | undefined;
  const deadline = startedAt + readyTimeoutMs;
  const waiting = () => layout.nodes.filter((n) => !ready.has(n.name) && !gaveUp.has(n.name));
  while (waiting().length > 0 && performance.now() < deadline) {
    await Promise.all(
      waiting().map(async (n) => {
        const pid = pids.get(n.name);
        if (pid === undefined || !isAlive(pid)) {
          gaveUp.set(n.name, `its process exited${pid === undefined ? '' : ` (pid ${pid})`}: ${lastLogLine(logFile(dir, n.name)) ?? 'see its log'}`);
          return;
        }
        if (isPaused(pid)) {
          gaveUp.set(n.name, `its process is paused (stopped by a signal): resume it with kill -CONT ${pid}`);
          return;
        }
        // The proposer is ready once it takes client work: ProposerService turns SERVING after it learned the chosen log.
        if (!(await isServing(n.address, 500, transport, n.role === 'proposer' ? PROPOSER_SERVICE : ''))) return;
        if (listensOn(pid, portOf(n.address)) === false) foreign.add(n.name);
        else {
          foreign.delete(n.name);
          ready.set(n.name, Math.round(performance.now() - startedAt));
        }
      }),
    );
    // When the q-th acceptor became ready (not when this round of probes ended).
    const acceptorTimes = acceptors.flatMap((a) => (ready.has(a.name) ? [ready.get(a.name) as number] : [])).sort((a, b) => a - b);
    if (quorumReadyMs === undefined && quorum.isQuorum(acceptorTimes.length)) quorumReadyMs = acceptorTimes[quorum.q - 1];
    if (waiting().length > 0) await sleep(100);
  }
  // An acceptor that runs and answers but never became ready: its Status may say why.
  await Promise.all(
    acceptors.filter((n) => !ready.has(n.name) && !gaveUp.has(n.name) && !foreign.has(n.name)).map(async (n) => {
      const why = await notVotingReason(n.address, transport);
      if (why !== undefined) gaveUp.set(n.name, why);
    }),
  );
  const nodes: LaunchedNode[] = layout.nodes.map((n) => ({
    ...n,
    ...(pids.has(n.name) ? { pid: pids.get(n.name) as number } : {}),
    ...(ready.has(n.name) ? { readyAfterMs: ready.get(n.name) } : {}),
    ...(gaveUp.has(n.name) ? { problem: gaveUp.get(n.name) } : foreign.has(n.name) ? { problem: `another process answers on ${n.address}: is another network running on these ports?` } : {}),
  }));
  const healthy = acceptors.filter((a) => ready.has(a.name)).length;
  return {
    layout,
    nodes,
    quorum,
    healthy,
    ...(quorumReadyMs !== undefined ? { quorumReadyMs } : {}),
    ...(ready.size === layout.nodes.length ? { allReadyMs: Math.max(...ready.values()) } : {}),
  };
}

/** Why an acceptor that answers Status does not serve: its storage failed (undefined when Status does not say). */
export async function notVotingReason(address: string, transport: Transport): Promise<string | undefined> {
  try {
    const s = await acceptorStatus(address, STATUS_PROBE_MS, transport);
    if (s.storage !== undefined && !s.storage.healthy) return `it runs but does not vote: its storage failed (${s.storage.error || 'unhealthy'}); README: "A damaged acceptor"`;
  } catch {
    // no answer: nothing more to say than NOT READY
  }
  return undefined;
}

const STATUS_PROBE_MS = 1_000;
