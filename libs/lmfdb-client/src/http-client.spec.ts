import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LmfdbBotWallError, LmfdbHttpError, LmfdbInterruptedError, LmfdbNetworkError, LmfdbParseError, LmfdbQueryError, LmfdbTimeoutError, LmfdbWrongTableError } from './errors';
import { startFakeLmfdbServer, type FakeFault, type FakeLmfdbServer } from './fake-lmfdb-server';
import { ANSWER_BYTES_MAX, answerBytesMax, extractHtmlMessage, LmfdbClient, type LmfdbClientOptions, PAGE_ITEMS_MAX, RETRY_AFTER_MAX_MS, retryAfterMs } from './http-client';
import { INTEGER_DIGITS_MAX, parseLossless, stringifyLossless } from './json';
import { buildCacheFile, sourceCacheFromFile } from './cache';
import { buildApiPath, typed } from './query';
import { SOURCES } from './sources';
import type { RawRow } from './values';

const real = parseLossless(readFileSync(join(__dirname, '../../../data/lmfdb-snapshot/records/ec_curvedata.json'), 'utf8')) as RawRow[];

/** Real curves plus synthetic-but-valid copies with distinct labels and conductors 1000+k. */
function curves(extra: number): RawRow[] {
  const out = [...real];
  for (let k = 0; k < extra; k++) {
    const N = 1000 + Math.floor(k / 3);
    const n = (k % 3) + 1;
    const { Clabel: _c, Ciso: _i, Cnumber: _n, faltings_height: _f, ...base } = real[k % real.length];
    out.push({ ...base, lmfdb_label: `${N}.a${n}`, lmfdb_iso: `${N}.a`, lmfdb_number: BigInt(n), iso_nlabel: 0n, conductor: BigInt(N) });
  }
  return out;
}

const ec = SOURCES[0].tables[0];
const fast: LmfdbClientOptions = { minIntervalMs: 1, timeoutMs: 2000, backoffBaseMs: 1, backoffMaxMs: 5, botWallCooldownMs: 20, maxRetries: 2 };

async function collect(client: LmfdbClient, filters?: Record<string, string>) {
  const rows: RawRow[] = [];
  let pages = 0;
  for await (const step of client.scan(ec, { filters })) {
    rows.push(...step.rows);
    pages += step.pages;
  }
  return { rows, pages };
}

