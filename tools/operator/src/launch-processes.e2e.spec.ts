import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { runCheck } from './check';
import { runLaunch } from './launch';
import { runningProcesses } from './launch-network';
import { pidFile } from './network-dir';
import { isAlive, readPid } from './processes';
import { runStop } from './stop';

jest.setTimeout(180_000);

/** What launch, restart-missing and stop do to the processes of small networks that meet each other. */
describe('launch and stop own exactly their processes (real processes, 3 acceptors)', () => {
  let root: string;
  let cache: string;
  let base: number;
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  const launchArgs = (dir: string) => ['--dir', dir, '--nodes', '3', '--lmfdb-cache', cache, '--base-port', String(base), '--status-port', String(base + 101), '--insecure', '--ready-timeout-ms', '60000'];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'paxos-launch-'));
    cache = join(root, 'lmfdb');
    base = await freePortRange(102);
  });

  afterAll(async () => {
    for (const d of ['a-real', 'b']) await runStop(['--dir', join(root, d), '--grace-ms', '2000'], () => undefined).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a second launch into a dir while the first is under way, and stop through a symlink ends the network', async () => {
    const real = join(root, 'a-real');
    mkdirSync(real);
    const link = join(root, 'a-link');
    symlinkSync(real, link);
    const [first, second] = await Promise.allSettled([runLaunch(launchArgs(link), out), runLaunch(launchArgs(real), out)]);
    // Exactly one launch ran; the other was refused by the dir's lock (or, had it come later, by the running network).
    const outcomes = [first, second].map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)));
    expect(outcomes.filter((o) => o === 0)).toHaveLength(1);
    expect(outcomes.find((o) => o !== 0)).toMatch(/another launch, restart or stop is under way|already running/);
    const running = runningProcesses(real);
    expect(running).toHaveLength(5); // 3 acceptors, the proposer, the status page
    // The same network through its other path: no pid file is taken for stale.
    expect(runningProcesses(link).map((p) => p.pid).sort()).toEqual(running.map((p) => p.pid).sort());
  });

  it('a second network on the same ports is refused before anything starts, and says why', async () => {
    const dir = join(root, 'b');
    await expect(runLaunch(launchArgs(dir), out)).rejects.toThrow(
      new RegExp(`nothing was started: 9 ports of this network are already in use: 127\\.0\\.0\\.1:${base} \\(acceptor 0\\), .*Is another network running on them`),
    );
    expect(runningProcesses(dir)).toEqual([]);
    // The refused launch made the dir, and took it away again: nothing of it is left behind.
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir);
    // A network of that dir launched before (its layout, the same ports) while the other runs:
    // restart-missing finds another network's nodes answering on them, which is not ready.
    copyFileSync(join(root, 'a-real', 'network.json'), join(dir, 'network.json'));
    // Killed, not stopped: a pid file left (of a process long gone), which restart-missing takes for stale.
    writeFileSync(pidFile(dir, 'node_0'), '2147483646\n');
    lines.length = 0;
    expect(await runLaunch(['--dir', dir, '--restart-missing', '--ready-timeout-ms', '60000'], out)).toBe(1);
    expect(lines.join('\n')).toContain('launched 0/3');
    expect(runningProcesses(dir)).toEqual([]);
    // check in that dir does not take the other network's proposer and status page for its own.
    lines.length = 0;
    expect(await runCheck(['--dir', dir], out)).toBe(1);
    expect(lines.join('\n')).toContain(`proposer 127.0.0.1:${base + 100}: NOT serving (this network's proposer is not running (no live proposer.pid), and another process answers on 127.0.0.1:${base + 100})`);
    expect(lines.join('\n')).toMatch(/status page: NOT answering \(http:\/\/127\.0\.0\.1:\d+\/ is another network's status page \(pid \d+\), not this network's \(which is not running\)\)/);
  });

  it('stop ends paused processes gracefully (SIGTERM, then SIGCONT)', async () => {
    const dir = join(root, 'a-link');
    const paused = ['proposer', 'node_1'].map((n) => readPid(pidFile(dir, n)) as number);
    for (const pid of paused) process.kill(pid, 'SIGSTOP');
    const pids = runningProcesses(dir).map((p) => p.pid);
    lines.length = 0;
    expect(await runStop(['--dir', dir], out)).toBe(0);
    expect(lines.filter((l) => / pid \d+: /.test(l)).map((l) => l.replace(/^(\S+)\s+pid \d+: /, '$1 '))).toEqual([
      'node_0 terminated',
      'node_1 terminated',
      'node_2 terminated',
      'proposer terminated',
      'status-page terminated',
    ]);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('refuses to launch another number of acceptors on a network\'s data, and flags restart-missing would ignore', async () => {
    const dir = join(root, 'a-real');
    const fiveNodes = launchArgs(dir).map((a, i, all) => (all[i - 1] === '--nodes' ? '5' : a));
    await expect(runLaunch(fiveNodes, out)).rejects.toThrow(
      /holds the data of a network of 3 acceptors; launching 5 on it is refused: the old and the new quorums need not intersect/,
    );
    await expect(runLaunch(['--dir', dir, '--restart-missing', '--nodes', '5'], out)).rejects.toThrow(/--restart-missing restarts the network as it was launched .*--nodes cannot change it/);
  });

  it('restart-missing reports a paused node at once instead of waiting for it', async () => {
    const dir = join(root, 'a-real');
    expect(await runLaunch(launchArgs(dir), out)).toBe(0);
    const pausedPid = readPid(pidFile(dir, 'node_2')) as number;
    process.kill(pausedPid, 'SIGSTOP');
    const killed = readPid(pidFile(dir, 'node_1')) as number;
    process.kill(killed, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(killed); i++) await new Promise((r) => setTimeout(r, 50));
    lines.length = 0;
    try {
      expect(await runLaunch(['--dir', dir, '--restart-missing'], out)).toBe(1);
    } finally {
      process.kill(pausedPid, 'SIGCONT');
    }
    const text = lines.join('\n');
    expect(text).toMatch(new RegExp(`node_2 .* NOT READY: its process is paused \\(stopped by a signal\\): resume it with kill -CONT ${pausedPid}`));
    expect(text).toMatch(/node_1 .* ready after/);
    expect(await runStop(['--dir', dir], () => undefined)).toBe(0);
  });
});
