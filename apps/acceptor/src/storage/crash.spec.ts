// kill -9 in the middle of load: every append the child acknowledged (printed) must be recovered.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { tempDir } from './storage-test-helpers';

const ROOT = path.resolve(__dirname, '../../../..');
const NODE_ID = 7;

// Appends from 8 lanes (so writes share fdatasyncs), checkpoints every 64 appends with a snapshot
// of everything appended so far, and prints each slot once its append is acknowledged.
const CHILD = `
const { AcceptorStorage } = require('./storage.js');
(async () => {
  const { storage } = await AcceptorStorage.open({ dataDir: process.argv[2], nodeId: ${NODE_ID} });
  const ballot = { round: 1n, proposerId: ${NODE_ID} };
  const appended = [];
  let next = 0n;
  const lane = async () => {
    while (next < 100000n) {
      const slot = next++;
      const entry = { slot, ballot, value: { kind: 'batch', commands: [{ clientRequestId: 'r' + slot, contentType: 'text/plain', data: Buffer.from('v' + slot) }] } };
      appended.push(entry);
      const acked = storage.append({ accepted: entry });
      if (slot % 64n === 63n) storage.checkpoint({ promised: ballot, accepted: appended.slice(), chosen: [], committedIndex: 0n }).catch(() => {});
      await acked;
      process.stdout.write(slot + '\\n');
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe('crash recovery (SIGKILL mid-load)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ dir, cleanup } = tempDir('acceptor-crash-'));
    // esbuild runs in a child: its JS API trips over jest's realm (TextEncoder/Uint8Array checks).
    const build = spawnSync(
      process.execPath,
      [
        '-e',
        `require('esbuild').buildSync({ entryPoints: [${JSON.stringify(path.join(__dirname, 'index.ts'))}], bundle: true, ` +
          `platform: 'node', format: 'cjs', target: 'node20', tsconfig: 'tsconfig.base.json', logLevel: 'error', external: ['better-sqlite3'], ` +
          `outfile: ${JSON.stringify(path.join(dir, 'storage.js'))} })`,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    if (build.status !== 0) throw new Error(`bundling the storage failed: ${build.stderr}`);
    writeFileSync(path.join(dir, 'child.js'), CHILD);
  });
  afterAll(() => cleanup());

  it('recovers every acknowledged vote after kill -9', async () => {
    const dataDir = path.join(dir, 'data');
    // The native SQLite module stays external: the child finds it in the workspace's node_modules.
    const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') };
    const child = spawn(process.execPath, [path.join(dir, 'child.js'), dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child acknowledged too little in time: ${out.length} bytes; ${err}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 400) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => code !== null && reject(new Error(`child exited early (${code}): ${err}`)));
    });
    await exited;
    const lines = out.split('\n');
    lines.pop(); // a line cut by the kill is not an acknowledgement
    const acked = lines.map((l) => BigInt(l));
    expect(acked.length).toBeGreaterThanOrEqual(400);

    const { storage, recovered } = await AcceptorStorage.open({ dataDir, nodeId: NODE_ID });
    await storage.close();
    const held = new Set<bigint>();
    for (const e of recovered.snapshot?.accepted ?? []) held.add(e.slot);
    for (const c of recovered.changes) if (c.accepted) held.add(c.accepted.slot);
    const lost = acked.filter((s) => !held.has(s));
    expect(lost).toEqual([]);
    expect(recovered.snapshot).not.toBeNull();
  }, 30_000);
});
