import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/** The workspace version (root package.json), found by walking up from the running file. */
export function workspaceVersion(): string {
  if (cached !== undefined) return cached;
  for (let dir = __dirname, i = 0; i < 12; i++, dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'paxos-lmfdb') return (cached = pkg.version ?? '0.0.0');
  }
  return (cached = '0.0.0');
}
