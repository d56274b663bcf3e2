// The on-disk cache: <cache-dir>/source_N.json per source.
//
// File format (one JSON object, integers written as exact JSON integers however large):
//   { "source": N, "table": <primary table>, "tables": [...], "base_url": ..., "fetched_at": ISO,
//     "count": <rows>, "sha256": <hex>, "header_sha256": <hex>,
//     "records": [ <rows with the API's own names and values> ] }
// sha256 = hex SHA-256 of the UTF-8 bytes of canonicalJson(records) (see json.ts: keys sorted,
// no whitespace, exact integers, row order as stored). header_sha256 = the same of
// canonicalJson of the header (every key but records and header_sha256; sha256 among them, so it
// covers the records too). Loading recomputes both and refuses a mismatch with
// CacheIntegrityError, as it refuses a key it does not know, a source, count, table or tables of
// another value than the records and the source's own. A file without header_sha256 (written
// before it was added) is read: its table, tables, source and count are checked as above, its
// base_url and fetched_at are taken as they are; the next ingest writes the key.
import type { SourceStatus } from '@paxos/proto';
import { constants } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { writeFileAtomic } from './atomic-file';
import { checkRecord, type CheckResult } from './checks';
import { CacheIntegrityError } from './errors';
import { canonicalJson, parseLossless, sha256Hex, stringifyLossless } from './json';
import { isSourceNumber, rowLabel, rowTable, SOURCE_COUNT, sourceSpec } from './sources';
import { decodeRow, type DecodedRow, type RawRow } from './values';

export interface SourceCacheFile {
  source: number;
  table: string;
  tables: string[];
  base_url: string;
  fetched_at: string;
  count: number;
  sha256: string;
  /** SHA-256 of the header (headerSha256): base_url, fetched_at and the rest are covered too. */
  header_sha256: string;
  records: RawRow[];
}

/** The header keys of a cache file, records and header_sha256 aside. */
const HEADER_KEYS = ['source', 'table', 'tables', 'base_url', 'fetched_at', 'count', 'sha256'] as const;
/** Every key a cache file may hold. */
const FILE_KEYS: ReadonlySet<string> = new Set([...HEADER_KEYS, 'header_sha256', 'records']);

/** The header_sha256 of a file's header (its values as the file holds them: integers as integers). */
export function headerSha256(head: Pick<SourceCacheFile, (typeof HEADER_KEYS)[number]>): string {
  return sha256Hex(
    canonicalJson({ source: BigInt(head.source), table: head.table, tables: head.tables, base_url: head.base_url, fetched_at: head.fetched_at, count: BigInt(head.count), sha256: head.sha256 }),
  );
}

export interface CachedRecord {
  label: string;
  table: string;
  /** The row as the API gave it (bigint integers, wrappers kept). */
  raw: RawRow;
  /** The row decoded to exact types. */
  row: DecodedRow;
  check: CheckResult;
}

export interface SourceCache {
  source: number;
  table: string;
  tables: string[];
  baseUrl: string;
  fetchedAt: string;
  sha256: string;
  records: CachedRecord[];
  invalidCount: number;
  /** O(1) lookup by label (the key column of the row's table). */
  get(label: string): CachedRecord | undefined;
  status(): SourceStatus;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['LMFDB_CACHE_DIR'] || join(homedir(), '.lmfdb');
}

export function cacheFilePath(cacheDir: string, source: number): string {
  return join(cacheDir, `source_${source}.json`);
}

export function recordsSha256(records: readonly RawRow[]): string {
  return sha256Hex(canonicalJson(records));
}

export function buildCacheFile(source: number, records: RawRow[], meta: { baseUrl: string; fetchedAt: string }): SourceCacheFile {
  const spec = sourceSpec(source);
  const head = {
    source,
    table: spec.tables[0].table,
    tables: spec.tables.map((t) => t.table),
    base_url: meta.baseUrl,
    fetched_at: meta.fetchedAt,
    count: records.length,
    sha256: recordsSha256(records),
  };
  return { ...head, header_sha256: headerSha256(head), records };
}

