// Pulling the sources into the cache, resumably; or installing the offline snapshot.
//
// While source N is pulled, two files sit next to the cache:
//   source_N.partial.ndjson  rows taken so far, one JSON row per line (appended and fsynced per page)
//   source_N.progress.json   where the pull stands: table index, scan cursor, bytes of the ndjson
//                            that are committed (written atomically after each page)
// A new run with the same base URL truncates the ndjson to the committed length and continues from
// the cursor; on success the cache file is written atomically and both files are removed. A
// committed line that is not a JSON row fails the source naming the file and line, and drops the
// progress record, so the next run pulls that source from the start.
import { mkdirSync } from 'node:fs';
import { open, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildCacheFile,
  CACHE_BUILD_HEAP_PER_BYTE,
  cacheFilePath,
  canonicalJson,
  sha256Hex,
  findSnapshotDir,
  LmfdbBotWallError,
  LmfdbClient,
  LmfdbHttpError,
  LmfdbInterruptedError,
  LmfdbNetworkError,
  LmfdbTimeoutError,
  buildableCacheBytes,
  type LmfdbClientOptions,
  parseLossless,
  readCacheFile,
  rowLabel,
  type RawRow,
  type ScanCursor,
  sourceCacheFromFile,
  scanSort,
  sourceSpec,
  stringifyLossless,
  type TableSpec,
  withTable,
  sweepAtomicTemps,
  writeFileAtomic,
  writeSourceCache,
} from '@paxos/lmfdb-client';
import { DirInUseError, lockDirAcrossProcesses } from '@paxos/grpc-kit';
import type { ProgressReporter, SourceSummary } from './progress';

export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface IngestOptions {
  sources: readonly number[];
  cacheDir: string;
  offline?: boolean;
  snapshotDir?: string;
  baseUrl?: string;
  /** At most this many rows per source. */
  limit?: number;
  client?: LmfdbClient;
  clientOptions?: LmfdbClientOptions;
  logger?: IngestLogger;
  reporter?: ProgressReporter;
  /** Bytes the source's cache file may take (default buildableCacheBytes(): what this process's heap can build and a node's load, at most CACHE_FILE_BYTES_MAX, about 512 MiB). */
  maxCacheBytes?: number;
  /** The heap the cache's file must be built in (default this process's; nodes run with the same default). */
  heapBytes?: number;
  /** Stops between pages (the progress stays on disk for a resume). */
  signal?: AbortSignal;
  now?: () => number;
}

interface Progress {
  source: number;
  base_url: string;
  started_at: string;
  table_index: number;
  cursor?: ScanCursor;
  rows: number;
  pages: number;
  bytes: number;
  /**
   * The columns the table at table_index was scanned sorted by (scanSort, comma-joined): the
   * cursor's offset is a place in that order only. Absent in records written before it was kept.
   */
  sort?: string;
  /**
   * The limit cut the last page: the cursor is past rows not taken, so only a run whose limit
   * those rows already reach may resume (another starts over).
   */
  cut?: boolean;
}

export const partialPath = (dir: string, n: number) => join(dir, `source_${n}.partial.ndjson`);
export const progressPath = (dir: string, n: number) => join(dir, `source_${n}.progress.json`);

const silent: IngestLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isIntegerText = (v: unknown): v is string => typeof v === 'string' && /^-?\d{1,400}$/.test(v);
const isKeyList = (v: unknown): v is string[] => Array.isArray(v) && v.every((k) => typeof k === 'string');

/**
 * Why a progress record (parsed JSON) is not one this version wrote and can resume from, or
 * undefined. A record of another shape (another version's, an edited one) would otherwise resume
 * wrongly: without `table_index` the pull was taken as finished and cached a fraction of the
 * source with exit 0; without `bytes` the partial file was truncated to nothing and the pull went
 * on from the cursor, losing the rows before it; a cursor of another shape failed every run.
 */
