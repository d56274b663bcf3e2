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
