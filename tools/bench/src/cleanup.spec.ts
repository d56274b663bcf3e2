import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { WORKSPACE_ROOT } from '@paxos/test-cluster';
import { atExit } from './cleanup';

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('what the bench started, however it ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cleanup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a release runs the undo once, and exit does not run it again', () => {
    let runs = 0;
    const release = atExit(() => (runs += 1));
    release();
    release();
    expect(runs).toBe(1);
  });

  it.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('%s kills the processes it started and removes their dirs', async (signal, code) => {
    // A stand-in for the etcd comparison: a child that would run for good and a data dir, both
    // registered, then the bench waits; the signal comes from outside (a kill, or Ctrl-C forwarded).
    const entry = join(dir, 'parent.ts');
    const dataDir = mkdtempSync(join(dir, 'data-'));
    writeFileSync(
      entry,
      `import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { atExit, exitOnSignals } from ${JSON.stringify(join(__dirname, 'cleanup'))};
exitOnSignals();
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
atExit(() => child.kill('SIGKILL'));
atExit(() => rmSync(${JSON.stringify(dataDir)}, { recursive: true, force: true }));
process.stdout.write(String(child.pid) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const script = join(dir, 'parent.js');
    buildSync({ entryPoints: [entry], outfile: script, bundle: true, platform: 'node', tsconfig: join(WORKSPACE_ROOT, 'tsconfig.base.json'), logLevel: 'silent' });
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => parent.once('exit', (c) => resolve(c)));
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    expect(alive(pid)).toBe(true);
    parent.kill(signal);
    expect(await exited).toBe(code);
    const until = Date.now() + 15_000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