export function progressProblem(v: unknown, n: number): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const p = v as Record<string, unknown>;
  if (p['source'] !== n) return `source is ${JSON.stringify(p['source'])}, not ${n}`;
  if (typeof p['base_url'] !== 'string') return 'base_url is not text';
  if (typeof p['started_at'] !== 'string') return 'started_at is not text';
  const tables = sourceSpec(n).tables.length;
  if (!isCount(p['table_index']) || p['table_index'] > tables) return `table_index ${JSON.stringify(p['table_index'])} is not one of 0..${tables}`;
  for (const k of ['rows', 'pages', 'bytes'] as const) if (!isCount(p[k])) return `${k} ${JSON.stringify(p[k])} is not a count`;
  if (p['cut'] !== undefined && typeof p['cut'] !== 'boolean') return `cut ${JSON.stringify(p['cut'])} is not true or false`;
  if (p['sort'] !== undefined && typeof p['sort'] !== 'string') return `sort ${JSON.stringify(p['sort'])} is not text`;
  const c = p['cursor'];
  // No cursor: the table at table_index is pulled from its start (every table's first page, or after the one before it ended).
  if (c === undefined || c === null) return undefined;
  // A cursor is an offset into the rows in one order: taken in another, a resume would skip rows
  // and take others twice (nf_fields was sorted by degree, and is by disc_abs).
  const t = sourceSpec(n).tables[p['table_index'] as number];
  if (t !== undefined) {
    const had = typeof p['sort'] === 'string' ? p['sort'] : sortBeforeItWasKept(t);
    const want = scanSort(t).join(',');
    if (had !== want) return `its cursor is a place in the rows sorted by ${had}, and this ingest sorts ${t.table} by ${want}`;
  }
  if (typeof c !== 'object' || Array.isArray(c)) return 'cursor is not an object';
  const cur = c as Record<string, unknown>;
  if (!isCount(cur['offset'])) return `cursor.offset ${JSON.stringify(cur['offset'])} is not a count`;
  if (!isKeyList(cur['seenAtLo'])) return 'cursor.seenAtLo is not a list of keys';
  if (cur['lo'] !== undefined && !isIntegerText(cur['lo'])) return 'cursor.lo is not integer text';
  const tail = cur['tail'];
  if (tail !== undefined) {
    if (tail === null || typeof tail !== 'object' || Array.isArray(tail)) return 'cursor.tail is not an object';
    const t = tail as Record<string, unknown>;
    if (!isIntegerText(t['value']) || !isKeyList(t['keys'])) return 'cursor.tail is not {value: integer text, keys: [...]}';
  }
  return undefined;
}

/**
 * The sort of a table's scan in the versions that wrote no `sort` into a progress record: the
 * split column was then the degree or the dimension for these tables, as it is now for the rest.
 */
function sortBeforeItWasKept(t: TableSpec): string {
  const split = ({ lfunc_search: 'degree', nf_fields: 'degree', artin_reps: 'Dim' } as Record<string, string>)[t.table] ?? t.splitColumn;
  return scanSort({ ...t, splitColumn: split }).join(',');
}

/** The progress record of source n; undefined when there is none, or one this version cannot resume from (then the pull starts over, with a warning). */
async function readProgress(dir: string, n: number, log: IngestLogger = silent): Promise<Progress | undefined> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(progressPath(dir, n), 'utf8'));
  } catch {
    return undefined;
  }
  const problem = progressProblem(v, n);
  if (problem === undefined) return v as Progress;
  log.warn({ source: n, file: progressPath(dir, n), problem }, 'the progress record is not one this ingest can resume from: pulling this source from the start');
  return undefined;
}

