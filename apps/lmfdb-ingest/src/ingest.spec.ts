import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_BUILD_HEAP_PER_BYTE, cacheFilePath, LmfdbClient, loadSource, parseLossless, type RawRow, startFakeLmfdbServer, stringifyLossless, verifyClaim } from '@paxos/lmfdb-client';
import { parseCli, parseSourceList, TIMER_MS_MAX } from './args';
import { INGEST_LOCK_FILE, ingestSources, partialPath, progressPath } from './ingest';
import { createReporter, summaryTable } from './progress';
import { run } from './main';
import { createLogger } from '@paxos/grpc-kit';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');

/**
 * A real curve under a label of its own that still passes every record check: the same conductor
 * and model, in an isogeny class "z" with number 1000 + k (unique per k).
 */
function copyOf(curve: RawRow, k: number): RawRow {
  const { Clabel: _c, Ciso: _i, Cnumber: _n, ...base } = curve;
  const N = String(curve['conductor']);
  return { ...base, lmfdb_label: `${N}.z${1000 + k}`, lmfdb_iso: `${N}.z`, lmfdb_number: BigInt(1000 + k), iso_nlabel: 25n };
}

/** 250 curves behind a local API that answers offset 200 with an HTML 500 until heal(). */
async function serverFailingAtOffset200() {
  const curves = parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[];
  const rows: RawRow[] = [...curves, ...Array.from({ length: 170 }, (_, k) => copyOf(curves[k % 80] as RawRow, k))];
  let failing = true;
  const server = await startFakeLmfdbServer({
    tables: { ec_curvedata: rows },
    fault: (url) => (failing && url.searchParams.get('_offset') === '200' ? { kind: 'html', status: 500, message: 'The query took too long' } : undefined),
  });
  return { rows, server, heal: () => (failing = false) };
}

