// The LMFDB API client: one request at a time, paced, with timeouts, capped exponential back-off,
// HTML error pages turned into typed errors and the bot wall waited out.
import { isUtf8 } from 'node:buffer';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { LmfdbBotWallError, LmfdbHttpError, LmfdbInterruptedError, LmfdbNetworkError, LmfdbParseError, LmfdbQueryError, LmfdbTimeoutError, LmfdbWrongTableError } from './errors';
import { clampDepth, deepValuesAsUnreadable, jsonItemsAbove, nonFiniteAsRealLiterals, parseLossless, ROW_DEPTH_MAX } from './json';
import { buildApiPath, typed, type ApiQuery, type TypedValue } from './query';
import { scanSort, type TableSpec } from './sources';
import type { RawRow } from './values';

export const LMFDB_BASE_URL = 'https://www.lmfdb.org';
export const MAX_OFFSET = 10000;

export interface ClientLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LmfdbClientOptions {
  baseUrl?: string;
  /** Minimum time between the starts of two requests (default 2000 ms). */
  minIntervalMs?: number;
  /** Timeout of every request, body included (default 60000 ms). */
  timeoutMs?: number;
  /** Retries for timeouts, network errors, 429/502/503/504 (default 5). */
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Wait after the bot wall's HTML challenge (default 120000 ms). */
  botWallCooldownMs?: number;
  /** How many bot-wall cool-downs one request may wait out (default 5). */
  maxBotWallRetries?: number;
  /** Highest `_offset` the server accepts (10000 on lmfdb.org). */
  maxOffset?: number;
  userAgent?: string;
  /** Bytes one answer may take (default answerBytesMax()); a larger one is an LmfdbParseError, not retried. */
  maxAnswerBytes?: number;
  /** Values and keys one page may hold (default PAGE_ITEMS_MAX, jsonItemsAbove counts them); more is an LmfdbParseError, not retried. */
  maxPageItems?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Ends every request and wait at once when aborted (LmfdbInterruptedError): an interrupted
   * ingest no longer sits out a bot-wall cool-down or a back-off holding the cache's lock.
   */
  signal?: AbortSignal;
  now?: () => number;
  logger?: ClientLogger;
}

export interface ApiPage {
  table: string;
  rows: RawRow[];
  start: number;
  url: string;
  next?: string;
}

/** Where a scan of one table stands; enough to resume it. */
export interface ScanCursor {
  /** Lower bound (inclusive) on the split column, as integer text; undefined = no bound. */
  lo?: string;
  offset: number;
  /** Keys already taken whose split value equals `lo` (skipped when served again). */
  seenAtLo: string[];
  /** The last split value seen and the keys seen with it (carried so a resume splits right). */
  tail?: { value: string; keys: string[] };
}

export interface ScanStep {
  rows: RawRow[];
  /** Cursor to resume after this step; undefined when the scan is complete. */
  cursor?: ScanCursor;
  pages: number;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);
/** Redirects, followed within the base URL's origin (fetch itself would follow them to any host). */
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const REDIRECTS_MAX = 5;
/**
 * The live site answers a busy moment with 500 as well as 502/503: a 500 is retried this many
 * times with the same back-off (at most maxRetries) before it is taken as permanent.
 */
const SERVER_ERROR_RETRIES = 3;
/** A wait that an abort ends at once, its timer cleared (a pending timer would keep an interrupted ingest alive for the rest of it). */
const realSleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepFor(ms, undefined, signal === undefined ? {} : { signal });

/** Characters of an error page searched for its message. */
const HTML_SCAN_MAX = 8 * 1024;
/** Longest Retry-After honoured; a longer one is waited this long, then the request is retried. */
export const RETRY_AFTER_MAX_MS = 10 * 60 * 1000;