async function appendRows(path: string, rows: readonly RawRow[]): Promise<number> {
  const fh = await open(path, 'a');
  try {
    if (rows.length) {
      await fh.writeFile(rows.map((r) => `${stringifyLossless(r)}\n`).join(''));
      await fh.sync();
    }
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

/** One line of the partial file as a row, or what is wrong with it. */
function partialRow(line: string): RawRow | string {
  let row: unknown;
  try {
    row = parseLossless(line);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return `not JSON (${why.length > 200 ? `${why.slice(0, 200)}…` : why})`;
  }
  return row !== null && typeof row === 'object' && !Array.isArray(row) ? (row as RawRow) : 'not a JSON object (a row)';
}

/** Bytes of the cache file the committed rows would make: each row and ",\n", and the header. */
const cacheBytesOf = (prog: Progress): number => prog.bytes + prog.rows + 64 * 1024;

/**
 * Refuses a pull whose rows would not fit one cache file (it is built and read as one string):
 * both files go, since no later run could assemble them, and the error says how many rows fit.
 */
async function refuseTooLarge(dir: string, n: number, prog: Progress, maxBytes: number): Promise<never> {
  const file = partialPath(dir, n);
  const fit = Math.floor((prog.rows * maxBytes) / Math.max(1, cacheBytesOf(prog)) * 0.9);
  await rm(progressPath(dir, n), { force: true });
  await rm(file, { force: true });
  throw new Error(
    `source ${n}: the ${prog.rows} rows pulled into ${file} take ${prog.bytes} bytes, and their cache file would pass the ${maxBytes} bytes one may take (it is built and read as one string, and building it takes about ${CACHE_BUILD_HEAP_PER_BYTE} times its size in memory: a larger heap, NODE_OPTIONS=--max-old-space-size=<MB>, takes more); the partial pull was removed: ingest this source with --limit (about ${fit} rows fit)`,
  );
}

class Interrupted extends Error {
  override name = 'Interrupted';
}

async function ingestOne(n: number, o: IngestOptions, client: LmfdbClient, baseUrl: string): Promise<SourceSummary> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const log = o.logger ?? silent;
  const spec = sourceSpec(n);
  const multi = spec.tables.length > 1;
  const ndjson = partialPath(o.cacheDir, n);
  let p = await readProgress(o.cacheDir, n, log);
  let resumed = false;
  if (p?.cut && (o.limit === undefined || o.limit > p.rows)) {
    log.warn({ source: n, rows: p.rows, limit: o.limit ?? null }, 'the interrupted pull was cut at a smaller --limit (its cursor is past rows it left out): pulling this source again');
    p = undefined;
  }
  if (p && p.source === n && p.base_url === baseUrl) {
    try {
      // A partial file shorter than the progress says lost committed rows (truncate would pad it
      // with zero bytes): the pull starts over.
      if ((await stat(ndjson)).size < p.bytes) {
        log.warn({ source: n, file: ndjson, committedBytes: p.bytes }, 'the partial file is shorter than its progress record: pulling this source again');
        p = undefined;
      } else {
        await truncate(ndjson, p.bytes);
        resumed = true;
      }
    } catch {
      p = undefined;
    }
  } else p = undefined;
  if (!p) {
    await rm(ndjson, { force: true });
    await writeFileAtomic(ndjson, '');
    p = { source: n, base_url: baseUrl, started_at: new Date().toISOString(), table_index: 0, rows: 0, pages: 0, bytes: 0 };
    await writeFileAtomic(progressPath(o.cacheDir, n), JSON.stringify(p));
  } else {
    log.info({ source: n, rows: p.rows, table: spec.tables[p.table_index]?.table, cursor: p.cursor }, 'resuming an interrupted pull');
  }
  const prog = p;
  // A file this heap could not build, or a node with it load, ran this process or the node out of memory.
  const maxBytes = o.maxCacheBytes ?? buildableCacheBytes(o.heapBytes);
  o.reporter?.start(n, spec.tables[0].table, prog.rows);
  const full = () => o.limit !== undefined && prog.rows >= o.limit;
  while (prog.table_index < spec.tables.length && !full()) {
    const t = spec.tables[prog.table_index];
    for await (const step of client.scan(t, { from: prog.cursor })) {
      if (o.signal?.aborted) throw new Interrupted('interrupted');
      let rows = multi ? step.rows.map((r) => withTable(r, t.table) as RawRow) : step.rows;
      if (o.limit !== undefined && rows.length > o.limit - prog.rows) {
        rows = rows.slice(0, Math.max(0, o.limit - prog.rows));
        prog.cut = true;
      }
      prog.bytes = await appendRows(ndjson, rows);
      prog.rows += rows.length;
      prog.pages += step.pages;
      prog.cursor = step.cursor;
      prog.sort = scanSort(t).join(',');
      if (!step.cursor) prog.table_index++;
      if (cacheBytesOf(prog) > maxBytes) await refuseTooLarge(o.cacheDir, n, prog, maxBytes);
      await writeFileAtomic(progressPath(o.cacheDir, n), JSON.stringify(prog));
      o.reporter?.update({ source: n, table: t.table, rows: prog.rows, pages: prog.pages, total: o.limit });
      if (full()) break;
    }
  }
  // Assemble the cache file from the committed rows. A copy of a label identical to one already
  // kept is dropped (pages that overlap); a copy that differs is kept, so the cache marks the label
  // invalid (which copy the server sent first is no ground for a verdict).
  if (cacheBytesOf({ ...prog, bytes: (await stat(ndjson)).size }) > maxBytes) await refuseTooLarge(o.cacheDir, n, prog, maxBytes);
  const text = await readFile(ndjson, 'utf8');
  /** The sha256 of each label's first copy, and of every copy of labels that came in several. */
  const firstCopy = new Map<string, string>();
  const copies = new Map<string, Set<string>>();
  const records: RawRow[] = [];
  let lineNumber = 0;
  for (const line of text.split('\n')) {
    // A resumed pull may hold more rows than this run's --limit allows.
    if (o.limit !== undefined && records.length >= o.limit) break;
    lineNumber++;
    if (!line) continue;
    const row = partialRow(line);
    if (typeof row === 'string') {
      // Bytes the progress record counts as committed are damaged (a cut line, a disk fault): a
      // resume would meet them again on every run. Without the progress record the next run
      // pulls this source from the start.
      await rm(progressPath(o.cacheDir, n), { force: true });
      throw new Error(`${ndjson}, line ${lineNumber}: ${row}; the rows pulled so far are damaged, so this source's progress was dropped: run the ingest again to pull source ${n} from the start`);
    }
    const label = rowLabel(spec, row);
    if (label !== undefined) {
      const hash = sha256Hex(canonicalJson(row));
      const first = firstCopy.get(label);
      if (first === undefined) firstCopy.set(label, hash);
      else {
        const kept = copies.get(label) ?? new Set([first]);
        if (kept.has(hash)) continue;
        kept.add(hash);
        copies.set(label, kept);
      }
    }
    records.push(row);
  }
  const file = buildCacheFile(n, records, { baseUrl, fetchedAt: prog.started_at });
  await writeSourceCache(o.cacheDir, file);
  await rm(progressPath(o.cacheDir, n), { force: true });
  await rm(ndjson, { force: true });
  const invalid = sourceCacheFromFile(file).invalidCount;
  log.info({ source: n, table: file.table, rows: records.length, invalid, sha256: file.sha256, pages: prog.pages }, 'source cached');
  return { source: n, table: file.table, rows: records.length, invalid, seconds: (now() - t0) / 1000, status: resumed ? 'resumed' : 'ok' };
}

async function installOffline(n: number, o: IngestOptions, snapshotDir: string): Promise<SourceSummary> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const file = await readCacheFile(cacheFilePath(snapshotDir, n)); // verifies sha256 and header_sha256
  const records = o.limit !== undefined ? file.records.slice(0, o.limit) : file.records;
  const out = records === file.records ? file : buildCacheFile(n, records, { baseUrl: file.base_url, fetchedAt: file.fetched_at });
  o.reporter?.start(n, out.table, 0);
  await writeSourceCache(o.cacheDir, out);
  const invalid = sourceCacheFromFile(out).invalidCount;
  o.logger?.info({ source: n, table: out.table, rows: out.count, invalid, sha256: out.sha256 }, 'snapshot source installed');
  return { source: n, table: out.table, rows: out.count, invalid, seconds: (now() - t0) / 1000, status: 'offline' };
}

