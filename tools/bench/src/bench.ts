import { spawn } from 'node:child_process';
import { status } from '@grpc/grpc-js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, exitWithError, helpText, INSECURE, loadTls, readHealth, networkTlsDir, parseCommand, tlsFilesIn, type Transport, exitWhenWritten } from '@paxos/grpc-kit';
import { freePorts, TestCluster } from '@paxos/test-cluster';
import { type BaselineServer, benchAcceptorStream } from './acceptor-stream';
import { applyRate, catchUpAndReads, historyAndRestart } from './agreed-state';
import { bulkPropose, openClients, streamPropose, unaryPropose } from './clients';
import { startEchoServer } from './echo-server';
import { startFsyncEchoServer } from './fsync-echo-server';
import { type CpuShares, startCpuMeter } from './cpu';
import { type LoadResult, runLoad, warmUp } from './load';
import { memoryOf } from './rss';
import { compareWithEtcd } from './etcd-compare';
import { atExit, exitOnSignals } from './cleanup';
import { benchCommand, benchMode, parseConcurrencyLevels } from './bench-args';

interface Target {
  readonly acceptors: number;
  readonly proposer: string;
  /** How the load generator reaches the proposer (the network's client certificate, or plaintext). */
  readonly transport: Transport;
  readonly proposerPid: () => number | undefined;
  readonly acceptorPids: () => Array<number | undefined>;
  stop(): Promise<void>;
}

function fromDir(dir: string): Target {
  if (!existsSync(join(dir, 'network.json'))) throw new ConfigError(`no network described in ${dir} (network.json is missing): start one with npm run launch -- --dir ${dir}, or leave --dir out and the bench starts its own`);
  const layout = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')) as { nodes: Array<{ name: string; role: string }>; proposer: string; tls?: boolean };
  const pid = (name: string) => {
    const f = join(dir, `${name}.pid`);
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
  };
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  return {
    acceptors: acceptors.length,
    proposer: layout.proposer,
    transport: layout.tls !== true ? INSECURE : loadTls(tlsFilesIn(networkTlsDir(dir), 'client-cli'), { role: 'client' }),
    proposerPid: () => pid('proposer'),
    acceptorPids: () => acceptors.map((a) => pid(a.name)),
    stop: async () => undefined,
  };
}

async function ownNetwork(acceptors: number, insecure: boolean): Promise<Target> {
  const cluster = await TestCluster.start({ acceptors, tls: !insecure });
  // Its temporary dir goes with it however the bench ends (stop() removes it on the way out).
  const removeDir = atExit(() => {
    if (!process.env['KEEP_TEST_CLUSTER']) rmSync(cluster.dir, { recursive: true, force: true });
  });
  let proposer;
  try {
    proposer = await cluster.startProposer(1);
  } catch (e) {
    await cluster.stop();
    removeDir();
    throw e;
  }
  return {
    acceptors,
    proposer: cluster.proposerAddress(1),
    transport: cluster.transport,
    proposerPid: () => proposer.child.pid,
    acceptorPids: () => cluster.acceptors.map((a) => a?.child.pid),
    stop: async () => {
      await cluster.stop();
      removeDir();
    },
  };
}

/** How long a baseline server may take to serve. */
const BASELINE_START_MS = 20_000;

