import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusPageOutcome } from './launch-network';
import type { NetworkLayout } from './network-dir';

describe('launch says why the status page did not answer', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'status-page-outcome-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const layout: NetworkLayout = { createdAt: 'x', proposer: '127.0.0.1:7200', lmfdbCacheDir: '/c', nodes: [], statusPage: '127.0.0.1:9300' };
  /** The pid of a process that has exited. */
  const gonePid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;

  it('names a process killed without a word in its log, and how to start it again', () => {
    const pid = gonePid();
    expect(statusPageOutcome(dir, layout, undefined, pid).statusPageProblem).toBe(
      `its process ${pid} exited, its log says nothing of why (killed?): npm run launch -- --restart-missing --dir ${dir} starts it again`,
    );
  });

  it('gives the log line of a process that said why it ended', () => {
    writeFileSync(join(dir, 'status-page.log'), 'status-page: port 9300 is in use\n');
    const pid = gonePid();
    expect(statusPageOutcome(dir, layout, undefined, pid).statusPageProblem).toBe(`its process ${pid} exited: status-page: port 9300 is in use`);
  });
});
