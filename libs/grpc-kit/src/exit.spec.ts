import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

describe('a tool exits once its output has left it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'exit-when-written-'));
    writeFileSync(
      path.join(dir, 'entry.ts'),
      `import { exitWhenWritten } from ${JSON.stringify(path.join(__dirname, 'exit.ts'))};\n` +
        `const line = 'x'.repeat(1023) + '\\n';\n` +
        `for (let i = 0; i < 2048; i++) process.stdout.write(line);\n` +
        `exitWhenWritten(3);\n`,
    );
    // esbuild runs in a child: its JS API trips over jest's realm.
    const build = spawnSync(
      process.execPath,
      ['-e', `require('esbuild').buildSync({ entryPoints: [${JSON.stringify(path.join(dir, 'entry.ts'))}], bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error', outfile: ${JSON.stringify(path.join(dir, 'tool.js'))} })`],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    if (build.status !== 0) throw new Error(`bundling failed: ${build.stderr}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hands a slow pipe reader every byte, then exits with the code', async () => {
    const child = spawn(process.execPath, [path.join(dir, 'tool.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((r) => child.on('close', r));
    // The reader starts late: the tool has long written all and asked to exit.
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 500));
    let bytes = 0;
    child.stdout.on('data', (b: Buffer) => (bytes += b.length));
    child.stdout.resume();
    const code = await closed;
    expect(bytes).toBe(2048 * 1024);
    expect(code).toBe(3);
  }, 60_000);
});