/** This script again as a baseline server process (`--echo-server` or `--fsync-echo-server`), once it serves. */
async function startBaseline(args: readonly string[]): Promise<BaselineServer> {
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, [__filename, ...args, '--port', String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const kill = atExit(() => child.kill('SIGKILL'));
  const address = `127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => (exited = true));
  const until = performance.now() + BASELINE_START_MS;
  // The baseline servers have no health service: one that answers UNIMPLEMENTED is up (waiting
  // for SERVING spent the whole bound, 5-25 s, before every bench).
  const answers = async () => {
    const h = await readHealth(address, 200);
    return h.serving || h.code === status.UNIMPLEMENTED;
  };
  while (!(await answers())) {
    if (exited || performance.now() > until) {
      kill();
      throw new Error(`the baseline server (${args.join(' ')}) ${exited ? 'exited before serving' : `was not serving at ${address} within ${BASELINE_START_MS} ms`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address, pid: child.pid as number, stop: kill };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(benchCommand, argv);
  if (parsed.help) {
    console.log(helpText(benchCommand));
    return 0;
  }
  const o = parsed.options;
  const mode = benchMode(o, parsed.given);
  if (mode === 'echo-server') {
    await startEchoServer(o.port ?? 0);
    return new Promise<number>(() => undefined); // serve until killed
  }
  if (mode === 'fsync-echo-server') {
    await startFsyncEchoServer(o.port ?? 0, o.dir ?? tmpdir());
    return new Promise<number>(() => undefined); // serve until killed
  }
  // Ctrl-C or a kill ends the bench through its exit hooks: the nodes, etcd and the baselines it
  // started are killed and their dirs removed.
  exitOnSignals();
  if (mode === 'acceptor') {
    const floorDir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
    try {
      await benchAcceptorStream(2000, o['value-bytes'] as number, () => startBaseline(['--fsync-echo-server', '--dir', floorDir]));
    } finally {
      rmSync(floorDir, { recursive: true, force: true });
    }
    return 0;
  }
  if (mode === 'compare-etcd') {
    const levels = parseConcurrencyLevels(o.concurrency as string);
    await compareWithEtcd({ levels, durationMs: (o.duration as number) * 1000, valueBytes: o['value-bytes'] as number, repeats: o.repeats as number, acceptors: o.acceptors as number });
    return 0;
  }
  if (mode === 'agreed-state') {
    const valueBytes = o['value-bytes'] as number;
    console.log(JSON.stringify({ step: 'apply-rate', ...applyRate(20_000) }));
    console.log(JSON.stringify(await historyAndRestart(o['history-slots'] as number, valueBytes)));
    const catchUp = o['catch-up-slots'] as number;
    for (const line of await catchUpAndReads(catchUp, valueBytes, 1_000_000, 5)) console.log(JSON.stringify(line));
    for (const line of await catchUpAndReads(catchUp, valueBytes, 1000, 5)) if ((line as { step: string }).step === 'catch-up') console.log(JSON.stringify(line));
    return 0;
  }
  const levels = parseConcurrencyLevels(o.concurrency as string);
  const durationMs = (o.duration as number) * 1000;
  const value = Buffer.alloc(o['value-bytes'] as number, 0x61);
  const target = o.dir ? fromDir(resolve(o.dir)) : await ownNetwork(o.acceptors as number, o.insecure === true);
  let echo: BaselineServer;
  try {
    echo = await startBaseline(['--echo-server']);
  } catch (e) {
    await target.stop();
    throw e;
  }
  const proposeClients = openClients(target.proposer, target.transport);
  const echoClients = openClients(echo.address, INSECURE);
  // eslint-disable-next-line no-restricted-properties -- a moment, to tell runs apart
  const tag = `bench-${process.pid}-${Date.now()}`;
  try {
    await warmUp(`the proposer at ${target.proposer}`, unaryPropose(proposeClients, value, 10_000, `${tag}-warm`), 8, 1000);
    await warmUp(`the echo server at ${echo.address}`, unaryPropose(echoClients, value, 10_000, `${tag}-warm`), 8, 500);
    for (const c of levels) {
      const only = o['stream-only'] || o['bulk-only'];
      const modes: Array<['propose' | 'propose-stream' | 'propose-bulk', (seq: number) => Promise<unknown>, () => void]> = only
        ? []
        : [['propose', unaryPropose(proposeClients, value, 10_000, `${tag}-u${c}`), () => undefined]];
      if ((o.stream && !o['bulk-only']) || o['stream-only']) {
        const s = streamPropose(proposeClients, value, `${tag}-s${c}`, o['streams-per-channel'] as number);
        modes.push(['propose-stream', s.call, s.close]);
      }
      if (o.bulk || o['bulk-only']) {
        const s = bulkPropose(proposeClients, value, `${tag}-b${c}`, o['streams-per-channel'] as number, o['bulk-size'] as number);
        modes.push(['propose-bulk', s.call, s.close]);
      }
      const echoResult: LoadResult = await runLoad(unaryPropose(echoClients, value, 10_000, `${tag}-e${c}`), c, durationMs);
      for (const [mode, call, close] of modes) {
        const cpu = startCpuMeter(target.proposerPid, target.acceptorPids);
        // The CPU is read when the window closes: the same span as the values counted.
        let cores: CpuShares | undefined;
        const r = await runLoad(call, c, durationMs, { atWindowEnd: () => (cores = cpu()) });
        cores ??= cpu();
        close();
        const proposerMemory = memoryOf([target.proposerPid()]);
        const acceptorsMemory = memoryOf(target.acceptorPids());
        const pssFromRss = proposerMemory.pssFromRss + acceptorsMemory.pssFromRss;
        console.log(
          JSON.stringify({
            mode,
            acceptors: target.acceptors,
            concurrency: c,
            chosenPerSecond: round(r.perSecond, 1),
            p50Ms: round(r.p50Ms),
            p95Ms: round(r.p95Ms),
            p99Ms: round(r.p99Ms),
            errors: r.errors,
            ...(r.firstError ? { firstError: r.firstError } : {}),
            valueBytes: value.length,
            echoCallsPerSecond: round(echoResult.perSecond, 1),
            echoP50Ms: round(echoResult.p50Ms),
            ratioToEcho: round(r.perSecond / echoResult.perSecond, 3),
            rssProposerMb: round(proposerMemory.rssMb, 1),
            rssAcceptorsMb: round(acceptorsMemory.rssMb, 1),
            // The acceptors' RSS sum counts the node binary's shared pages once per process; PSS once in all.
            pssProposerMb: round(proposerMemory.pssMb, 1),
            pssAcceptorsMb: round(acceptorsMemory.pssMb, 1),
            ...(pssFromRss > 0 ? { pssFromRss } : {}),
            cpuProposerCores: round(cores.proposer),
            cpuAcceptorsCores: round(cores.acceptors),
            cpuLoadGeneratorCores: round(cores.loadGenerator),
            cpuUsPerValue: r.completed > 0 ? round(((cores.proposer + cores.acceptors + cores.loadGenerator) * r.seconds * 1e6) / r.completed, 1) : null,
          }),
        );
      }
    }
  } finally {
    for (const c of [...proposeClients, ...echoClients]) c.close();
    echo.stop();
    await target.stop();
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => exitWhenWritten(code),
    (e: unknown) => exitWithError('bench', e, e instanceof ConfigError ? 2 : 1),
  );
}