/** A Retry-After header (delay-seconds or an HTTP date) in ms from `nowMs`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) {
    // Any number of digits (a huge one is the longest wait, not none); leading zeros do not count.
    const digits = text.replace(/^0+(?=\d)/, '');
    return digits.length > 10 ? RETRY_AFTER_MAX_MS : Math.min(RETRY_AFTER_MAX_MS, Number(digits) * 1000);
  }
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, at - nowMs));
}

/** The message of an HTML error page: its text without tags, scripts and styles, shortened. */
export function extractHtmlMessage(page: string): string {
  // The message is near the top; the expressions below are not linear on hostile markup.
  const html = page.length > HTML_SCAN_MAX ? page.slice(0, HTML_SCAN_MAX) : page;
  // A tag is matched as <…> without '<' inside, so each attempt stops at the next '<'.
  const body = /<body[^<>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  const text = body
    .replace(/<(script|style|head|nav|header|footer)[^<>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^<>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim();
  const msg = text || title || '(empty page)';
  return msg.length > 300 ? `${msg.slice(0, 297)}...` : msg;
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

export class LmfdbClient {
  readonly baseUrl: string;
  private readonly o: Required<Omit<LmfdbClientOptions, 'logger' | 'baseUrl' | 'signal'>> & { logger?: ClientLogger; signal?: AbortSignal };
  private chain: Promise<unknown> = Promise.resolve();
  private lastStart = -Infinity;
  /** Requests sent (attempts included). */
  requests = 0;
  /** Requests the server answered with a status (any status, any body). */
  answers = 0;

  constructor(opts: LmfdbClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? LMFDB_BASE_URL).replace(/\/+$/, '');
    this.o = {
      minIntervalMs: opts.minIntervalMs ?? 2000,
      timeoutMs: opts.timeoutMs ?? 60_000,
      maxRetries: opts.maxRetries ?? 5,
      backoffBaseMs: opts.backoffBaseMs ?? 2000,
      backoffMaxMs: opts.backoffMaxMs ?? 120_000,
      botWallCooldownMs: opts.botWallCooldownMs ?? 120_000,
      maxBotWallRetries: opts.maxBotWallRetries ?? 5,
      maxOffset: opts.maxOffset ?? MAX_OFFSET,
      userAgent: opts.userAgent ?? 'paxos-lmfdb-ingest/0.1 (polite bulk client; 1 request at a time)',
      maxAnswerBytes: opts.maxAnswerBytes ?? answerBytesMax(),
      maxPageItems: opts.maxPageItems ?? PAGE_ITEMS_MAX,
      fetch: opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a)),
      sleep: opts.sleep ?? realSleep,
      now: opts.now ?? (() => performance.now()),
      logger: opts.logger,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
  }

  /** Waits `ms`, or throws LmfdbInterruptedError as soon as the client's signal is aborted. */
  private async wait(ms: number, url: string): Promise<void> {
    const signal = this.o.signal;
    if (signal === undefined) return this.o.sleep(ms);
    if (signal.aborted) throw new LmfdbInterruptedError(url);
    try {
      await this.o.sleep(ms, signal);
    } catch (e) {
      if (signal.aborted) throw new LmfdbInterruptedError(url);
      throw e;
    }
    if (signal.aborted) throw new LmfdbInterruptedError(url);
  }

  /** Fetches one page of `/api/<table>/`; requests are serialized across the whole client. */
  fetchPage(table: string, q: ApiQuery): Promise<ApiPage> {
    const run = this.chain.then(() => this.fetchPageNow(table, q));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async pace(): Promise<void> {
    const wait = this.lastStart + this.o.minIntervalMs - this.o.now();
    if (wait > 0) await this.wait(wait, this.baseUrl);
    this.lastStart = this.o.now();
  }

  /**
   * Where a redirect from `url` leads: the same origin as the base URL only (rows from another
   * host would be cached as the base URL's), to the API path of the same table (rows of
   * /api/nf_fields/ would be cached as those of the table asked for), and at most REDIRECTS_MAX
   * in a row.
   */
  private redirectTarget(url: string, location: string, status: number, redirects: number, table: string): string {
    let target: URL;
    try {
      target = new URL(location, url);
    } catch {
      throw new LmfdbHttpError(status, `a redirect to ${JSON.stringify(location.slice(0, 200))}, which is not a URL`, url);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new LmfdbHttpError(status, `a redirect to ${JSON.stringify(target.href.slice(0, 200)).slice(1, -1)}, not an http(s) URL: not followed`, url);
    }
    const origin = new URL(this.baseUrl).origin;
    if (target.origin !== origin) {
      throw new LmfdbHttpError(status, `a redirect to ${target.origin}, another origin than the base URL's ${origin}: not followed (its rows would be cached as ${origin}'s); give --base-url ${target.origin} if that is the LMFDB you mean`, url);
    }
    const targetTable = /\/api\/([^/]*)\/?$/.exec(target.pathname)?.[1];
    if (targetTable !== table) {
      throw new LmfdbHttpError(status, `a redirect to ${JSON.stringify(target.pathname.slice(0, 200)).slice(1, -1)}, not the API path of ${table} (/api/${table}/): not followed (its rows would be cached as ${table}'s)`, url);
    }
    if (redirects > REDIRECTS_MAX) throw new LmfdbHttpError(status, `more than ${REDIRECTS_MAX} redirects in a row`, url);
    return target.href;
  }

  private backoff(attempt: number): number {
    return Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** attempt);
  }

  private async fetchPageNow(table: string, q: ApiQuery): Promise<ApiPage> {
    const path = buildApiPath(table, q);
    let url = `${this.baseUrl}${path}`;
    let redirects = 0;
    let retries = 0;
    let serverErrors = 0;
    let walls = 0;
    for (;;) {
      if (this.o.signal?.aborted) throw new LmfdbInterruptedError(url);
      await this.pace();
      this.requests++;
      let status: number;
      let contentType: string;
      let body: string;
      let bytes: Buffer;
      let retryAfter: string | null = null;
      let location: string | null = null;
      try {
        const res = await this.o.fetch(url, {
          signal: this.o.signal === undefined ? AbortSignal.timeout(this.o.timeoutMs) : AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.o.signal]),
          headers: { accept: 'application/json', 'user-agent': this.o.userAgent },
          // Redirects are followed below, within the base URL's origin only.
          redirect: 'manual',
        });
        status = res.status;
        this.answers++;
        contentType = res.headers.get('content-type') ?? '';
        retryAfter = res.headers.get('retry-after');
        location = res.headers.get('location');
        bytes = await boundedBytes(res, this.o.maxAnswerBytes);
        body = withoutBom(bytes.toString('utf8'));
      } catch (e) {
        if (e instanceof AnswerTooLargeError) throw new LmfdbParseError(url, e.message);
        if (this.o.signal?.aborted) throw new LmfdbInterruptedError(url);
        if (retries < this.o.maxRetries) {
          const ms = this.backoff(retries++);
          this.o.logger?.warn({ url, err: String(e), retryInMs: ms }, isTimeout(e) ? 'LMFDB request timed out' : 'LMFDB request failed');
          await this.wait(ms, url);
          continue;
        }
        if (isTimeout(e)) throw new LmfdbTimeoutError(url, this.o.timeoutMs);
        throw new LmfdbNetworkError(url, retries + 1, e instanceof Error ? `${e.message}${(e as { cause?: unknown }).cause ? ` (${String((e as { cause?: unknown }).cause)})` : ''}` : String(e));
      }
      if (REDIRECT_STATUS.has(status)) {
        if (location === null) throw new LmfdbHttpError(status, 'a redirect without a Location header: not followed', url);
        url = this.redirectTarget(url, location, status, ++redirects, table);
        continue;
      }
      const isJson = /json/i.test(contentType) && body.trimStart().startsWith('{');
      if (status !== 200) {
        const serverMessage = isJson ? body.slice(0, 300) : extractHtmlMessage(body);
        const retryable = RETRY_STATUS.has(status) || (status === 500 && serverErrors < SERVER_ERROR_RETRIES);
        if (status === 500) serverErrors++;
        if (retryable && retries < this.o.maxRetries) {
          // The server's Retry-After, when it gives one, is the least we wait.
          // eslint-disable-next-line no-restricted-properties -- Retry-After may name a moment (an HTTP date)
          const ms = Math.max(this.backoff(retries++), retryAfterMs(retryAfter, Date.now()) ?? 0);
          this.o.logger?.warn(
            { url, status, serverMessage, retryInMs: ms },
            status === 500 ? `LMFDB server error (${serverErrors} in a row; may be a busy moment), retrying` : 'LMFDB busy, backing off',
          );
          await this.wait(ms, url);
          continue;
        }
        const why =
          status === 500 && serverErrors > 1
            ? `${serverMessage} (permanent: ${serverErrors} answers of 500 in a row, retried with back-off)`
            : retryable
              ? `${serverMessage} (still failing after ${retries} retries with back-off)`
              : serverMessage;
        throw new LmfdbHttpError(status, why, url);
      }
      if (!isJson && !/^\s*</.test(body)) {
        throw new LmfdbParseError(url, `content-type ${JSON.stringify(contentType)}, body starts ${JSON.stringify(body.slice(0, 40))}`);
      }
      if (!isJson) {
        // Status 200 with HTML: the bot wall. Wait out its cool-down, then ask again.
        if (walls >= this.o.maxBotWallRetries) throw new LmfdbBotWallError(url, walls);
        walls++;
        this.o.logger?.warn({ url, coolDownMs: this.o.botWallCooldownMs, attempt: walls }, 'LMFDB bot wall, cooling down');
        await this.wait(this.o.botWallCooldownMs, url);
        continue;
      }
      const notUtf8 = utf8Problem(bytes);
      if (notUtf8 !== undefined) throw new LmfdbParseError(url, notUtf8);
      // Counted before the parse, whose memory grows with the values, not the bytes (see PAGE_ITEMS_MAX).
      if (jsonItemsAbove(body, this.o.maxPageItems)) {
        throw new LmfdbParseError(url, `more than ${this.o.maxPageItems} values and keys in one page (a page of 100 rows holds far fewer): not parsed`);
      }
      let env: unknown;
      try {
        env = parseLossless(deepValuesAsUnreadable(nonFiniteAsRealLiterals(body), PAGE_DEPTH_MAX), { markUnreadable: true });
      } catch (e) {
        // Brackets that open thousands deep and never close are left for the parser to refuse
        // (deepValuesAsUnreadable), which it does by running out of stack: said as what it is.
        if (e instanceof RangeError) throw new LmfdbParseError(url, `not JSON: brackets nested thousands deep that do not close (${e.message})`);
        throw new LmfdbParseError(url, String(e));
      }
      const data = (env as { data?: unknown })?.data;
      if (!Array.isArray(data) || !data.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) {
        throw new LmfdbParseError(url, 'no "data" array of rows');
      }
      const e = env as { table?: unknown; start?: unknown; next?: unknown };
      // The envelope names the table it holds: another one's rows are not this table's, whatever
      // path served them. (An envelope without the key is taken as the asked table's.)
      if (e.table !== undefined && e.table !== table) throw new LmfdbWrongTableError(url, table, typeof e.table === 'string' ? e.table : `(not text: ${typeof e.table})`);
      return {
        table,
        rows: (data as RawRow[]).map((r) => clampDepth(r)),
        start: typeof e.start === 'bigint' ? Number(e.start) : (q.offset ?? 0),
        url,
        next: typeof e.next === 'string' ? e.next : undefined,
      };
    }
  }

  /**
   * Scans a whole table (or the rows matching `filters`), sorted by (split column, key), one page
   * per step. Stops on an empty page only (never follows `next`): a server may send fewer rows
   * than it has left in a page, so a short page is not the end. When the next offset would pass the
   * server's limit, restarts from offset 0 with `splitColumn >= last value`, skipping keys it
   * already has: any number of rows can be pulled. Resumable from any yielded cursor.
   */
  async *scan(spec: TableSpec, opts: { filters?: Record<string, TypedValue>; fields?: readonly string[]; from?: ScanCursor } = {}): AsyncGenerator<ScanStep> {
    const sc = spec.splitColumn;
    const fields = opts.fields?.length ? [...new Set([...opts.fields, spec.key, ...(sc ? [sc] : [])])] : undefined;
    let cursor: ScanCursor = opts.from ? { ...opts.from, seenAtLo: [...opts.from.seenAtLo] } : { offset: 0, seenAtLo: [] };
    // Keys of the rows seen so far whose split value equals the last split value seen.
    let tailValue: bigint | undefined = cursor.tail ? BigInt(cursor.tail.value) : undefined;
    let tailKeys = new Set(cursor.tail?.keys ?? []);
    /** A row without an integer split value was seen (a range filter would leave it out). */
    let unsplittable = false;
    /** The keys of the last page of this query, and how many pages in a row after it held exactly those. */
    let lastKeys: string | undefined;
    let repeats = 0;
    for (;;) {
      const filters: Record<string, TypedValue> = { ...opts.filters };
      if (sc && cursor.lo !== undefined) filters[sc] = typed.range(BigInt(cursor.lo));
      const page = await this.fetchPage(spec.table, { filters, fields, sort: scanSort(spec), offset: cursor.offset });
      // A server that ignores _offset serves one page at every offset: followed, that is one
      // request per row up to the offset limit (hours at the polite pace), every copy kept. A row
      // inserted while we page may repeat one page of few rows, never several in a row.
      const keys = page.rows.map((r) => String(r[spec.key])).join('\u0000');
      repeats = page.rows.length > 0 && keys === lastKeys ? repeats + 1 : 0;
      if (repeats >= SAME_PAGE_REPEATS_MAX) {
        throw new LmfdbQueryError(
          `${spec.table}: the API served the same ${page.rows.length} row${page.rows.length === 1 ? '' : 's'} at offsets ${cursor.offset - repeats * page.rows.length} to ${cursor.offset}: it does not page by _offset (check --base-url)`,
        );
      }
      lastKeys = keys;
      const skip = new Set(cursor.seenAtLo);
      const rows = page.rows.filter((r) => !skip.has(String(r[spec.key])));
      if (sc) {
        for (const r of page.rows) {
          const v = r[sc];
          if (typeof v !== 'bigint') {
            unsplittable = true;
            continue;
          }
          // The split by range below takes the rows sorted by the split column: rows out of that
          // order (a server that ignored _sort) would be skipped there without a word.
          if (tailValue !== undefined && v < tailValue) {
            throw new LmfdbQueryError(`${spec.table}: the API did not sort by ${sc} (${v} came after ${tailValue}); a scan split by range would skip rows`);
          }
          if (tailValue === undefined || v !== tailValue) {
            tailValue = v;
            tailKeys = new Set();
          }
          tailKeys.add(String(r[spec.key]));
        }
      }
      if (page.rows.length === 0) {
        yield { rows, cursor: undefined, pages: 1 };
        return;
      }
      const tail = tailValue === undefined ? undefined : { value: String(tailValue), keys: [...tailKeys] };
      let next: ScanCursor = { ...cursor, offset: cursor.offset + page.rows.length, tail };
      if (next.offset > this.o.maxOffset) {
        if (!sc || tailValue === undefined) {
          throw new LmfdbQueryError(`${spec.table}: ${next.offset} rows or more, past the server's offset limit ${this.o.maxOffset}, and no split column`);
        }
        if (unsplittable) {
          throw new LmfdbQueryError(`${spec.table}: ${next.offset} rows or more, past the server's offset limit ${this.o.maxOffset}, and some have no integer ${sc}: a scan split by range would skip them`);
        }
        if (cursor.lo !== undefined && BigInt(cursor.lo) === tailValue) {
          throw new LmfdbQueryError(`${spec.table}: ${next.offset} rows or more have ${sc} = ${tailValue}, past the server's offset limit ${this.o.maxOffset}`);
        }
        next = { lo: String(tailValue), offset: 0, seenAtLo: [...tailKeys], tail };
        lastKeys = undefined; // another query: its first page may hold the rows this one ended with
        this.o.logger?.info({ table: spec.table, [sc]: next.lo }, 'offset limit reached, splitting by range');
      }
      cursor = next;
      yield { rows, cursor, pages: 1 };
    }
  }
}

