import { ConfigError, parseAddressList, parseCommand, TRANSPORT_OPTIONS, type TransportFlags } from '@paxos/grpc-kit';
import { DEFAULT_CLUSTER_SIZE } from '@paxos/consensus-core';

/** The certificate the status page presents to the network's nodes. */
export const STATUS_CERT_NAME = 'client-status';

export const statusPageCommand = {
  program: 'status-page',
  summary: 'a live status page of the network over HTTP: the acceptors, the leader, throughput and latency, the chosen log, the leaderboard and the claims',
  usage: 'npm run status-page -- [--port 9300] [--acceptors host:port,...] [--proposer host:port] [--proposer-metrics host:port] [--tls-dir D | --insecure]',
  options: {
    host: { type: 'string', env: 'STATUS_PAGE_HOST', default: '127.0.0.1', description: 'address the page is served on' },
    port: { type: 'integer', env: 'STATUS_PAGE_PORT', default: 9300, description: 'HTTP port of the page (0: any free port)' },
    acceptors: { type: 'string', env: 'STATUS_PAGE_ACCEPTORS', description: 'acceptor addresses in node-id order', defaultText: 'default the 23 local nodes 127.0.0.1:7100..7122' },
    proposer: { type: 'string', env: 'STATUS_PAGE_PROPOSER', default: '127.0.0.1:7200', description: "the proposer's client API" },
    'proposer-metrics': { type: 'string', env: 'STATUS_PAGE_PROPOSER_METRICS', default: '127.0.0.1:9201', description: "the proposer's Prometheus endpoint (host:port): throughput, latency, leader" },
    'poll-ms': { type: 'integer', env: 'STATUS_PAGE_POLL_MS', default: 1000, description: 'how often the network is read and the page updated (200..10000)' },
    'node-deadline-ms': { type: 'integer', env: 'STATUS_PAGE_NODE_DEADLINE_MS', default: 800, description: 'deadline of each call to a node; a node that does not answer within it is shown paused' },
    'history-seconds': { type: 'integer', default: 300, description: 'how much throughput and latency history the chart shows (10..3600)' },
    'max-viewers': { type: 'integer', default: 32, description: 'pages open at once (served off loopback, at most 8 of them from one host); one more is answered 503' },
    ...TRANSPORT_OPTIONS,
  },
} as const;

export interface StatusPageConfig {
  readonly host: string;
  readonly port: number;
  readonly acceptors: readonly string[];
  readonly proposer: string;
  readonly proposerMetrics: string;
  readonly pollMs: number;
  readonly nodeDeadlineMs: number;
  readonly historySeconds: number;
  readonly maxViewers: number;
  readonly transport: TransportFlags;
}

export function resolveStatusPageConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StatusPageConfig | 'help' {
  const parsed = parseCommand(statusPageCommand, argv, env);
  if (parsed.help) return 'help';
  const o = parsed.options;
  const inRange = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`--${name} must be ${lo}..${hi}, got ${v}`);
    return v;
  };
  const acceptors = o.acceptors ? parseAddressList(o.acceptors, '--acceptors') : Array.from({ length: DEFAULT_CLUSTER_SIZE }, (_, i) => `127.0.0.1:${7100 + i}`);
  const one = (name: string, v: string): string => {
    const list = parseAddressList(v, `--${name}`);
    if (list.length !== 1) throw new ConfigError(`--${name} takes one host:port, got "${v}"`);
    return list[0] as string;
  };
  return {
    host: o.host as string,
    port: inRange('port', o.port as number, 0, 65535),
    acceptors,
    proposer: one('proposer', o.proposer as string),
    proposerMetrics: one('proposer-metrics', o['proposer-metrics'] as string),
    pollMs: inRange('poll-ms', o['poll-ms'] as number, 200, 10_000),
    nodeDeadlineMs: inRange('node-deadline-ms', o['node-deadline-ms'] as number, 50, 10_000),
    historySeconds: inRange('history-seconds', o['history-seconds'] as number, 10, 3600),
    maxViewers: inRange('max-viewers', o['max-viewers'] as number, 1, 1024),
    transport: o,
  };
}