/** The cache dir's lock while an ingest writes it: two ingests into one cache would truncate and remove each other's partial files. */
export const INGEST_LOCK_FILE = 'ingest-lock.sqlite';

/** The cache dir is held by another ingest: nothing was written (exit 3, which a launch reports as a refusal). */
export class CacheInUseError extends Error {
  override readonly name = 'CacheInUseError';
}

function lockCacheDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  try {
    return lockDirAcrossProcesses(dir, INGEST_LOCK_FILE);
  } catch (e) {
    if (e instanceof DirInUseError) throw new CacheInUseError(`the LMFDB cache ${dir} is being filled by another ingest (${e.message}): wait for it to finish, or stop it, then run again (an interrupted pull resumes)`);
    throw e;
  }
}

/** Ingests the sources one after the other; a failed source is reported and the next one tried, unless the API itself is not answering (then the rest are reported as not tried). */
export async function ingestSources(o: IngestOptions): Promise<SourceSummary[]> {
  const unlock = lockCacheDir(o.cacheDir);
  try {
    // What an ingest killed mid-write left (a progress record, a whole source's cache file): only
    // ingests write here, and this one holds the lock.
    const swept = await sweepAtomicTemps(o.cacheDir);
    if (swept > 0) o.logger?.info({ files: swept }, 'removed temp files an interrupted ingest left');
    return await ingestLocked(o);
  } finally {
    unlock();
  }
}

