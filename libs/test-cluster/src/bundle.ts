import { buildSync } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const WORKSPACE_ROOT = resolve(__dirname, '../../..');

const APPS: Record<string, string> = {
  acceptor: 'apps/acceptor/src/main.ts',
  proposer: 'apps/proposer/src/main.ts',
  'lmfdb-ingest': 'apps/lmfdb-ingest/src/main.ts',
};

const built = new Set<string>();

/**
 * Bundles an app for tests into dist/test-bundles/<app>.js (once per test process), the same way
 * tools/scripts/bundle.mjs does for `npm run`, so tests run the real entry point as a process.
 */
export function bundleApp(app: keyof typeof APPS | string): string {
  const entry = APPS[app];
  if (!entry) throw new Error(`unknown app ${app}`);
  const outfile = join(WORKSPACE_ROOT, 'dist/test-bundles', `${app}.js`);
  if (!built.has(app) || !existsSync(outfile)) {
    buildSync({
      absWorkingDir: WORKSPACE_ROOT,
      entryPoints: [join(WORKSPACE_ROOT, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      packages: 'external',
      tsconfig: join(WORKSPACE_ROOT, 'tsconfig.base.json'),
      sourcemap: 'inline',
      logLevel: 'error',
    });
    built.add(app);
  }
  if (statSync(outfile).size === 0) throw new Error(`bundle ${outfile} is empty`);
  return outfile;
}
