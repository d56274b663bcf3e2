// Command line and environment of lmfdb-ingest.
import { parseArgs } from 'node:util';
import { defaultCacheDir, LMFDB_BASE_URL, MAX_OFFSET, SOURCE_COUNT } from '@paxos/lmfdb-client';

export interface IngestCliOptions {
  command: 'ingest' | 'serve' | 'help';
  sources: number[];
  baseUrl: string;
  cacheDir: string;
  offline: boolean;
  snapshotDir?: string;
  limit?: number;
  /** The highest _offset the API serves (a mirror or proxy may serve fewer than the LMFDB's 10,000); past it a pull splits by a column's range. */
  maxOffset: number;
  minIntervalMs: number;
  timeoutMs: number;
  botWallCooldownMs: number;
  serve: boolean;
  port: number;
  /** Prometheus metrics of serve at http://<host>:<metricsPort>/metrics (0: any free port). */
  metricsPort: number;
  host: string;
  /** The serve command's transport: the network's TLS folder (certificate client-lmfdb), or --insecure. */
  tlsDir: string | undefined;
  insecure: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const HELP = `Usage: npm run ingest -- [serve] [options]

Pulls the ten LMFDB sources into the cache (<cache-dir>/source_N.json), or installs the shipped
offline snapshot (--offline). An interrupted pull resumes where it stopped. 'serve' (or --serve
after ingesting) answers lmfdb.v1.RecordService over gRPC from the cache.

Options (environment variable in brackets):
  --sources LIST         sources to pull: 0-9, 0,3,5 or 2 (default 0-9)      [LMFDB_SOURCES]
  --base-url URL         API base URL (default ${LMFDB_BASE_URL}) [LMFDB_BASE_URL]
  --cache-dir DIR        cache directory (default ~/.lmfdb)                  [LMFDB_CACHE_DIR]
  --offline              install data/lmfdb-snapshot, no network             [LMFDB_OFFLINE=1]
  --snapshot-dir DIR     where the snapshot is (default: found upwards)      [LMFDB_SNAPSHOT_DIR]
  --limit N              at most N rows per source                           [LMFDB_LIMIT]
  --max-offset N         the highest _offset the API serves (default ${MAX_OFFSET}; a
                         mirror or proxy may serve fewer)                    [LMFDB_MAX_OFFSET]
  --min-interval-ms MS   time between requests (default 2000; keep it polite) [LMFDB_MIN_INTERVAL_MS]
  --timeout-ms MS        timeout of each request (default 60000)             [LMFDB_TIMEOUT_MS]
  --bot-wall-cooldown-ms MS  wait after the bot wall (default 120000)    [LMFDB_BOT_WALL_COOLDOWN_MS]
  --serve                after ingesting, serve RecordService
  --port P               gRPC port for serve (default 50070)                 [LMFDB_PORT]
  --host H               gRPC bind address (default 127.0.0.1)               [LMFDB_HOST]
  --metrics-port P       serve's Prometheus metrics, http://H:P/metrics (default 9400) [LMFDB_METRICS_PORT]
  --tls-dir D            serve with mutual TLS: D/ca.crt, D/client-lmfdb.crt/.key
                         (default <network folder>/tls)                      [PAXOS_TLS_DIR]
  --insecure             serve plaintext gRPC instead                        [PAXOS_INSECURE]
  --help                 this text

Exit: 0 done, 1 a source failed (the others are kept), 2 a bad flag, 3 the cache is being
filled by another ingest (nothing written), 130 interrupted (run again to resume).
`;

/** "0-9", "0,3,5", "2", "0-2,7" -> sorted distinct source numbers. */
export function parseSourceList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--sources: ${JSON.stringify(part)} is not a source number or range (e.g. 0-9, 0,3,5)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b || b >= SOURCE_COUNT) throw new UsageError(`--sources: ${part} is outside 0..${SOURCE_COUNT - 1}`);
    for (let n = a; n <= b; n++) out.add(n);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * The API base URL, refused at once when it is not an http(s) URL: the client would otherwise
 * retry the request it cannot make with back-off, a minute before saying why.
 */
function checkBaseUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--base-url: ${JSON.stringify(text)} is not an http or https URL (e.g. https://www.lmfdb.org or http://127.0.0.1:8080)`);
  }
}

function nonNegativeInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`${name}: ${JSON.stringify(text)} is not a non-negative integer`);
  return Number(text);
}