async function ingestLocked(o: IngestOptions): Promise<SourceSummary[]> {
  const log = o.logger ?? silent;
  const baseUrl = (o.client?.baseUrl ?? o.baseUrl ?? o.clientOptions?.baseUrl ?? 'https://www.lmfdb.org').replace(/\/+$/, '');
  // The signal ends the client's requests and waits too (a bot-wall cool-down lasts minutes).
  const client = o.offline ? undefined : (o.client ?? new LmfdbClient({ ...o.clientOptions, baseUrl, logger: o.clientOptions?.logger ?? log, ...(o.signal === undefined ? {} : { signal: o.signal }) }));
  const snapshotDir = o.offline ? (o.snapshotDir ?? findSnapshotDir()) : undefined;
  if (o.offline && !snapshotDir) throw new Error('--offline: data/lmfdb-snapshot not found (give --snapshot-dir or LMFDB_SNAPSHOT_DIR)');
  const out: SourceSummary[] = [];
  for (const [i, n] of o.sources.entries()) {
    const now = o.now ?? (() => performance.now());
    const t0 = now();
    try {
      const s = snapshotDir ? await installOffline(n, o, snapshotDir) : await ingestOne(n, o, client as LmfdbClient, baseUrl);
      out.push(s);
      o.reporter?.finish(s);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      const s: SourceSummary = { source: n, table: sourceSpec(n).tables[0].table, rows: 0, invalid: 0, seconds: (now() - t0) / 1000, status: 'failed', error };
      const p = snapshotDir ? undefined : await readProgress(o.cacheDir, n);
      if (p) s.rows = p.rows;
      log.error({ source: n, err: error, resumable: !!p }, 'source not cached');
      out.push(s);
      o.reporter?.finish(s);
      if (e instanceof Interrupted || e instanceof LmfdbInterruptedError) break;
      if (client !== undefined && apiUnavailable(e, client.answers === 0)) {
        // Every source asks the same server: each would wait out the same retries (7 minutes a
        // source when requests time out, 70 for the ten, with a launch waiting on them; 50 a
        // source for a 503 asking ten minutes each time).
        const rest = o.sources.slice(i + 1);
        for (const m of rest) {
          const skipped: SourceSummary = { source: m, table: sourceSpec(m).tables[0].table, rows: 0, invalid: 0, seconds: 0, status: 'failed', error: `not tried: the API did not answer source ${n} after its retries` };
          const p = await readProgress(o.cacheDir, m);
          if (p) skipped.rows = p.rows;
          out.push(skipped);
          o.reporter?.finish(skipped);
        }
        log.error({ source: n, skipped: rest }, 'the LMFDB API did not answer after the retries: the sources after this one are not tried (run again to pull them)');
        break;
      }
    }
  }
  return out;
}

/**
 * A failure of the server rather than of one source's query, still there after the retries: the
 * bot wall, a 429 or 503, or no answer at all (network errors, timeouts) from a server that has
 * answered nothing in this run (one that answered may only be slow on this source's query).
 */
function apiUnavailable(e: unknown, neverAnswered: boolean): boolean {
  if (e instanceof LmfdbBotWallError) return true;
  if (e instanceof LmfdbHttpError) return e.status === 429 || e.status === 503;
  return neverAnswered && (e instanceof LmfdbNetworkError || e instanceof LmfdbTimeoutError);
}