/**
 * Deepest nesting of a page's text parsed as it is: the envelope, its data list and a row take
 * three levels, and clampDepth replaces what lies ROW_DEPTH_MAX below a row; deeper values are
 * made unreadable before the parse, whose recursion would overflow the stack on them.
 */
const PAGE_DEPTH_MAX = ROW_DEPTH_MAX + 8;

/** Pages in a row that may repeat the rows of the page before them (beyond it the server ignores _offset). */
const SAME_PAGE_REPEATS_MAX = 2;

/**
 * Most bytes one API answer may take: a page of rows is a few hundred KiB. The request's timeout
 * bounds time only; a server (or proxy) streaming without end within it would fill memory.
 */
export const ANSWER_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Bytes one answer may take in a process whose heap may grow to `heapLimit` bytes: ANSWER_BYTES_MAX,
 * or a 64th of the heap when that is less. The parser builds a string a character at a time, about
 * 36 bytes of heap a character until it is used: one string of 64 MiB took 2.3 GB, which a heap of
 * 2 GB does not have. At least 1 MiB.
 */
export function answerBytesMax(heapLimit: number = getHeapStatistics().heap_size_limit): number {
  return Math.max(1024 * 1024, Math.min(ANSWER_BYTES_MAX, Math.floor(heapLimit / 64)));
}