/** The file text: header fields, then one record per line (diff-friendly). */
export function serializeCacheFile(file: SourceCacheFile): string {
  const { records, ...head } = file;
  const headText = stringifyLossless(head);
  const rows = records.map((r) => stringifyLossless(r)).join(',\n');
  return `${headText.slice(0, -1)},"records":[\n${rows}\n]}\n`;
}

export async function writeSourceCache(cacheDir: string, file: SourceCacheFile): Promise<string> {
  const path = cacheFilePath(cacheDir, file.source);
  await writeFileAtomic(path, serializeCacheFile(file));
  return path;
}

/** Parses and verifies a cache file's text (throws CacheIntegrityError). */
export function parseCacheFile(text: string, path: string): SourceCacheFile {
  let v: unknown;
  try {
    v = parseLossless(text);
  } catch (e) {
    throw new CacheIntegrityError(path, `not JSON (${String(e)})`);
  }
  const o = v as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || !Array.isArray(o['records'])) throw new CacheIntegrityError(path, 'no records array');
  // The lossless parser gives integers as bigint: anything else is not a source number or a count.
  const source = typeof o['source'] === 'bigint' && o['source'] >= 0n && o['source'] <= 9n ? Number(o['source']) : undefined;
  if (source === undefined || !isSourceNumber(source)) throw new CacheIntegrityError(path, `source ${JSON.stringify(String(o['source']))} is not one of 0..9`);
  const records = o['records'] as RawRow[];
  if (!records.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) throw new CacheIntegrityError(path, 'records holds something that is not a row object');
  let sha: string;
  try {
    sha = recordsSha256(records);
  } catch (e) {
    throw new CacheIntegrityError(path, `the records cannot be hashed (${(e as Error).message})`);
  }
  if (sha !== o['sha256']) throw new CacheIntegrityError(path, `sha256 is ${String(o['sha256'])}, the records hash to ${sha}`);
  if (o['count'] !== undefined && !(typeof o['count'] === 'bigint' && o['count'] === BigInt(records.length))) {
    throw new CacheIntegrityError(path, `count is ${String(o['count'])}, the file holds ${records.length} records`);
  }
  // The header outside records: no key this format does not have (a key whose name a flipped bit
  // changed would hide its value), the tables the source's own, and the whole covered by
  // header_sha256 when the file has it (every file this build writes).
  const unknownKey = Object.keys(o).find((k) => !FILE_KEYS.has(k));
  if (unknownKey !== undefined) throw new CacheIntegrityError(path, `the header has a key this format does not have: ${JSON.stringify(unknownKey.slice(0, 100))}`);
  const spec = sourceSpec(source);
  const table = o['table'] ?? spec.tables[0].table;
  if (table !== spec.tables[0].table) throw new CacheIntegrityError(path, `table is ${shown(table)}, source ${source} is ${spec.tables[0].table}`);
  const specTables = spec.tables.map((t) => t.table);
  const tables = o['tables'] ?? specTables;
  if (!Array.isArray(tables) || tables.length !== specTables.length || tables.some((t, i) => t !== specTables[i])) {
    throw new CacheIntegrityError(path, `tables is ${shown(tables)}, source ${source} has ${JSON.stringify(specTables)}`);
  }
  for (const key of ['base_url', 'fetched_at'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string') throw new CacheIntegrityError(path, `${key} is ${shown(o[key])}, not text`);
  }
  const head = { source, table: table as string, tables: specTables, base_url: (o['base_url'] as string | undefined) ?? '', fetched_at: (o['fetched_at'] as string | undefined) ?? '', count: records.length, sha256: sha };
  const headerSha = headerSha256(head);
  if (o['header_sha256'] !== undefined && o['header_sha256'] !== headerSha) {
    throw new CacheIntegrityError(path, `header_sha256 is ${shown(o['header_sha256'])}, the header (source, table, tables, base_url, fetched_at, count, sha256) hashes to ${headerSha}: the header was changed; ingest this source again`);
  }
  return { ...head, header_sha256: headerSha, records };
}

