import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirInUseError, lockDirAcrossProcesses } from './dir-lock';
import { processState } from './lock-holder';

/** A child process that takes the lock the way lockDirAcrossProcesses does, says so, and holds it. */
function holder(file: string) {
  const script = `const D=require('better-sqlite3');const db=new D(${JSON.stringify(file)},{timeout:0});db.pragma('locking_mode = EXCLUSIVE');db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS lock (holder INTEGER); COMMIT;');process.stdout.write('held\\n');setInterval(()=>{},1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const held = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return { child, held };
}

describe('lockDirAcrossProcesses', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('names the process that holds the lock, and says when it is stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dir-lock-'));
    dirs.push(dir);
    const { child, held } = holder(join(dir, 'x.lock'));
    try {
      await held;
      const refusal = (): Error => {
        try {
          lockDirAcrossProcesses(dir, 'x.lock')();
        } catch (e) {
          return e as Error;
        }
        throw new Error('the lock was taken while another process held it');
      };
      const first = refusal();
      expect(first).toBeInstanceOf(DirInUseError);
      if (process.platform === 'linux') {
        expect(first.message).toContain(`locked by pid ${child.pid} (`);
        expect(first.message).not.toContain('stopped');
        child.kill('SIGSTOP');
        // The signal takes effect asynchronously: wait until /proc shows the process stopped (not a
        // number of polls, after which the spec went on with a process still running). The 20 s
        // ceiling only names the wait in a failure.
        const until = performance.now() + 20_000;
        while (processState(child.pid as number) !== 'T') {
          if (performance.now() > until) throw new Error(`pid ${child.pid} was not shown stopped in /proc 20 s after its SIGSTOP`);
          await new Promise((r) => setTimeout(r, 25));
        }
        expect(refusal().message).toContain(`stopped by a signal: resume it (kill -CONT ${child.pid}) or end it`);
        child.kill('SIGCONT');
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});