describe('lmfdb-ingest', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lmfdb-ingest-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses to fill a cache another process is filling, and takes it once that process is gone (kill -9)', async () => {
    // Another process holds the cache's lock exactly as an ingest does (SQLite's exclusive lock).
    const holder = spawn(
      process.execPath,
      ['-e', `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS lock (holder INTEGER); COMMIT;'); console.log('locked'); setInterval(() => undefined, 1000);`, join(dir, INGEST_LOCK_FILE)],
      { cwd: join(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
      });
      await expect(ingestSources({ sources: [0], cacheDir: dir, offline: true, snapshotDir: SNAPSHOT })).rejects.toThrow(/being filled by another ingest.*wait for it to finish, or stop it/);
      expect(existsSync(cacheFilePath(dir, 0))).toBe(false);
    } finally {
      // A holder that already exited (it could not take the lock) emits no second 'exit': waiting
      // for one hung the spec until its timeout instead of reporting why.
      if (holder.exitCode === null && holder.signalCode === null) {
        const gone = new Promise((r) => holder.once('exit', r));
        holder.kill('SIGKILL');
        await gone;
      }
    }
    const summary = await ingestSources({ sources: [0], cacheDir: dir, offline: true, snapshotDir: SNAPSHOT });
    expect(summary.map((s) => s.status)).toEqual(['offline']);
  });

  it('removes the temp files an ingest killed mid-write left, and nothing else', async () => {
    const left = ['.progress_3.json.4242.deadbeef.tmp', '.source_3.json.17.0123abcd.tmp'];
    const kept = ['notes.tmp', '.hidden', 'mine.json.1.deadbeef.tmp'];
    for (const f of [...left, ...kept]) writeFileSync(join(dir, f), 'x');
    await ingestSources({ sources: [0], cacheDir: dir, offline: true, snapshotDir: SNAPSHOT });
    for (const f of left) expect(existsSync(join(dir, f))).toBe(false);
    for (const f of kept) expect(existsSync(join(dir, f))).toBe(true);
  });

  it('--offline produces the ten cache files from the snapshot', async () => {
    const summary = await ingestSources({ sources: parseSourceList('0-9'), cacheDir: dir, offline: true, snapshotDir: SNAPSHOT });
    expect(summary.map((s) => [s.source, s.table, s.rows, s.invalid, s.status])).toEqual([
      [0, 'ec_curvedata', 80, 0, 'offline'],
      [1, 'mf_newspaces', 7, 0, 'offline'],
      [2, 'lfunc_search', 6, 0, 'offline'],
      [3, 'nf_fields', 5, 0, 'offline'],
      [4, 'artin_reps', 3, 0, 'offline'],
      [5, 'g2c_curves', 2, 0, 'offline'],
      [6, 'hgcwa_passports', 6, 0, 'offline'],
      [7, 'lat_lattices', 3, 0, 'offline'],
      [8, 'maass_rigor', 1, 0, 'offline'],
      [9, 'smf_families', 13, 0, 'offline'],
    ]);
    for (let n = 0; n < 10; n++) {
      expect(await readFile(cacheFilePath(dir, n), 'utf8')).toBe(await readFile(cacheFilePath(SNAPSHOT, n), 'utf8'));
    }
    expect((await loadSource(dir, 0)).get('11.a2')?.row['jinv']).toEqual([-122023936n, 161051n]);
    const table = summaryTable(summary);
    expect(table.split('\n')[0]).toBe('source  table            rows  invalid  seconds  status');
  });

  it('pulls over the API, is interrupted, and resumes where it stopped', async () => {
    const { rows, server, heal } = await serverFailingAtOffset200();
    try {
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 0 });
      const lines: string[] = [];
      const reporter = createReporter({ write: (s: string) => lines.push(s) });
      const first = await ingestSources({ sources: [0], cacheDir: dir, client: client(), reporter });
      expect(first[0]).toMatchObject({ status: 'failed', rows: 200 });
      expect(first[0].error).toContain('The query took too long');
      expect(existsSync(progressPath(dir, 0))).toBe(true);
      expect(existsSync(cacheFilePath(dir, 0))).toBe(false);

      heal();
      const before = server.requests.length;
      const second = await ingestSources({ sources: [0], cacheDir: dir, client: client(), reporter });
      expect(second[0]).toMatchObject({ status: 'resumed', rows: 250, invalid: 0 });
      // The rows from offset 200 on, then the empty page that ends the pull.
      expect(server.requests.slice(before).map((u) => /_offset=(\d+)/.exec(u)?.[1])).toEqual(['200', '250']);
      expect(existsSync(progressPath(dir, 0))).toBe(false);
      expect(existsSync(partialPath(dir, 0))).toBe(false);
      const cache = await loadSource(dir, 0);
      expect(cache.records.map((r) => r.label).sort()).toEqual(rows.map((r) => String(r['lmfdb_label'])).sort());
      expect(cache.baseUrl).toBe(server.baseUrl);
      expect(lines.join('')).toContain('resuming after 200 rows');
    } finally {
      await server.close();
    }
  });

  it('pulls a source again when its partial file lost committed rows (shorter than its progress record)', async () => {
    const { server, heal } = await serverFailingAtOffset200();
    try {
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 0 });
      expect((await ingestSources({ sources: [0], cacheDir: dir, client: client() }))[0]).toMatchObject({ status: 'failed', rows: 200 });
      await writeFile(partialPath(dir, 0), '');
      heal();
      expect((await ingestSources({ sources: [0], cacheDir: dir, client: client() }))[0]).toMatchObject({ status: 'ok', rows: 250, invalid: 0 });
      expect((await loadSource(dir, 0)).records).toHaveLength(250);
    } finally {
      await server.close();
    }
  });

  it('pulls a source again when its progress record is of another shape (another version), instead of caching a fraction of it or failing every run', async () => {
    const { rows, server, heal } = await serverFailingAtOffset200();
    try {
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 0 });
      expect((await ingestSources({ sources: [0], cacheDir: dir, client: client() }))[0]).toMatchObject({ status: 'failed', rows: 200 });
      heal();
      const good = JSON.parse(await readFile(progressPath(dir, 0), 'utf8')) as Record<string, unknown>;
      const partial = await readFile(partialPath(dir, 0));
      const shapes: Record<string, unknown>[] = [
        // Without table_index the pull was taken as finished: 200 of 250 rows cached, status resumed, exit 0.
        (({ table_index: _t, ...rest }) => rest)(good),
        // Without bytes the partial file was truncated to nothing and the pull went on from offset 200.
        (({ bytes: _b, ...rest }) => rest)(good),
        // Cursors of another shape failed every run ("opts.from.seenAtLo is not iterable", "Cannot convert abc to a BigInt").
        { ...good, cursor: { offset: 200 } },
        { ...good, cursor: { offset: 200, seenAtLo: [], lo: 'abc' } },
        { ...good, rows: '200' },
      ];
      for (const shape of shapes) {
        await writeFile(progressPath(dir, 0), JSON.stringify(shape));
        await writeFile(partialPath(dir, 0), partial);
        const warnings: string[] = [];
        const logger = { info: () => undefined, warn: (_o: object, msg?: string) => void warnings.push(String(msg)), error: () => undefined };
        const [s] = await ingestSources({ sources: [0], cacheDir: dir, client: client(), logger });
        expect(s).toMatchObject({ status: 'ok', rows: 250, invalid: 0 });
        expect(warnings.join('\n')).toContain('not one this ingest can resume from');
        const cache = await loadSource(dir, 0);
        expect(cache.records.map((r) => r.label).sort()).toEqual(rows.map((r) => String(r['lmfdb_label'])).sort());
      }
    } finally {
      await server.close();
    }
  });

  it('completes when the API answers some requests with an HTML 500, and fails with its message when it keeps doing so', async () => {
    const curves = parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[];
    const rows: RawRow[] = Array.from({ length: 400 }, (_, k) => copyOf(curves[k % 80] as RawRow, k));
    // Every third request is a 500 page, as the live site answers a busy moment: retried, then taken.
    const flaky = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, fault: (_url, n) => (n % 3 === 2 ? { kind: 'html', status: 500, message: 'Internal Server Error' } : undefined) });
    try {
      const client = new LmfdbClient({ baseUrl: flaky.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 5 });
      const [done] = await ingestSources({ sources: [0], cacheDir: dir, client });
      expect(done).toMatchObject({ status: 'ok', rows: 400 });
      expect(flaky.requests.length).toBeGreaterThan(6);
    } finally {
      await flaky.close();
    }
    // Always a 500: permanent after the retries, and the summary carries the server's words.
    const down = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, fault: () => ({ kind: 'html', status: 500, message: 'The database is being restarted' }) });
    try {
      const client = new LmfdbClient({ baseUrl: down.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 5 });
      const [failed] = await ingestSources({ sources: [0], cacheDir: join(dir, 'down'), client });
      expect(failed).toMatchObject({ status: 'failed', rows: 0 });
      expect(failed?.error).toContain('The database is being restarted');
      expect(failed?.error).toMatch(/permanent: \d+ answers of 500 in a row, retried with back-off/);
    } finally {
      await down.close();
    }
  });

  it('stops at the first source the API does not answer (503 after the retries, or no connection) instead of waiting out the same retries for every source', async () => {
    const busy = await startFakeLmfdbServer({ tables: {}, fault: () => ({ kind: 'html', status: 503, message: 'Service Unavailable' }) });
    try {
      const client = new LmfdbClient({ baseUrl: busy.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, backoffMaxMs: 2, maxRetries: 2 });
      const summary = await ingestSources({ sources: [0, 3, 5], cacheDir: dir, client });
      expect(busy.requests).toHaveLength(3); // source 0 and its two retries, nothing after
      expect(summary.map((s) => [s.source, s.status])).toEqual([[0, 'failed'], [3, 'failed'], [5, 'failed']]);
      expect(summary[0]?.error).toContain('Service Unavailable');
      expect(summary[1]?.error).toBe('not tried: the API did not answer source 0 after its retries');
    } finally {
      await busy.close();
    }
    // Nothing listens: the connection is refused, again and again.
    const closed = await startFakeLmfdbServer({ tables: {} });
    const baseUrl = closed.baseUrl;
    await closed.close();
    const nobody = new LmfdbClient({ baseUrl, minIntervalMs: 0, backoffBaseMs: 1, backoffMaxMs: 2, maxRetries: 1 });
    const summary = await ingestSources({ sources: [3, 0], cacheDir: join(dir, 'nobody'), client: nobody });
    expect(nobody.requests).toBe(2);
    expect(summary[1]).toMatchObject({ source: 0, status: 'failed', error: 'not tried: the API did not answer source 3 after its retries' });
    // A failure of one source's query (an unknown table, 404) is that source's: the next is tried.
    const curves = parseLossless(await readFile(join(SNAPSHOT, 'records/nf_fields.json'), 'utf8')) as RawRow[];
    const partly = await startFakeLmfdbServer({ tables: { nf_fields: curves }, fault: (url) => (url.pathname.includes('ec_curvedata') ? { kind: 'html', status: 404, message: 'Table ec_curvedata does not exist' } : undefined) });
    try {
      const summary = await ingestSources({ sources: [0, 3], cacheDir: join(dir, 'partly'), client: new LmfdbClient({ baseUrl: partly.baseUrl, minIntervalMs: 0, backoffBaseMs: 1, maxRetries: 1 }) });
      expect(summary.map((s) => [s.source, s.status])).toEqual([[0, 'failed'], [3, 'ok']]);
    } finally {
      await partly.close();
    }
  });

  it('a label served twice with different contents gives unknown whichever copy comes first; an identical copy is kept once', async () => {
    const curves = parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[];
    const first = curves.find((c) => c['lmfdb_label'] === '11.a2') as RawRow;
    const other = { ...first, rank: 1n };
    const rest = curves.filter((c) => c !== first);
    for (const [k, order] of [[first, other], [other, first]].entries()) {
      const server = await startFakeLmfdbServer({ tables: { ec_curvedata: [...rest, ...order, first] } });
      try {
        const client = new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0 });
        const cacheDir = join(dir, `order-${k}`);
        const [s] = await ingestSources({ sources: [0], cacheDir, client });
        expect(s).toMatchObject({ status: 'ok', rows: rest.length + 2 });
        const cache = await loadSource(cacheDir, 0);
        for (const rank of ['0', '1']) expect(verifyClaim(cache, { source: 0, label: '11.a2', field: 'rank', claimedValue: rank }).verdict).toBe('unknown');
        expect(verifyClaim(cache, { source: 0, label: '11.a1', field: 'rank', claimedValue: '0' }).verdict).toBe('true');
      } finally {
        await server.close();
      }
    }
  });

  it('--limit caps the rows of a source; multi-table sources record each row table', async () => {
    const server = await startFakeLmfdbServer({
      tables: {
        mf_newspaces: parseLossless(await readFile(join(SNAPSHOT, 'records/mf_newspaces.json'), 'utf8')) as RawRow[],
        mf_gamma1: parseLossless(await readFile(join(SNAPSHOT, 'records/mf_gamma1.json'), 'utf8')) as RawRow[],
        mf_newforms: parseLossless(await readFile(join(SNAPSHOT, 'records/mf_newforms.json'), 'utf8')) as RawRow[],
      },
    });
    try {
      const client = new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0 });
      const [s] = await ingestSources({ sources: [1], cacheDir: dir, client, limit: 4 });
      expect(s).toMatchObject({ rows: 4, invalid: 0, status: 'ok' });
      const c = await loadSource(dir, 1);
      expect(c.records.map((r) => [r.label, r.table])).toEqual([
        ['21.2.a', 'mf_newspaces'],
        ['109.2.a', 'mf_newspaces'],
        ['116.1', 'mf_gamma1'],
        ['117.1', 'mf_gamma1'],
      ]);
    } finally {
      await server.close();
    }
  });

  it('a pull cut by --limit whose cache file was not written resumes without skipping the rows the limit left out, and within a smaller limit', async () => {
    const { rows, server, heal } = await serverFailingAtOffset200();
    heal();
    try {
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0, maxRetries: 0 });
      // The cache file cannot be written (a directory in its place, as a full disk would refuse
      // it): the rows and the progress of the pull the limit cut at 150 stay on disk.
      const cutAt150 = async () => {
        await rm(cacheFilePath(dir, 0), { force: true });
        await mkdir(cacheFilePath(dir, 0));
        expect((await ingestSources({ sources: [0], cacheDir: dir, client: client(), limit: 150 }))[0]).toMatchObject({ status: 'failed', rows: 150 });
        await rm(cacheFilePath(dir, 0), { recursive: true });
      };
      await cutAt150();
      // Without the limit every row is taken: rows 150 to 199, of the page the limit cut, included.
      expect((await ingestSources({ sources: [0], cacheDir: dir, client: client() }))[0]).toMatchObject({ rows: rows.length, invalid: 0 });
      expect((await loadSource(dir, 0)).records.map((r) => r.label).sort()).toEqual(rows.map((r) => String(r['lmfdb_label'])).sort());
      // With a smaller limit, no more rows than it allows.
      await cutAt150();
      expect((await ingestSources({ sources: [0], cacheDir: dir, client: client(), limit: 120 }))[0]).toMatchObject({ rows: 120 });
      expect((await loadSource(dir, 0)).records).toHaveLength(120);
    } finally {
      await server.close();
    }
  });

  it('a partial file damaged inside its committed bytes fails naming the file and line, and the next run pulls the source again', async () => {
    const curves = (parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[]).slice(0, 3);
    const server = await startFakeLmfdbServer({ tables: { ec_curvedata: curves } });
    try {
      // A pull whose every page was taken, with its second line cut inside the committed bytes.
      const lines = curves.map((r) => stringifyLossless(r));
      const damaged = `${lines[0]}\n${(lines[1] as string).slice(0, 20)}\n${lines[2]}\n`;
      await writeFile(partialPath(dir, 0), damaged);
      const progress = { source: 0, base_url: server.baseUrl, started_at: '2026-12-06T00:00:00.000Z', table_index: 1, rows: 3, pages: 2, bytes: Buffer.byteLength(damaged) };
      await writeFile(progressPath(dir, 0), JSON.stringify(progress));
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0 });
      const [first] = await ingestSources({ sources: [0], cacheDir: dir, client: client() });
      expect(first).toMatchObject({ status: 'failed' });
      expect(first?.error).toContain(`${partialPath(dir, 0)}, line 2: not JSON`);
      expect(first?.error).toContain('run the ingest again to pull source 0 from the start');
      const [second] = await ingestSources({ sources: [0], cacheDir: dir, client: client() });
      expect(second).toMatchObject({ status: 'ok', rows: 3, invalid: 0 });
    } finally {
      await server.close();
    }
  });

  it('pulls a source again when its progress was taken in rows sorted otherwise than this ingest sorts them (the cursor\'s offset would skip rows)', async () => {
    // nf_fields was pulled sorted by degree; it is now sorted by disc_abs. By degree the first
    // three fields are 2.0.15.1, 3.1.23.1, 3.1.4563.1; by disc_abs offset 3 is 1849, 4563: a
    // resume there cached 4.0.125.1 never.
    const fields = parseLossless(await readFile(join(SNAPSHOT, 'records/nf_fields.json'), 'utf8')) as RawRow[];
    const byDegree = [...fields].sort((a, b) => (String(a['label']) < String(b['label']) ? -1 : 1));
    const server = await startFakeLmfdbServer({ tables: { nf_fields: fields } });
    try {
      const partial = byDegree.slice(0, 3).map((r) => `${stringifyLossless(r)}\n`).join('');
      const older = { source: 3, base_url: server.baseUrl, started_at: '2026-12-06T00:00:00.000Z', table_index: 0, cursor: { offset: 3, seenAtLo: [] }, rows: 3, pages: 1, bytes: Buffer.byteLength(partial) };
      for (const progress of [older, { ...older, sort: 'degree,label' }]) {
        await writeFile(partialPath(dir, 3), partial);
        await writeFile(progressPath(dir, 3), JSON.stringify(progress));
        const warnings: string[] = [];
        const logger = { info: () => undefined, warn: (o: object, msg?: string) => void warnings.push(`${msg} ${JSON.stringify(o)}`), error: () => undefined };
        const [s] = await ingestSources({ sources: [3], cacheDir: dir, client: new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0 }), logger });
        expect(s).toMatchObject({ status: 'ok', rows: 5, invalid: 0 });
        expect(warnings.join('\n')).toContain('sorted by degree,label, and this ingest sorts nf_fields by disc_abs,label');
        expect((await loadSource(dir, 3)).records.map((r) => r.label).sort()).toEqual(fields.map((r) => String(r['label'])).sort());
      }
      // A progress record of source 0, whose sort is unchanged, still resumes (written before the sort was recorded, or after).
      const curves = (parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[]).slice(0, 3);
      await server.close();
      const ec = await startFakeLmfdbServer({ tables: { ec_curvedata: curves } });
      try {
        for (const sort of [undefined, 'conductor,lmfdb_label']) {
          const line = `${stringifyLossless(curves[0] as RawRow)}\n`;
          await writeFile(partialPath(dir, 0), line);
          await writeFile(progressPath(dir, 0), JSON.stringify({ source: 0, base_url: ec.baseUrl, started_at: '2026-12-06T00:00:00.000Z', table_index: 0, cursor: { offset: 1, seenAtLo: [] }, rows: 1, pages: 1, bytes: Buffer.byteLength(line), ...(sort ? { sort } : {}) }));
          const [s] = await ingestSources({ sources: [0], cacheDir: dir, client: new LmfdbClient({ baseUrl: ec.baseUrl, minIntervalMs: 0 }) });
          expect(s).toMatchObject({ status: 'resumed', rows: 3, invalid: 0 });
        }
      } finally {
        await ec.close();
      }
    } finally {
      await server.close();
    }
  });

  it('refuses a pull whose cache file would pass the size one may take, naming the file, the bound and how many rows fit', async () => {
    const { server, heal } = await serverFailingAtOffset200();
    heal();
    try {
      const client = () => new LmfdbClient({ baseUrl: server.baseUrl, minIntervalMs: 0 });
      const maxCacheBytes = 64 * 1024 + 40_000; // a page of 100 curves fits, two do not
      const [refused] = await ingestSources({ sources: [0], cacheDir: dir, client: client(), maxCacheBytes });
      expect(refused).toMatchObject({ status: 'failed' });
      expect(refused?.error).toContain(`pulled into ${partialPath(dir, 0)}`);
      expect(refused?.error).toMatch(new RegExp(`would pass the ${maxCacheBytes} bytes one may take .*ingest this source with --limit \\(about \\d+ rows fit\\)`));
      expect(existsSync(partialPath(dir, 0))).toBe(false);
      expect(existsSync(progressPath(dir, 0))).toBe(false);
      expect(existsSync(cacheFilePath(dir, 0))).toBe(false);
      const [limited] = await ingestSources({ sources: [0], cacheDir: dir, client: client(), maxCacheBytes, limit: 100 });
      expect(limited).toMatchObject({ status: 'ok', rows: 100 });
      // Without a bound given, the bound is the file this heap can build (a node with it then
      // loads it; a larger one took the nodes down at every start): here a heap for the bytes above.
      const heapBytes = maxCacheBytes * CACHE_BUILD_HEAP_PER_BYTE;
      const [byHeap] = await ingestSources({ sources: [0], cacheDir: join(dir, 'heap'), client: client(), heapBytes });
      expect(byHeap?.error).toMatch(new RegExp(`would pass the ${maxCacheBytes} bytes one may take \\(.*building it takes about ${CACHE_BUILD_HEAP_PER_BYTE} times its size in memory: a larger heap, NODE_OPTIONS=--max-old-space-size=<MB>, takes more\\)`));
    } finally {
      await server.close();
    }
  });

  it('--max-offset: a pull from an API that serves fewer offsets than the LMFDB splits by range instead of failing', async () => {
    const curves = parseLossless(await readFile(join(SNAPSHOT, 'records/ec_curvedata.json'), 'utf8')) as RawRow[];
    const rows: RawRow[] = [...curves, ...Array.from({ length: 170 }, (_, k) => copyOf(curves[k % 80] as RawRow, k))];
    const server = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, maxOffset: 150 });
    const logger = createLogger('ingest-spec');
    logger.level = 'silent';
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      const opts = (cacheDir: string, extra: string[]) => parseCli(['--sources', '0', '--base-url', server.baseUrl, '--cache-dir', cacheDir, '--min-interval-ms', '0', ...extra], {});
      // The LMFDB's own limit (10,000): the server refuses offset 200 (404), and the pull fails.
      expect(await run(opts(join(dir, 'default'), []), logger)).toBe(1);
      expect(await run(opts(dir, ['--max-offset', '150']), logger)).toBe(0);
      const cache = await loadSource(dir, 0);
      expect(cache.records.map((r) => r.label).sort()).toEqual(rows.map((r) => String(r['lmfdb_label'])).sort());
    } finally {
      process.stdout.write = write;
      await server.close();
    }
    expect(parseCli(['--offline'], {}).maxOffset).toBe(10000);
    expect(parseCli(['--offline'], { LMFDB_MAX_OFFSET: '500' }).maxOffset).toBe(500);
    expect(() => parseCli(['--offline', '--max-offset', '99'], {})).toThrow(/--max-offset: 99 is outside 100\.\.1000000/);
  });

  it('reads the command line and the environment', () => {
    expect(parseSourceList('0,3,5')).toEqual([0, 3, 5]);
    expect(parseSourceList('2')).toEqual([2]);
    expect(parseSourceList('7-9,0')).toEqual([0, 7, 8, 9]);
    expect(() => parseSourceList('3-10')).toThrow(/outside 0..9/);
    const o = parseCli(['--sources', '0-2', '--offline', '--limit', '5'], { LMFDB_CACHE_DIR: '/c', LMFDB_BASE_URL: 'http://m' });
    expect(o).toMatchObject({ command: 'ingest', sources: [0, 1, 2], offline: true, limit: 5, cacheDir: '/c', baseUrl: 'http://m', minIntervalMs: 2000, botWallCooldownMs: 120000 });
    expect(parseCli(['serve', '--port', '0'], {})).toMatchObject({ command: 'serve', port: 0 });
    expect(() => parseCli(['--bogus'], {})).toThrow();
    expect(() => parseCli(['--base-url', 'notaurl'], {})).toThrow(/--base-url: "notaurl" is not an http or https URL/);
    expect(() => parseCli([], { LMFDB_BASE_URL: 'ftp://x' })).toThrow(/is not an http or https URL/);
    expect(parseCli(['--offline'], { LMFDB_BASE_URL: 'ftp://x' })).toMatchObject({ offline: true });
  });

  it('refuses a delay a timer cannot wait (it fired at once: no pacing, no cool-down) and a timeout of 0, naming the bound', () => {
    expect(parseCli(['--offline', '--min-interval-ms', String(TIMER_MS_MAX), '--timeout-ms', '1'], {})).toMatchObject({ minIntervalMs: TIMER_MS_MAX, timeoutMs: 1 });
    expect(() => parseCli(['--offline', '--min-interval-ms', '3000000000'], {})).toThrow(/--min-interval-ms: 3000000000 ms is outside 0\.\.2147483647/);
    expect(() => parseCli(['--offline'], { LMFDB_BOT_WALL_COOLDOWN_MS: '2147483648' })).toThrow(/--bot-wall-cooldown-ms: 2147483648 ms is outside/);
    expect(() => parseCli(['--offline', '--timeout-ms', '4294967296'], {})).toThrow(/--timeout-ms: 4294967296 ms is outside 1\.\./);
    expect(() => parseCli(['--offline', '--timeout-ms', '0'], {})).toThrow(/--timeout-ms: 0 ms is outside 1\.\./);
  });
});

describe('progress output', () => {

  it('draws a bar on a TTY and plain lines otherwise', () => {
    let t = 0;
    const tty: string[] = [];
    const r = createReporter({ write: (s: string) => tty.push(s), isTTY: true, columns: 120 }, () => t);
    r.start(0, 'ec_curvedata', 0);
    t = 2000;
    r.update({ source: 0, table: 'ec_curvedata', rows: 100, pages: 1, total: 400 });
    expect(tty.join('')).toContain('source 0 ec_curvedata [######------------------] 100/400 rows, 1 pages, 50.0 rows/s, ETA 6s');
    const plain: string[] = [];
    const p = createReporter({ write: (s: string) => plain.push(s) }, () => t);
    p.start(3, 'nf_fields', 0);
    t = 5000;
    p.update({ source: 3, table: 'nf_fields', rows: 30, pages: 1 });
    expect(plain).toEqual(['source 3 nf_fields: starting\n', 'source 3 nf_fields: 30 rows, 1 pages, 10.0 rows/s, ETA ?\n']);
  });
});