/** A header value as an error quotes it (short). */
function shown(v: unknown): string {
  let text: string;
  try {
    text = stringifyLossless(v);
  } catch {
    text = typeof v;
  }
  return text === undefined ? 'missing' : text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * Bytes a cache file may take: it is written and read as one string (and its records hashed as
 * another), and a JavaScript string holds at most MAX_STRING_LENGTH characters (about 512 MiB).
 */
export const CACHE_FILE_BYTES_MAX = constants.MAX_STRING_LENGTH;

export async function readCacheFile(path: string, maxBytes = CACHE_FILE_BYTES_MAX): Promise<SourceCacheFile> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > maxBytes) {
      throw new CacheIntegrityError(path, `${size} bytes, above the ${maxBytes} a cache file may take (it is read as one string): ingest this source again with --limit to cache fewer rows`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof CacheIntegrityError) throw e;
    throw new CacheIntegrityError(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(e));
  }
  return parseCacheFile(text, path);
}

function sameRow(a: RawRow, b: RawRow): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false; // too deep to compare: taken as different
  }
}

/** Decodes, checks and indexes the rows of a cache file. */
export function sourceCacheFromFile(file: SourceCacheFile): SourceCache {
  const spec = sourceSpec(file.source);
  const index = new Map<string, CachedRecord>();
  const records: CachedRecord[] = [];
  let invalid = 0;
  for (const raw of file.records) {
    const table = rowTable(spec, raw).table;
    const label = rowLabel(spec, raw) ?? '';
    let row: DecodedRow;
    let check: CheckResult;
    try {
      row = decodeRow(table, raw);
      check = checkRecord(file.source, row);
    } catch (e) {
      // One row the code cannot read is that row's problem, not the source's.
      row = {};
      check = { valid: false, reasons: [`the row cannot be read: ${(e as Error).message}`] };
    }
    const reasons = [...check.reasons];
    const first = label ? index.get(label) : undefined;
    if (first) {
      // The first copy answers for the label. Copies that differ leave no way to tell which is
      // right: then the first is invalid too, so claims on the label are unknown.
      const differs = !sameRow(first.raw, raw);
      reasons.push(`label ${label} appears more than once${differs ? ', with different contents' : ''}`);
      if (differs && first.check.valid) {
        first.check = { ...first.check, valid: false, reasons: [...first.check.reasons, `label ${label} appears more than once, with different contents`] };
        invalid++;
      }
    }
    const rec: CachedRecord = { label, table, raw, row, check: { ...check, valid: reasons.length === 0, reasons } };
    if (!rec.check.valid) invalid++;
    if (label && !first) index.set(label, rec);
    records.push(rec);
  }
  return {
    source: file.source,
    table: file.table,
    tables: file.tables,
    baseUrl: file.base_url,
    fetchedAt: file.fetched_at,
    sha256: file.sha256,
    records,
    invalidCount: invalid,
    get: (label) => index.get(label),
    status: () => ({
      source: file.source,
      table: file.table,
      loaded: true,
      rowCount: BigInt(records.length),
      invalidCount: BigInt(invalid),
      snapshotSha256: file.sha256,
      baseUrl: file.base_url,
      fetchedAt: file.fetched_at,
      error: '',
    }),
  };
}

/**
 * Heap the load of a cache file takes at its peak, per byte of the file (its text, the parsed
 * rows, their hash, the decoded and checked rows): 22 to 25 times, measured on rows of sources 0,
 * 1, 2, 3, 5 and 8, and 38 on rows of long text (the parser builds a string a character at a
 * time). A file of 200 MB took a heap of 4.3 GB and the node with it ("heap out of memory", at
 * every start), while CACHE_FILE_BYTES_MAX allows 512 MiB.
 */
export const CACHE_LOAD_HEAP_PER_BYTE = 40;
/** Heap a loaded cache keeps, per byte of its file (measured 5 to 20 times). */
export const CACHE_KEPT_HEAP_PER_BYTE = 12;

/** The heap this process may grow to (node's --max-old-space-size, or its default for this machine). */
export const heapLimitBytes = (): number => getHeapStatistics().heap_size_limit;

/**
 * Bytes of cache file a process with `heapBytes` of heap can load, after files of `keptBytes`
 * bytes it loaded already (and at most CACHE_FILE_BYTES_MAX).
 */
