import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { WORKSPACE_ROOT } from './bundle';

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('NodeProcess', () => {
  const dir = mkdtempSync(join(tmpdir(), 'node-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('kills the nodes still running when the process that started them exits (a test that fails half-way leaves none behind)', async () => {
    // A parent that starts a long-running child through NodeProcess, prints its pid and exits without stopping it.
    const entry = join(dir, 'parent.ts');
    writeFileSync(
      entry,
      `import { spawn } from 'node:child_process';
import { NodeProcess } from ${JSON.stringify(join(__dirname, 'node-process'))};
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
new NodeProcess('sleeper', child, undefined);
process.stdout.write(String(child.pid));
process.exit(0);
`,
    );
    const script = join(dir, 'parent.js');
    buildSync({ entryPoints: [entry], outfile: script, bundle: true, platform: 'node', tsconfig: join(WORKSPACE_ROOT, 'tsconfig.base.json'), logLevel: 'silent' });
    const pid = Number(execFileSync(process.execPath, [script], { encoding: 'utf8' }));
    expect(pid).toBeGreaterThan(0);
    // The kill is sent before the parent exits; the child is gone once the kernel reaps it (bounded wait).
    const until = Date.now() + 15_000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  }, 60_000); // a bundle and a node start, on a slow machine
});