/**
 * Values and keys one page may hold (jsonItemsAbove). The parse costs about 110 to 160 bytes of
 * heap per item and blocks the event loop (an interrupt waits for it): a page of 62 MiB of "0,"
 * (31 million integers, within ANSWER_BYTES_MAX) took 88 s and 3.5 GB, and killed an ingest whose
 * heap was 2 GB. A real page of 100 rows holds a few thousand items; this allows 20,000 a row.
 */
export const PAGE_ITEMS_MAX = 2_000_000;

class AnswerTooLargeError extends Error {}

/** The body, read until maxBytes at most (then the read is cancelled and AnswerTooLargeError thrown). */
async function boundedBytes(res: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new AnswerTooLargeError(`the answer declares ${declared} bytes, above the ${maxBytes} one page may take`);
  if (!res.body) {
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw new AnswerTooLargeError(`the answer is above the ${maxBytes} bytes one page may take`);
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  // Bounded: every turn takes one chunk, and the total is capped.
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new AnswerTooLargeError(`the answer went past the ${maxBytes} bytes one page may take`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * Why a page's bytes are not UTF-8, or undefined when they are. Decoded anyway, they would become
 * U+FFFD, and a label or a value unlike the server's would be cached as its. (An error page is
 * read whatever its encoding: only its message is quoted.)
 */
function utf8Problem(bytes: Buffer): string | undefined {
  if (isUtf8(bytes)) return undefined;
  // The first byte where the text written back differs is where the first invalid sequence starts.
  const back = Buffer.from(bytes.toString('utf8'), 'utf8');
  let at = 0;
  while (at < bytes.length && bytes[at] === back[at]) at++;
  return `the answer is not UTF-8 (an invalid byte sequence at byte ${at}): not read, rather than read with its bytes replaced`;
}

/** The text without a UTF-8 byte order mark at its start (a server may send one; JSON has no place for it). */
const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