/** Longest delay a Node timer keeps (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * A duration in ms for a timer, refused above TIMER_MS_MAX (or below `min`): Node fires a longer
 * timer at once, so the pacing or the bot-wall cool-down would not wait at all, and a request's
 * timeout that long failed every request, after a minute of retries, with "The value of "delay"
 * is out of range".
 */
function timerMs(name: string, text: string | undefined, fallback: number, min = 0): number {
  const ms = nonNegativeInt(name, text) ?? fallback;
  if (ms < min || ms > TIMER_MS_MAX) throw new UsageError(`${name}: ${ms} ms is outside ${min}..${TIMER_MS_MAX} (about 24.8 days, the longest a timer waits)`);
  return ms;
}

/** --max-offset: at least one page (100 rows) must be reachable, and no more than the LMFDB serves makes sense. */
function maxOffsetOf(text: string | undefined): number {
  const n = nonNegativeInt('--max-offset', text) ?? MAX_OFFSET;
  if (n < 100 || n > 1_000_000) throw new UsageError(`--max-offset: ${n} is outside 100..1000000`);
  return n;
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): IngestCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        sources: { type: 'string' },
        'base-url': { type: 'string' },
        'cache-dir': { type: 'string' },
        offline: { type: 'boolean' },
        'snapshot-dir': { type: 'string' },
        limit: { type: 'string' },
        'max-offset': { type: 'string' },
        'min-interval-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'bot-wall-cooldown-ms': { type: 'string' },
        serve: { type: 'boolean' },
        port: { type: 'string' },
        'metrics-port': { type: 'string' },
        host: { type: 'string' },
        'tls-dir': { type: 'string' },
        insecure: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'serve')) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals.join(' '))} (the only subcommand is 'serve')`);
  }
  const port = nonNegativeInt('--port', v.port ?? env['LMFDB_PORT']) ?? 50070;
  if (port > 65535) throw new UsageError(`--port: ${port} is not a TCP port`);
  const metricsPort = nonNegativeInt('--metrics-port', v['metrics-port'] ?? env['LMFDB_METRICS_PORT']) ?? 9400;
  if (metricsPort > 65535) throw new UsageError(`--metrics-port: ${metricsPort} is not a TCP port`);
  const offline = v.offline ?? env['LMFDB_OFFLINE'] === '1';
  // Only a pull asks the API (serve and --offline do not).
  if (!v.help && positionals[0] !== 'serve' && !offline) checkBaseUrl(v['base-url'] ?? env['LMFDB_BASE_URL'] ?? LMFDB_BASE_URL);
  return {
    command: v.help ? 'help' : positionals[0] === 'serve' ? 'serve' : 'ingest',
    sources: parseSourceList(v.sources ?? env['LMFDB_SOURCES'] ?? `0-${SOURCE_COUNT - 1}`),
    baseUrl: v['base-url'] ?? env['LMFDB_BASE_URL'] ?? LMFDB_BASE_URL,
    cacheDir: v['cache-dir'] ?? defaultCacheDir(env),
    offline,
    snapshotDir: v['snapshot-dir'] ?? env['LMFDB_SNAPSHOT_DIR'],
    limit: nonNegativeInt('--limit', v.limit ?? env['LMFDB_LIMIT']),
    maxOffset: maxOffsetOf(v['max-offset'] ?? env['LMFDB_MAX_OFFSET']),
    minIntervalMs: timerMs('--min-interval-ms', v['min-interval-ms'] ?? env['LMFDB_MIN_INTERVAL_MS'], 2000),
    // A timeout of 0 aborts every request before it is sent.
    timeoutMs: timerMs('--timeout-ms', v['timeout-ms'] ?? env['LMFDB_TIMEOUT_MS'], 60_000, 1),
    botWallCooldownMs: timerMs('--bot-wall-cooldown-ms', v['bot-wall-cooldown-ms'] ?? env['LMFDB_BOT_WALL_COOLDOWN_MS'], 120_000),
    serve: v.serve ?? false,
    port,
    metricsPort,
    host: v.host ?? env['LMFDB_HOST'] ?? '127.0.0.1',
    tlsDir: v['tls-dir'] ?? env['PAXOS_TLS_DIR'],
    insecure: v.insecure ?? ['1', 'true', 'yes'].includes(String(env['PAXOS_INSECURE']).toLowerCase()),
  };
}
