// The offline snapshot shipped at data/lmfdb-snapshot/: raw tables in records/<table>.json
// (real rows, see PROVENANCE.md) and the ten cache files source_N.json built from them by
// buildSnapshotCacheFiles (a test keeps the two in step).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildCacheFile, type SourceCacheFile } from './cache';
import { parseLossless } from './json';
import { SOURCES, withTable } from './sources';
import type { RawRow } from './values';

/** Where the snapshot came from and when it was taken (fixed, so its hashes are stable). */
export const SNAPSHOT_BASE_URL = 'offline-snapshot:data/lmfdb-snapshot';
export const SNAPSHOT_FETCHED_AT = '2026-11-26T00:00:00Z';

/** Builds the ten cache files from `<snapshotDir>/records/<table>.json` (missing tables = no rows). */
export async function buildSnapshotCacheFiles(snapshotDir: string): Promise<SourceCacheFile[]> {
  const files: SourceCacheFile[] = [];
  for (const spec of SOURCES) {
    const rows: RawRow[] = [];
    for (const t of spec.tables) {
      const path = join(snapshotDir, 'records', `${t.table}.json`);
      if (!existsSync(path)) continue;
      const parsed = parseLossless(await readFile(path, 'utf8'));
      if (!Array.isArray(parsed)) throw new TypeError(`${path} is not an array of rows`);
      for (const r of parsed as RawRow[]) rows.push(spec.tables.length > 1 ? (withTable(r, t.table) as RawRow) : r);
    }
    files.push(buildCacheFile(spec.source, rows, { baseUrl: SNAPSHOT_BASE_URL, fetchedAt: SNAPSHOT_FETCHED_AT }));
  }
  return files;
}

/**
 * Finds data/lmfdb-snapshot: $LMFDB_SNAPSHOT_DIR, else walking up from `from` (default the
 * working directory) and from this module's directory.
 */
export function findSnapshotDir(from: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['LMFDB_SNAPSHOT_DIR']) return resolve(env['LMFDB_SNAPSHOT_DIR']);
  for (const start of [from, __dirname]) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'data', 'lmfdb-snapshot');
      if (existsSync(join(candidate, 'records'))) return candidate;
      const up = resolve(dir, '..');
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}