export function loadableCacheBytes(heapBytes: number = heapLimitBytes(), keptBytes = 0): number {
  const room = heapBytes - keptBytes * CACHE_KEPT_HEAP_PER_BYTE;
  return Math.max(0, Math.min(CACHE_FILE_BYTES_MAX, Math.floor(room / CACHE_LOAD_HEAP_PER_BYTE)));
}

/**
 * Heap the ingest takes, per byte of the cache file, to build it from the rows it pulled (the rows
 * parsed, hashed, sorted into canonical JSON, written, then decoded and checked): 38 times
 * measured on curve rows, more than a node takes to load it.
 */
export const CACHE_BUILD_HEAP_PER_BYTE = 45;

/** Bytes of cache file an ingest with `heapBytes` of heap can build (at most CACHE_FILE_BYTES_MAX); a node with that heap loads it. */
export function buildableCacheBytes(heapBytes: number = heapLimitBytes()): number {
  return Math.max(0, Math.min(CACHE_FILE_BYTES_MAX, Math.floor(heapBytes / CACHE_BUILD_HEAP_PER_BYTE)));
}

const mb = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;

export interface LoadBudget {
  /** The heap to fit in (default heapLimitBytes()). */
  heapBytes?: number;
  /** Bytes of the cache files this process loaded already. */
  keptBytes?: number;
}

/**
 * Loads, checks and indexes source `source`'s cache file; refuses (CacheIntegrityError) a file too
 * large for this process's heap to load (loadableCacheBytes), saying what to do, rather than
 * running out of memory: a node that cannot load a source runs without it.
 */
export async function loadSource(cacheDir: string, source: number, budget: LoadBudget = {}): Promise<SourceCache> {
  const path = cacheFilePath(cacheDir, source);
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined, // missing or unreadable: readCacheFile says which
  );
  const heap = budget.heapBytes ?? heapLimitBytes();
  const kept = budget.keptBytes ?? 0;
  const fits = loadableCacheBytes(heap, kept);
  if (size !== undefined && size > fits && fits < CACHE_FILE_BYTES_MAX) {
    throw new CacheIntegrityError(
      path,
      `${size} bytes, and loading a cache file takes about ${CACHE_LOAD_HEAP_PER_BYTE} times its size in memory: this process's heap of ${mb(heap)}${kept > 0 ? `, with ${mb(kept)} of cache files loaded already,` : ''} loads files of up to ${fits} bytes. Not loaded: give node a larger heap (NODE_OPTIONS=--max-old-space-size=<MB>), or ingest this source again with --limit to cache fewer rows`,
    );
  }
  const file = await readCacheFile(path);
  if (file.source !== source) throw new CacheIntegrityError(path, `holds source ${file.source}, not source ${source}`);
  return sourceCacheFromFile(file);
}

/** The status of a source that could not be loaded. */
export function unloadedStatus(source: number, error: string): SourceStatus {
  return {
    source,
    table: sourceSpec(source).tables[0].table,
    loaded: false,
    rowCount: 0n,
    invalidCount: 0n,
    snapshotSha256: '',
    baseUrl: '',
    fetchedAt: '',
    error,
  };
}

/** Loads the given sources (default all ten); a source that fails is reported, not thrown. */
export async function loadSources(
  cacheDir: string,
  sources: readonly number[] = Array.from({ length: SOURCE_COUNT }, (_, i) => i),
  budget: LoadBudget = {},
): Promise<{ caches: Map<number, SourceCache>; statuses: SourceStatus[] }> {
  const caches = new Map<number, SourceCache>();
  const statuses: SourceStatus[] = [];
  // The files loaded stay in memory: each next one has the heap they leave.
  let keptBytes = 0;
  for (const n of sources) {
    const size = await stat(cacheFilePath(cacheDir, n)).then(
      (s) => s.size,
      () => 0,
    );
    try {
      const c = await loadSource(cacheDir, n, { ...budget, keptBytes: (budget.keptBytes ?? 0) + keptBytes });
      keptBytes += size;
      caches.set(n, c);
      statuses.push(c.status());
    } catch (e) {
      statuses.push(unloadedStatus(n, e instanceof Error ? e.message : String(e)));
    }
  }
  return { caches, statuses };
}
