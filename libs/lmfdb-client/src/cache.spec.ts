import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCacheFile, CACHE_KEPT_HEAP_PER_BYTE, CACHE_LOAD_HEAP_PER_BYTE, cacheFilePath, loadableCacheBytes, loadSource, loadSources, readCacheFile, writeSourceCache } from './cache';
import { verifyClaim } from './claims';
import { CacheIntegrityError } from './errors';
import { LosslessNumber } from './json';
import type { RawRow } from './values';

describe('the on-disk cache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lmfdb-cache-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const rows = [
    { lmfdb_label: '11.a1', ainvs: [0n, -1n, 1n, -7820n, -263580n], conductor: 11n, jinv: [-52893159101157376n, 11n], absD: 11n, signD: -1n },
    {
      lmfdb_label: '11.a2',
      conductor: 11n,
      big: 123456789012345678901234567890n,
      faltings_height: { __RealLiteral__: 0n, data: '-0.30800984111840306468901426146', prec: 97n },
      x: new LosslessNumber('1.50'),
    },
  ];

  it('refuses a cache file above the size one may take, naming it, its size and the bound, before reading it', async () => {
    const path = await writeSourceCache(dir, buildCacheFile(0, rows, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' }));
    const size = Buffer.byteLength(await readFile(path, 'utf8'));
    await expect(readCacheFile(path, size - 1)).rejects.toThrow(CacheIntegrityError);
    await expect(readCacheFile(path, size - 1)).rejects.toThrow(`cache file ${path}: ${size} bytes, above the ${size - 1} a cache file may take (it is read as one string): ingest this source again with --limit`);
    expect((await readCacheFile(path, size)).count).toBe(2);
  });

  it('does not load a file the heap cannot hold (it ran the node out of memory at every start), saying what to do; the sources after it have the heap left', async () => {
    await writeSourceCache(dir, buildCacheFile(0, rows, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' }));
    // Source 3's file is the larger: the heap that loads it after source 0 loads source 0 alone.
    const fields = Array.from({ length: 50 }, (_, i) => ({ label: `2.0.${15 + i}.1`, degree: 2n }));
    await writeSourceCache(dir, buildCacheFile(3, fields, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' }));
    const size0 = (await stat(cacheFilePath(dir, 0))).size;
    const size3 = (await stat(cacheFilePath(dir, 3))).size;
    expect(size3).toBeGreaterThan(size0);
    // A heap for source 0 and not a byte more.
    const heapBytes = size0 * CACHE_LOAD_HEAP_PER_BYTE;
    expect(loadableCacheBytes(heapBytes)).toBe(size0);
    expect((await loadSource(dir, 0, { heapBytes })).records).toHaveLength(2);
    await expect(loadSource(dir, 0, { heapBytes: heapBytes - CACHE_LOAD_HEAP_PER_BYTE })).rejects.toThrow(
      new RegExp(`^cache file ${cacheFilePath(dir, 0)}: ${size0} bytes, and loading a cache file takes about ${CACHE_LOAD_HEAP_PER_BYTE} times its size in memory: this process's heap of \\d+ MB loads files of up to ${size0 - 1} bytes\\. Not loaded: give node a larger heap \\(NODE_OPTIONS=--max-old-space-size=<MB>\\), or ingest this source again with --limit`),
    );
    // Source 0 loaded keeps its share: source 3 then needs the room it leaves.
    const both = await loadSources(dir, [0, 3], { heapBytes: size0 * CACHE_KEPT_HEAP_PER_BYTE + size3 * CACHE_LOAD_HEAP_PER_BYTE });
    expect([...both.caches.keys()]).toEqual([0, 3]);
    const tight = await loadSources(dir, [0, 3], { heapBytes: size0 * CACHE_KEPT_HEAP_PER_BYTE + size3 * CACHE_LOAD_HEAP_PER_BYTE - 1 });
    expect([...tight.caches.keys()]).toEqual([0]);
    expect(tight.statuses[1]).toMatchObject({ source: 3, loaded: false, error: expect.stringMatching(/with \d+ MB of cache files loaded already, loads files of up to/) });
  });

  it('writes exact integers, round-trips bigints and verifies sha256', async () => {
    const file = buildCacheFile(0, rows, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' });
    const path = await writeSourceCache(dir, file);
    expect(path).toBe(cacheFilePath(dir, 0));
    const text = await readFile(path, 'utf8');
    expect(text).toContain('"jinv":[-52893159101157376,11]');
    expect(text).toContain('"big":123456789012345678901234567890');
    expect(text).toContain('"x":1.50');
    const c = await loadSource(dir, 0);
    expect(c.sha256).toBe(file.sha256);
    expect(c.get('11.a1')?.raw['jinv']).toEqual([-52893159101157376n, 11n]);
    expect(c.get('11.a2')?.row['faltings_height']).toEqual({ kind: 'real', digits: '-0.30800984111840306468901426146', prec: 97 });
    expect(c.status()).toEqual({
      source: 0,
      table: 'ec_curvedata',
      loaded: true,
      rowCount: 2n,
      invalidCount: 0n,
      snapshotSha256: file.sha256,
      baseUrl: 'http://mirror',
      fetchedAt: '2026-01-01T00:00:00Z',
      error: '',
    });
  });

  it('refuses a file whose records do not hash to its sha256', async () => {
    const path = await writeSourceCache(dir, buildCacheFile(0, rows, { baseUrl: 'b', fetchedAt: 'f' }));
    await writeFile(path, (await readFile(path, 'utf8')).replace('-263580', '-263581'));
    await expect(loadSource(dir, 0)).rejects.toThrow(CacheIntegrityError);
    await expect(loadSource(dir, 0)).rejects.toThrow(/sha256 is [0-9a-f]{64}, the records hash to [0-9a-f]{64}/);
    const { caches, statuses } = await loadSources(dir, [0, 4]);
    expect(caches.size).toBe(0);
    expect(statuses.map((s) => [s.source, s.loaded, s.error.includes('sha256') || s.error.includes('missing')])).toEqual([
      [0, false, true],
      [4, false, true],
    ]);
  });

  it('refuses a header it cannot trust with CacheIntegrityError: count or source of another type, a file holding another source', async () => {
    const path = await writeSourceCache(dir, buildCacheFile(0, rows, { baseUrl: 'b', fetchedAt: 'f' }));
    const good = await readFile(path, 'utf8');
    for (const [from, to] of [
      ['"count":2', '"count":null'],
      ['"count":2', '"count":"x"'],
      ['"count":2', '"count":1.5'],
      ['"count":2', '"count":true'],
      ['"source":0', '"source":null'],
      ['"source":0', '"source":""'],
      ['"source":0', '"source":true'],
    ]) {
      expect(good).toContain(from);
      await writeFile(path, good.replace(from as string, to as string));
      await expect(loadSource(dir, 0)).rejects.toThrow(CacheIntegrityError);
    }
    await writeFile(path, good);
    await writeFile(cacheFilePath(dir, 3), good);
    await expect(loadSource(dir, 3)).rejects.toThrow(/holds source 0, not source 3/);
  });

  it('covers the header outside records too: a changed base_url, fetched_at, table or tables is refused, not reported as the source\'s own (it loaded)', async () => {
    const path = await writeSourceCache(dir, buildCacheFile(0, rows, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' }));
    const good = await readFile(path, 'utf8');
    expect(good).toMatch(/"sha256":"[0-9a-f]{64}","header_sha256":"[0-9a-f]{64}","records":\[/);
    for (const [from, to, said] of [
      ['"base_url":"http://mirror"', '"base_url":"http://mirrox"', /header_sha256 is "[0-9a-f]{64}", the header .* hashes to [0-9a-f]{64}: the header was changed; ingest this source again/],
      ['"fetched_at":"2026-01-01', '"fetched_at":"2026-01-02', /the header was changed/],
      ['"table":"ec_curvedata"', '"table":"ec_curvedatb"', /table is "ec_curvedatb", source 0 is ec_curvedata/],
      ['"tables":["ec_curvedata"]', '"tables":["nf_fields"]', /tables is \["nf_fields"\], source 0 has \["ec_curvedata"\]/],
      ['"header_sha256":"', '"header_sha256":"0', /header_sha256 is "0/],
      ['"header_sha256":"', '"header_sha257":"', /a key this format does not have: "header_sha257"/],
      ['"base_url"', '"base_urm"', /a key this format does not have: "base_urm"/],
    ] as const) {
      expect(good).toContain(from);
      await writeFile(path, good.replace(from, to));
      await expect(loadSource(dir, 0)).rejects.toThrow(CacheIntegrityError);
      await expect(loadSource(dir, 0)).rejects.toThrow(said);
    }
    // A file written before header_sha256 was added (the same text without it) is read: its table
    // and tables are still checked against the source's, and the next write adds the key.
    const older = good.replace(/,"header_sha256":"[0-9a-f]{64}"/, '');
    await writeFile(path, older);
    const c = await loadSource(dir, 0);
    expect([c.table, c.baseUrl, c.fetchedAt, c.records.length]).toEqual(['ec_curvedata', 'http://mirror', '2026-01-01T00:00:00Z', 2]);
    expect((await readCacheFile(path)).header_sha256).toBe(buildCacheFile(0, rows, { baseUrl: 'http://mirror', fetchedAt: '2026-01-01T00:00:00Z' }).header_sha256);
    await writeFile(path, older.replace('"table":"ec_curvedata"', '"table":"ec_curvedatb"'));
    await expect(loadSource(dir, 0)).rejects.toThrow(/table is "ec_curvedatb"/);
  });

  it('marks invalid rows and duplicate labels, keeping them', async () => {
    const bad = { ...rows[0], absD: 12n };
    await writeSourceCache(dir, buildCacheFile(0, [bad, rows[0]], { baseUrl: 'b', fetchedAt: 'f' }));
    const c = await loadSource(dir, 0);
    expect(c.records).toHaveLength(2);
    expect(c.invalidCount).toBe(2);
    expect(c.records[1].check.reasons).toEqual(['label 11.a1 appears more than once, with different contents']);
  });

  it('answers nothing for a label whose copies differ, keeps an identical copy harmless, and survives a row it cannot read', async () => {
    const rank7 = { ...rows[0], rank: 7n };
    const unreadable = { lmfdb_label: '37.a1', conductor: 37n, jinv: { __Rational__: 0, data: [1n, 0n] } };
    const proto = { lmfdb_label: '14.a1', conductor: 14n } as Record<string, unknown>;
    Object.defineProperty(proto, '__proto__', { value: { ainvs: [0n, 0n, 0n, 0n, 1n] }, enumerable: true });
    await writeSourceCache(dir, buildCacheFile(0, [rows[0], rank7, rows[1], rows[1], unreadable, proto as RawRow], { baseUrl: 'b', fetchedAt: 'f' }));
    const c = await loadSource(dir, 0);
    const byLabel = (l: unknown) => c.records.filter((r) => r.label === l).map((r) => r.check.valid);
    expect(byLabel(rows[0]['lmfdb_label'])).toEqual([false, false]);
    expect(verifyClaim(c, { source: 0, label: rows[0]['lmfdb_label'] as string, field: 'rank', claimedValue: '7' }).verdict).toBe('unknown');
    // Identical copies: the first answers.
    expect(byLabel(rows[1]['lmfdb_label'])).toEqual([true, false]);
    expect(c.records.find((r) => r.label === '37.a1')?.check.reasons[0]).toMatch(/^the row cannot be read: a rational with denominator 0/);
    // A column named __proto__ stays a column, and lends the row nothing.
    const p = c.records.find((r) => r.label === '14.a1');
    expect(Object.getPrototypeOf(p?.row)).toBe(Object.prototype);
    expect(Object.keys(p?.row ?? {})).toContain('__proto__');
  });
});