describe('LmfdbClient against a local API server', () => {
  let server: FakeLmfdbServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (rows: RawRow[], fault?: (u: URL, n: number) => FakeFault | undefined, maxOffset?: number) => {
    server = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, fault, maxOffset });
    return server;
  };

  it('follows a redirect within the base URL\'s origin, and refuses one to another host (its rows would be cached as the LMFDB\'s)', async () => {
    const rows = curves(0);
    // The first request is redirected within the origin (to its own path): followed.
    const s = await start(rows, (u, n) => (n === 1 ? { kind: 'redirect', status: 302, location: `/api/ec_curvedata/${u.search}` } : undefined));
    const got = await collect(new LmfdbClient({ ...fast, baseUrl: s.baseUrl }));
    expect(got.rows.length).toBe(rows.length);
    expect(s.requests.length).toBeGreaterThanOrEqual(2);
    await server?.close();
    const away = await start(rows, () => ({ kind: 'redirect', status: 301, location: 'http://198.51.100.7/api/ec_curvedata/' }));
    const err = await collect(new LmfdbClient({ ...fast, baseUrl: away.baseUrl })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LmfdbHttpError);
    expect((err as Error).message).toMatch(/a redirect to http:\/\/198\.51\.100\.7, another origin than the base URL's http:\/\/127\.0\.0\.1:\d+: not followed/);
    expect(away.requests).toHaveLength(1);
    await server?.close();
    // A redirect loop ends.
    await start(rows, (u) => ({ kind: 'redirect', status: 307, location: `${u.pathname}${u.search}` }));
    const loop = await collect(new LmfdbClient({ ...fast, baseUrl: server?.baseUrl ?? '' })).catch((e: unknown) => e);
    expect((loop as Error).message).toMatch(/more than 5 redirects in a row/);
    // A redirect to a URL without a host (file:, data:) or without a Location says so; they read
    // "a redirect to null ... give --base-url null" and "(empty page)".
    for (const [location, said] of [
      ['file:///etc/passwd', /a redirect to file:\/\/\/etc\/passwd, not an http\(s\) URL: not followed$/],
      [undefined, /answered 302 for .*: a redirect without a Location header: not followed$/],
    ] as const) {
      const answer = (async () => new Response(null, { status: 302, headers: location ? { location } : {} })) as typeof fetch;
      const e = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answer }).fetchPage('ec_curvedata', {}).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LmfdbHttpError);
      expect((e as Error).message).toMatch(said);
    }
  });

  it('refuses a page of another table than the one asked for, by its envelope or by a redirect to its path (nf_fields rows came back as ec_curvedata\'s)', async () => {
    // A same-origin redirect from /api/ec_curvedata/ to /api/nf_fields/: not followed.
    const s = await startFakeLmfdbServer({ tables: { ec_curvedata: curves(0), nf_fields: [{ label: '2.0.15.1', degree: 2n }] }, fault: (u) => (u.pathname.startsWith('/api/ec_curvedata/') ? { kind: 'redirect', status: 302, location: `/api/nf_fields/${u.search}` } : undefined) });
    server = s;
    const err = await collect(new LmfdbClient({ ...fast, baseUrl: s.baseUrl })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LmfdbHttpError);
    expect((err as Error).message).toMatch(/a redirect to \/api\/nf_fields\/, not the API path of ec_curvedata \(\/api\/ec_curvedata\/\): not followed/);
    expect(s.requests).toHaveLength(1);
    // An envelope naming another table, whatever path served it: refused, saying what came back.
    const answer = (body: string) => (async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })) as typeof fetch;
    const other = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answer('{"table":"nf_fields","data":[{"label":"2.0.15.1"}],"start":0}') }).fetchPage('ec_curvedata', {}).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(LmfdbWrongTableError);
    expect((other as Error).message).toMatch(/is a page of table "nf_fields", not of ec_curvedata, the table asked for: not taken/);
    // The asked table's envelope, or one that does not name its table, is taken.
    expect((await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answer('{"table":"ec_curvedata","data":[{"lmfdb_label":"11.a1"}]}') }).fetchPage('ec_curvedata', {})).table).toBe('ec_curvedata');
    expect((await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answer('{"data":[{"lmfdb_label":"11.a1"}]}') }).fetchPage('ec_curvedata', {})).rows).toHaveLength(1);
  });

  it('pages by 100, stops on the empty page after the last rows and returns exactly the rows served, big integers exact', async () => {
    const rows = curves(170); // 250 rows: pages of 100, 100, 50, then an empty one
    const s = await start(rows);
    const got = await collect(new LmfdbClient({ ...fast, baseUrl: s.baseUrl }));
    expect(got.pages).toBe(4);
    expect(got.rows.map((r) => r['lmfdb_label']).sort()).toEqual(rows.map((r) => r['lmfdb_label']).sort());
    const a1 = got.rows.find((r) => r['lmfdb_label'] === '11.a1') as RawRow;
    expect(a1['jinv']).toEqual([-52893159101157376n, 11n]);
    expect(got.rows.find((r) => r['lmfdb_label'] === '11.a2')?.['faltings_height']).toEqual({
      __RealLiteral__: 0n,
      data: '-0.30800984111840306468901426146',
      prec: 97n,
    });
    expect(s.requests[0]).toBe('/api/ec_curvedata/?_sort=conductor%2Clmfdb_label&_format=json');
  });

  it('reads at most maxAnswerBytes of an answer, and does not retry one that is larger', async () => {
    // A server that streams without end (no content-length): the read stops at the cap.
    let served = 0;
    const endless = (async () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            served++;
            controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      )) as typeof fetch;
    const client = new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', maxAnswerBytes: 1024 * 1024, fetch: endless });
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toThrow(LmfdbParseError);
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toThrow(/went past the 1048576 bytes one page may take/);
    expect(served).toBeLessThan(2 * 20); // two requests of about 17 chunks each, no retries
    const declared = (async () => new Response('{}', { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(1 << 30) } })) as typeof fetch;
    await expect(new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: declared }).fetchPage('ec_curvedata', {})).rejects.toThrow(/declares 1073741824 bytes/);
  });

  it('refuses, unparsed and not retried, a page of more values than PAGE_ITEMS_MAX or an answer past a 64th of the heap (the parse of 62 MiB of integers took 3.5 GB)', async () => {
    let asked = 0;
    const serving = (body: string) =>
      (async () => {
        asked++;
        return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
      }) as typeof fetch;
    // A few MiB of text, one row of two million integers: far within the byte bound.
    const many = `{"table":"ec_curvedata","data":[{"lmfdb_label":"11.a1","a":[${'0,'.repeat(PAGE_ITEMS_MAX)}0]}]}`;
    const e = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: serving(many) }).fetchPage('ec_curvedata', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LmfdbParseError);
    expect((e as Error).message).toMatch(new RegExp(`more than ${PAGE_ITEMS_MAX} values and keys in one page .*: not parsed$`));
    expect(asked).toBe(1);
    // Commas and colons inside strings are text, not items; a page at the bound is read.
    const text = `{"data":[{"lmfdb_label":"${',:[{'.repeat(PAGE_ITEMS_MAX)}"}]}`;
    expect((await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: serving(text) }).fetchPage('ec_curvedata', {})).rows).toHaveLength(1);
    // The byte bound follows the heap (a 64 MiB string took 2.3 GB to parse): a 64th of it, within 1 MiB and 64 MiB.
    const GiB = 1024 ** 3;
    expect([answerBytesMax(GiB / 2), answerBytesMax(GiB), answerBytesMax(8 * GiB), answerBytesMax(0)]).toEqual([8 * 1024 * 1024, 16 * 1024 * 1024, ANSWER_BYTES_MAX, 1024 * 1024]);
    expect(ANSWER_BYTES_MAX).toBe(64 * 1024 * 1024);
    const wide = `{"data":[]}${' '.repeat(answerBytesMax())}`;
    await expect(new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: serving(wide) }).fetchPage('ec_curvedata', {})).rejects.toThrow(`went past the ${answerBytesMax()} bytes one page may take`);
  });

  it('takes every row from a server that pages in smaller pages than 100: a short page does not end the pull', async () => {
    const rows = curves(170); // 250 rows in pages of 50
    server = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, pageSize: 50 });
    const got = await collect(new LmfdbClient({ ...fast, baseUrl: server.baseUrl }));
    expect(got.rows.map((r) => r['lmfdb_label']).sort()).toEqual(rows.map((r) => r['lmfdb_label']).sort());
  });

  const answering = (bytes: Buffer) => (async () => new Response(bytes, { status: 200, headers: { 'content-type': 'application/json' } })) as typeof fetch;

  it('reads a page whose body starts with a UTF-8 byte order mark', async () => {
    const body = Buffer.from('{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","conductor":11}]}');
    const answer = answering(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]));
    const page = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answer }).fetchPage('ec_curvedata', {});
    expect(page.rows).toEqual([{ lmfdb_label: '11.a1', conductor: 11n }]);
  });

  it('refuses a body that is not UTF-8, naming where, rather than caching U+FFFD in place of what the server sent', async () => {
    const body = Buffer.concat([Buffer.from('{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a'), Buffer.from([0xff]), Buffer.from('1","conductor":11}]}')]);
    const client = new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(body) });
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toThrow(/not UTF-8 \(an invalid byte sequence at byte 62\)/);
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toBeInstanceOf(LmfdbParseError);
    // Text that is UTF-8 is taken as it is, a character outside ASCII included.
    const fine = Buffer.from('{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","note":"Δ ≠ 0 😀"}]}');
    const page = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(fine) }).fetchPage('ec_curvedata', {});
    expect(page.rows[0]?.['note']).toBe('Δ ≠ 0 😀');
    // An error page is read whatever its encoding (a proxy's Latin-1 503 is still retried, then named).
    const latin1 = (async () => new Response(Buffer.from('<html><body>Service indisponible \xe0 cette heure</body></html>', 'latin1'), { status: 503, headers: { 'content-type': 'text/html' } })) as typeof fetch;
    await expect(new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: latin1, sleep: async () => undefined }).fetchPage('ec_curvedata', {})).rejects.toThrow(/answered 503 .*Service indisponible .* cette heure \(still failing after 2 retries/);
  });

  it('makes a row with one key twice (different values) invalid, not the page it came in', async () => {
    const body = '{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","conductor":11,"conductor":12},{"lmfdb_label":"11.a2","conductor":11,"rank":0,"rank":0}]}';
    const page = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(Buffer.from(body)) }).fetchPage('ec_curvedata', {});
    expect(page.rows.map((r) => r['lmfdb_label'])).toEqual(['11.a1', '11.a2']);
    const cache = sourceCacheFromFile(buildCacheFile(0, page.rows, { baseUrl: 'b', fetchedAt: 'f' }));
    expect(cache.get('11.a1')?.check).toMatchObject({ valid: false, reasons: ['the row cannot be read: the key "conductor" appears twice, with different values'] });
    // The same value twice is the same row.
    expect(cache.get('11.a2')?.row['rank']).toBe(0n);
  });

  it('makes a row nested deeper than the parser\'s stack invalid, not the page it came in (the page failed with "Maximum call stack size exceeded")', async () => {
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const body = `{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","extra":${deep}},{"lmfdb_label":"11.a3","extra":${deepObject},"s":"[[[{{{"},${stringifyLossless(real[1])}]}`;
    const page = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(Buffer.from(body)) }).fetchPage('ec_curvedata', {});
    expect(page.rows.map((r) => r['lmfdb_label'])).toEqual(['11.a1', '11.a3', '11.a2']);
    expect(page.rows[1]?.['s']).toBe('[[[{{{');
    const cache = sourceCacheFromFile(buildCacheFile(0, page.rows, { baseUrl: 'b', fetchedAt: 'f' }));
    for (const label of ['11.a1', '11.a3']) expect(cache.get(label)?.check.reasons.join()).toMatch(/nested more than 64 deep/);
    expect(cache.get('11.a2')?.check.valid).toBe(true);
    // Brackets that do not close are still a page that is not JSON.
    const broken = `{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","extra":${'['.repeat(100_000)}}]}`;
    const refusal = new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(Buffer.from(broken)) }).fetchPage('ec_curvedata', {});
    await expect(refusal).rejects.toBeInstanceOf(LmfdbParseError);
    // Said as what it is, not as the parser's stack running out.
    await expect(new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(Buffer.from(broken)) }).fetchPage('ec_curvedata', {})).rejects.toThrow(/brackets nested thousands deep that do not close/);
  });

  it('makes a row with an integer of more digits than any LMFDB column holds invalid, rather than spend seconds on it at every load', async () => {
    // A 16-million-digit integer took 3 s to fetch and 13 s at every load of the cache (its parse and hash).
    const body = `{"table":"ec_curvedata","start":0,"data":[{"lmfdb_label":"11.a1","extra":${'7'.repeat(INTEGER_DIGITS_MAX + 1)}},{"lmfdb_label":"11.a3","extra":-${'7'.repeat(INTEGER_DIGITS_MAX)}},${stringifyLossless(real[1])}]}`;
    const page = await new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: answering(Buffer.from(body)) }).fetchPage('ec_curvedata', {});
    expect(page.rows.map((r) => r['lmfdb_label'])).toEqual(['11.a1', '11.a3', '11.a2']);
    expect(page.rows[1]?.['extra']).toBe(-BigInt('7'.repeat(INTEGER_DIGITS_MAX)));
    const cache = sourceCacheFromFile(buildCacheFile(0, page.rows, { baseUrl: 'b', fetchedAt: 'f' }));
    expect(cache.get('11.a1')?.check.reasons.join()).toMatch(new RegExp(`an integer of ${INTEGER_DIGITS_MAX + 1} digits, above the ${INTEGER_DIGITS_MAX} a value may have`));
    expect(cache.get('11.a2')?.check.valid).toBe(true);
  });

  it('does not loop on `next` when the last page is empty (200 rows)', async () => {
    const s = await start(curves(120));
    const got = await collect(new LmfdbClient({ ...fast, baseUrl: s.baseUrl }));
    expect(got.rows).toHaveLength(200);
    expect(s.requests).toHaveLength(3);
  });

  it('splits a pull that would pass the offset limit by a conductor range', async () => {
    const rows = curves(420); // 500 rows, server offset limit 200: at most 300 rows per query
    const s = await start(rows, undefined, 200);
    const client = new LmfdbClient({ ...fast, baseUrl: s.baseUrl, maxOffset: 200 });
    const got = await collect(client, { rank: typed.i(0) });
    const want = rows.filter((r) => r['rank'] === 0n).map((r) => String(r['lmfdb_label']));
    expect(want.length).toBeGreaterThan(300);
    expect(got.rows.map((r) => String(r['lmfdb_label'])).sort()).toEqual(want.sort());
    expect(new Set(got.rows.map((r) => r['lmfdb_label'])).size).toBe(got.rows.length);
    expect(s.requests.some((u) => decodeURIComponent(u).includes("conductor=py{'$gte':"))).toBe(true);
    expect(s.requests.every((u) => !/_offset=(\d+)/.test(u) || Number(/_offset=(\d+)/.exec(u)?.[1]) <= 200)).toBe(true);
  });

  it('pulls past the offset limit a table whose rows share a degree or a dimension: the number fields, L-functions and Artin representations split by a column that spreads them', async () => {
    // LMFDB holds far more than 10,100 quadratic fields, L-functions of degree 2 and Artin
    // representations of dimension 2: split by degree or Dim, such a pull failed with "10100 rows
    // or more have degree = 2". Here 350 rows of one degree, the server's offset limit 200.
    const tables: Record<number, (k: bigint) => RawRow> = {
      2: (k) => ({ label: `2-${k}-1.1-c1-0-0`, degree: 2n, conductor: k }),
      3: (k) => ({ label: `2.0.${k}.1`, degree: 2n, disc_abs: k }),
      4: (k) => ({ Baselabel: `2.${k}.3t2.b`, Dim: 2n, Conductor: k }),
    };
    for (const [source, row] of Object.entries(tables)) {
      const spec = SOURCES[Number(source)].tables[0];
      const rows = Array.from({ length: 350 }, (_, i) => row(BigInt(1000 + 7 * i)));
      server = await startFakeLmfdbServer({ tables: { [spec.table]: rows }, maxOffset: 200 });
      const client = new LmfdbClient({ ...fast, baseUrl: server.baseUrl, maxOffset: 200 });
      const got: RawRow[] = [];
      for await (const step of client.scan(spec)) got.push(...step.rows);
      expect([spec.table, got.map((r) => r[spec.key]).sort()]).toEqual([spec.table, rows.map((r) => r[spec.key]).sort()]);
      await server.close();
      server = undefined;
    }
  });

  it('fails a pull whose server ignores _offset after three equal pages, not one request per row up to the offset limit', async () => {
    const page = stringifyLossless({ table: 'ec_curvedata', data: real.slice(0, 1), start: 0, next: '/api/ec_curvedata/?_offset=0' });
    const s = await start(real, () => ({ kind: 'json', status: 200, body: page }));
    const err = await collect(new LmfdbClient({ ...fast, baseUrl: s.baseUrl })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LmfdbQueryError);
    expect(String(err)).toMatch(/the API served the same 1 row at offsets 0 to 2: it does not page by _offset/);
    expect(s.requests.length).toBe(3);
  });

  it('fails a pull whose server does not sort by the split column, rather than skip rows when it splits', async () => {
    const rows = curves(420).reverse();
    server = await startFakeLmfdbServer({ tables: { ec_curvedata: rows }, maxOffset: 200, ignoreSort: true });
    const client = new LmfdbClient({ ...fast, baseUrl: server.baseUrl, maxOffset: 200 });
    await expect(collect(client)).rejects.toThrow(/did not sort by conductor/);
  });

  it('turns HTML 404 and 500 pages into LmfdbHttpError with the server message', async () => {
    let s = await start(real);
    const client = new LmfdbClient({ ...fast, baseUrl: s.baseUrl });
    const e404 = await client.fetchPage('ec_curvedata', { filters: { nosuch: typed.i(1) } }).catch((e) => e);
    expect(e404).toBeInstanceOf(LmfdbHttpError);
    expect(e404.status).toBe(404);
    expect(e404.serverMessage).toContain('No key nosuch in table ec_curvedata');
    await s.close();
    s = await start(real, () => ({ kind: 'html', status: 500, message: 'The query took too long' }));
    const e500 = await new LmfdbClient({ ...fast, baseUrl: s.baseUrl }).fetchPage('ec_curvedata', {}).catch((e) => e);
    expect(e500).toBeInstanceOf(LmfdbHttpError);
    expect(e500.status).toBe(500);
    expect(e500.serverMessage).toContain('The query took too long');
    expect(e500.serverMessage).toMatch(/permanent: 3 answers of 500 in a row/);
    await s.close();
  });

  it('retries a 500 (the live site answers a busy moment with it) and takes the page that follows', async () => {
    const s = await start(real, (_url, n) => (n <= 2 ? { kind: 'html', status: 500, message: 'Internal Server Error' } : undefined));
    const page = await new LmfdbClient({ ...fast, maxRetries: 5, baseUrl: s.baseUrl }).fetchPage('ec_curvedata', {});
    expect(page.rows.length).toBeGreaterThan(0);
    expect(s.requests.length).toBe(3);
    await s.close();
  });

  it('waits out the bot wall (HTML with status 200) and then takes the JSON', async () => {
    const s = await start(real, (_u, n) => (n <= 2 ? { kind: 'botwall' } : undefined));
    const t0 = Date.now();
    const page = await new LmfdbClient({ ...fast, baseUrl: s.baseUrl }).fetchPage('ec_curvedata', {});
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(page.rows).toHaveLength(80);
    expect(s.requests).toHaveLength(3);
  });

  it('ends a bot-wall cool-down and a request in flight at once when its signal is aborted (an interrupted ingest held the cache\'s lock through them)', async () => {
    const wall = await start(real, () => ({ kind: 'botwall' }));
    const abort = new AbortController();
    const cooling = new LmfdbClient({ ...fast, botWallCooldownMs: 600_000, baseUrl: wall.baseUrl, signal: abort.signal }).fetchPage('ec_curvedata', {});
    for (let i = 0; i < 200 && wall.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await expect(cooling).rejects.toBeInstanceOf(LmfdbInterruptedError);
    await wall.close();
    // An answer that would take 3 s, under a 10-minute timeout: the abort ends the wait for it.
    const slow = await start(real, () => ({ kind: 'delay', ms: 3000 }));
    const stop = new AbortController();
    const waiting = new LmfdbClient({ ...fast, timeoutMs: 600_000, baseUrl: slow.baseUrl, signal: stop.signal }).fetchPage('ec_curvedata', {});
    for (let i = 0; i < 200 && slow.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(LmfdbInterruptedError);
    await slow.close();
  });

  it('refuses a body that is not the JSON envelope', async () => {
    const s = await start(real, (_u, n) => (n === 1 ? { kind: 'json', status: 200, body: '[1,2]' } : { kind: 'json', status: 200, body: '{"data": 5}' }));
    const client = new LmfdbClient({ ...fast, baseUrl: s.baseUrl });
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toBeInstanceOf(LmfdbParseError);
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toThrow(/no "data" array/);
  });

  it('gives up on a bot wall that stays, with a typed error', async () => {
    const s = await start(real, () => ({ kind: 'botwall' }));
    const client = new LmfdbClient({ ...fast, baseUrl: s.baseUrl, maxBotWallRetries: 2 });
    await expect(client.fetchPage('ec_curvedata', {})).rejects.toBeInstanceOf(LmfdbBotWallError);
  });

  it('times out a slow answer, retries, and fails with LmfdbTimeoutError when it stays slow', async () => {
    let s = await start(real, (_u, n) => (n === 1 ? { kind: 'delay', ms: 300 } : undefined));
    const page = await new LmfdbClient({ ...fast, timeoutMs: 100, baseUrl: s.baseUrl }).fetchPage('ec_curvedata', {});
    expect(page.rows).toHaveLength(80);
    await s.close();
    s = await start(real, () => ({ kind: 'delay', ms: 300 }));
    await expect(new LmfdbClient({ ...fast, timeoutMs: 50, maxRetries: 1, baseUrl: s.baseUrl }).fetchPage('ec_curvedata', {})).rejects.toBeInstanceOf(
      LmfdbTimeoutError,
    );
  });

  it('waits at least what Retry-After asks (seconds or a date, capped), and types a network failure', async () => {
    const slept: number[] = [];
    let calls = 0;
    const busyThenOk = async () => {
      calls++;
      if (calls === 1) return new Response('<html><body>busy</body></html>', { status: 429, headers: { 'retry-after': '300', 'content-type': 'text/html' } });
      return new Response(JSON.stringify({ table: 'ec_curvedata', start: 0, data: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const client = new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: busyThenOk as typeof fetch, sleep: async (ms: number) => void slept.push(ms) });
    expect((await client.fetchPage('ec_curvedata', {})).rows).toEqual([]);
    expect(slept.filter((ms) => ms >= 300_000)).toHaveLength(1);
    expect(retryAfterMs('120', 0)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:01:00 GMT', 0)).toBe(60_000);
    expect(retryAfterMs('99999999', 0)).toBe(RETRY_AFTER_MAX_MS);
    // More digits than a number of seconds needs is the longest wait, not no wait at all (it was ignored).
    expect(retryAfterMs('99999999999999', 0)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('0000000000000000000042', 0)).toBe(42_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
    const down = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    };
    const offline = new LmfdbClient({ ...fast, baseUrl: 'http://lmfdb.invalid', fetch: down as typeof fetch, sleep: async () => undefined });
    await expect(offline.fetchPage('ec_curvedata', {})).rejects.toBeInstanceOf(LmfdbNetworkError);
    await expect(offline.fetchPage('ec_curvedata', {})).rejects.toThrow(/could not be reached .* \(3 attempts with back-off\): fetch failed \(Error: connect ECONNREFUSED/);
  });

  it('reads an error page\'s message in bounded time, whatever its markup', () => {
    const hostile = `<html><body>${'<nav>'.repeat(200_000)}</body></html>`;
    expect(typeof extractHtmlMessage(hostile)).toBe('string');
  });

  it('keeps one request at a time, spaced by minIntervalMs', async () => {
    const s = await start(real);
    const client = new LmfdbClient({ ...fast, minIntervalMs: 30, baseUrl: s.baseUrl });
    const t0 = Date.now();
    await Promise.all([0, 1, 2].map(() => client.fetchPage('ec_curvedata', {})));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(60);
  });
});

describe('query building', () => {
  it('prefixes every value and never emits ls or cf', () => {
    expect(buildApiPath('ec_curvedata', { filters: { lmfdb_label: typed.s('11.a2') }, fields: ['ainvs'], sort: ['conductor'], offset: 200 })).toBe(
      '/api/ec_curvedata/?lmfdb_label=s11.a2&_fields=ainvs&_sort=conductor&_format=json&_offset=200',
    );
    expect(typed.range(11, 50)).toBe("py{'$gte':11,'$lte':50}");
    expect(typed.li([0, 1, 1n])).toBe('li0,1,1');
    expect(() => buildApiPath('t', { filters: { a: 'ls1,2' } })).toThrow(/type prefix/);
    expect(() => buildApiPath('t', { filters: { a: 'cf1' } })).toThrow(/type prefix/);
    expect(() => buildApiPath('t', { filters: { a: '11' } })).toThrow(/type prefix/);
  });
  it('extracts the message of an HTML page', () => {
    expect(extractHtmlMessage('<html><head><title>T</title></head><body><script>x()</script><h1>Error</h1><p>No key &quot;x&quot;</p></body></html>')).toBe(
      'Error No key "x"',
    );
  });
});
