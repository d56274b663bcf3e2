import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { runLaunch } from './launch';
import { LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV, markedProcesses, readPid } from './processes';
import { runStop } from './stop';

jest.setTimeout(120_000);

describe('launch --restart-missing right after a node was told to end', () => {
  let root: string;
  let dir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'paxos-shutting-down-'));
    dir = join(root, 'net');
  });
  afterAll(async () => {
    await runStop(['--dir', dir, '--grace-ms', '2000'], () => undefined).catch(() => undefined);
    for (const p of markedProcesses(dir)) process.kill(p.pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('waits for a node that is shutting down, then starts it again', async () => {
    const base = await freePortRange(102);
    const launched = await runLaunch(['--dir', dir, '--nodes', '1', '--lmfdb-cache', join(root, 'lmfdb'), '--base-port', String(base), '--status-port', String(base + 101), '--insecure'], () => undefined);
    expect(launched).toBe(0);
    // node_0 told to end: its port is closed, and it says so in its log while it ends its calls
    // and flushes (up to 20 s). Stood in for by a process that logs as it does and ends 2 s later.
    process.kill(readPid(join(dir, 'node_0.pid')) as number, 'SIGKILL');
    const ending = spawn(
      process.execPath,
      ['-e', `require('fs').appendFileSync(${JSON.stringify(join(dir, 'node_0.log'))}, JSON.stringify({ level: 30, pid: process.pid, signal: 'SIGTERM', msg: 'shutting down' }) + '\\n'); setTimeout(() => {}, 2000);`],
      { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: 'node_0' }, stdio: 'ignore' },
    );
    await new Promise((r) => ending.once('spawn', r));
    writeFileSync(join(dir, 'node_0.pid'), `${ending.pid}\n`);
    // Until its log line is written: a 300 ms sleep stood in for that, and a node started on a
    // loaded machine had not written it yet (restart-missing then took it for a node that runs).
    // (The stand-in's 2 s may be over by then: its pid file is then stale, which restart-missing also restarts.)
    const until = performance.now() + 60_000;
    while (!readFileSync(join(dir, 'node_0.log'), 'utf8').includes(`"pid":${ending.pid},`)) {
      if (performance.now() > until) throw new Error(`the stand-in node ${ending.pid} logged nothing within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }

    const lines: string[] = [];
    // It was taken for running, left down, and reported "NOT READY: its process exited (pid N): shutting down".
    expect(await runLaunch(['--restart-missing', '--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/node_0\s+pid (\d+)\s.*ready after/);
    expect(readPid(join(dir, 'node_0.pid'))).not.toBe(ending.pid);
  });
});
