import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const WORKSPACE_ROOT = resolve(__dirname, '../../..');

/** The apps tests run, and where tools/scripts/bundle.mjs puts each one's entry point. */
const APPS: Record<string, string> = {
  acceptor: 'dist/apps/acceptor/main.js',
  proposer: 'dist/apps/proposer/main.js',
  'lmfdb-ingest': 'dist/apps/lmfdb-ingest/main.js',
};

const built = new Set<string>();

/**
 * Bundles an app (once per test process) with the same script `npm run` uses, so tests run the
 * real entry point as a process; returns the bundle's path.
 */
export function bundleApp(app: keyof typeof APPS | string): string {
  const out = APPS[app];
  if (!out) throw new Error(`unknown app ${app}`);
  const path = join(WORKSPACE_ROOT, out);
  if (!built.has(app) || !existsSync(path)) {
    execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'tools/scripts/bundle.mjs'), app], { cwd: WORKSPACE_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    built.add(app);
  }
  return path;
}
