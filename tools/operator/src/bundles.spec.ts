import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');

describe('the operator bundles', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'tools/scripts/bundle.mjs'), 'operator'], { cwd: root, stdio: 'ignore' });
  });

  it('start inlines launch, submit and check without running them (no require.main guards inside)', () => {
    // In a bundle every inlined module sees the entry's `module`, so a guard would fire for each.
    const start = readFileSync(join(root, 'dist/tools/operator/start.js'), 'utf8');
    expect(start).not.toContain('require.main');
  });

  it('each tool answers --help and exits 0', () => {
    for (const tool of ['launch', 'check', 'submit', 'stop']) {
      const out = execFileSync(process.execPath, [join(root, `dist/tools/operator/${tool}.js`), '--help'], { cwd: root, encoding: 'utf8' });
      expect(out).toContain(`usage: npm run ${tool}`);
    }
  });
});

describe('the node bundles', () => {
  beforeAll(() => {
    for (const app of ['acceptor', 'proposer']) execFileSync(process.execPath, [join(root, 'tools/scripts/bundle.mjs'), app], { cwd: root, stdio: 'ignore' });
  });

  it('are ASCII: one other character (a comment esbuild keeps) makes every node hold its whole source as a two-byte string', () => {
    for (const app of ['acceptor', 'proposer']) {
      const source = readFileSync(join(root, `dist/apps/${app}/main.js`), 'utf8');
      const other = [...source.matchAll(/[^\t\n\r\x20-\x7e]/g)].map((m) => source.slice(Math.max(0, (m.index ?? 0) - 60), (m.index ?? 0) + 20));
      expect({ app, other }).toEqual({ app, other: [] });
    }
  });
});
