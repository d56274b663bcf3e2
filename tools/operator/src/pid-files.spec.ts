import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runningProcesses } from './launch-network';
import { LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV, readPid } from './processes';

describe("launch's pid files that do not name their node's process", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pid-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const started = async (name: string | undefined) => {
    const env = { ...process.env, [LAUNCH_MARKER_ENV]: dir, ...(name !== undefined ? { [LAUNCH_NAME_ENV]: name } : {}) };
    const p = spawn('sleep', ['30'], { env, stdio: 'ignore' });
    await new Promise((r) => p.once('spawn', r));
    return p;
  };

  it('a pid file holding another node of the network is stale: that node counts as down, so --restart-missing starts it', async () => {
    const node1 = await started('node_1');
    try {
      writeFileSync(join(dir, 'node_1.pid'), `${node1.pid}\n`);
      writeFileSync(join(dir, 'node_3.pid'), `${node1.pid}\n`); // node_3 died; its pid file names node_1's process
      expect(runningProcesses(dir)).toEqual([{ name: 'node_1', pid: node1.pid }]);
      expect(runningProcesses(dir, { removeStale: true })).toEqual([{ name: 'node_1', pid: node1.pid }]);
      expect(readdirSync(dir)).toEqual(['node_1.pid']);
    } finally {
      node1.kill('SIGKILL');
    }
  });

  it('a process started before launch recorded names is still taken on its dir', async () => {
    const old = await started(undefined);
    try {
      writeFileSync(join(dir, 'node_0.pid'), `${old.pid}\n`);
      expect(runningProcesses(dir)).toEqual([{ name: 'node_0', pid: old.pid }]);
    } finally {
      old.kill('SIGKILL');
    }
  });

  it('a directory or a long file at a pid path holds no pid, and is neither read whole nor removed', () => {
    mkdirSync(join(dir, 'node_2.pid'));
    writeFileSync(join(dir, 'node_4.pid'), `${'9'.repeat(100_000)}\n`);
    expect(readPid(join(dir, 'node_2.pid'))).toBeUndefined();
    expect(readPid(join(dir, 'node_4.pid'))).toBeUndefined();
    // check and stop failed here with a bare "EISDIR: illegal operation on a directory, read".
    expect(runningProcesses(dir)).toEqual([]);
    expect(runningProcesses(dir, { removeStale: true })).toEqual([]);
    expect(readdirSync(dir)).toEqual(['node_2.pid']);
  });
});
