import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CLUSTER_SIZE, Quorum } from '@paxos/consensus-core';
import { type CommandSpec, ConfigError, type OptionSpec, parseAddressList, parseCommand, SERVER_BOUND_OPTIONS, type ServerBounds, serverBounds, TRANSPORT_OPTIONS, type TransportFlags } from '@paxos/grpc-kit';

export const proposerCommand = {
  program: 'proposer',
  summary: 'a Paxos proposer: fans out to the acceptors and serves paxos.v1.ProposerService to clients',
  usage: 'npm run proposer -- [--id N] [--acceptors host:port,...] [--port 7200] [--tls-dir D | --insecure]',
  options: {
    id: { type: 'integer', env: 'PROPOSER_ID', default: 1, description: 'proposer id, 1 or more (part of every ballot; unique per proposer)' },
    acceptors: {
      type: 'string',
      env: 'PROPOSER_ACCEPTORS',
      description: 'acceptor addresses in node-id order',
      defaultText: 'default the 23 local nodes 127.0.0.1:7100..7122',
    },
    host: { type: 'string', env: 'PROPOSER_HOST', default: '127.0.0.1', description: 'address to listen on' },
    port: { type: 'integer', env: 'PROPOSER_PORT', default: 7200, description: 'client API port' },
    'lmfdb-cache': { type: 'string', env: 'LMFDB_CACHE_DIR', description: 'LMFDB cache used to check claims', defaultText: 'default ~/.lmfdb' },
    'max-value-bytes': { type: 'integer', env: 'PROPOSER_MAX_VALUE_BYTES', default: 1024 * 1024, description: 'largest client value accepted' },
    'propose-timeout-ms': { type: 'integer', env: 'PROPOSER_TIMEOUT_MS', default: 10_000, description: 'deadline of Propose when the client sets none' },
    'request-deadline-ms': { type: 'integer', env: 'PROPOSER_REQUEST_DEADLINE_MS', default: 2_000, description: 'deadline of each request to an acceptor' },
    'in-flight-per-acceptor': { type: 'integer', env: 'PROPOSER_IN_FLIGHT', default: 4096, description: 'bound on requests awaiting one acceptor' },
    'window-slots': { type: 'integer', env: 'PROPOSER_WINDOW', default: 2, description: 'bound on slots in flight (few slots, bigger batches: each slot costs a write at every acceptor)' },
    'partial-slots': {
      type: 'integer',
      env: 'PROPOSER_PARTIAL_SLOTS',
      default: 1,
      description: 'slots in flight a batch that is not full may join; past it, values gather into full batches while a slot is accepted',
    },
    'accept-fanout': {
      type: 'integer',
      env: 'PROPOSER_ACCEPT_FANOUT',
      description: 'acceptors each accept goes to first (quorum..n); the others get the value later in batches, and are asked when one fails or refuses',
      defaultText: 'default quorum + 2 (14 of 23)',
    },
    'fanout-expand-ms': {
      type: 'integer',
      env: 'PROPOSER_FANOUT_EXPAND_MS',
      default: 200,
      description: 'how long an accept sent to fewer than all acceptors waits for its quorum before it goes to every acceptor',
    },
    'batch-commands': { type: 'integer', env: 'PROPOSER_BATCH', default: 256, description: 'most client values chosen together in one slot' },
    'tick-ms': { type: 'integer', env: 'PROPOSER_TICK_MS', default: 10, description: 'length of one core tick' },
    ...TRANSPORT_OPTIONS,
    ...SERVER_BOUND_OPTIONS,
    'max-watchers': { type: 'integer', env: 'PROPOSER_MAX_WATCHERS', default: 128, description: 'WatchChosen streams served at once; one more is RESOURCE_EXHAUSTED' },
    'max-watchers-per-client': { type: 'integer', env: 'PROPOSER_MAX_WATCHERS_PER_CLIENT', default: 16, description: 'WatchChosen streams one client (certificate, or host without TLS) may hold; one more is RESOURCE_EXHAUSTED' },
    'max-in-flight-per-stream': {
      type: 'integer',
      env: 'PROPOSER_MAX_IN_FLIGHT_PER_STREAM',
      default: 4096,
      description: 'proposals awaiting their answer on one ProposeStream or ProposeBulk stream; past it the proposer reads no more from that stream',
    },
    'stream-idle-ms': {
      type: 'integer',
      env: 'PROPOSER_STREAM_IDLE_MS',
      default: 600_000,
      description: 'a ProposeStream or ProposeBulk stream with nothing in flight and no proposal this long is closed with UNAVAILABLE',
    },
    'watcher-buffer-bytes': { type: 'integer', env: 'PROPOSER_WATCHER_BUFFER_BYTES', default: 4 * 1024 * 1024, description: 'bytes of chosen slots that may wait for one WatchChosen client that does not read' },
    'watcher-stall-ms': {
      type: 'integer',
      env: 'PROPOSER_WATCHER_STALL_MS',
      default: 30_000,
      description: 'a WatchChosen client that takes nothing this long while slots wait for it is cut off (RESOURCE_EXHAUSTED, with where to resume)',
    },
    'metrics-port': { type: 'integer', env: 'PROPOSER_METRICS_PORT', description: 'Prometheus metrics at http://<host>:<port>/metrics (0: any free port)', defaultText: 'default 9200 + id' },
    'retain-chosen-slots': {
      type: 'integer',
      env: 'PROPOSER_RETAIN_CHOSEN',
      default: 1_000_000,
      description: 'chosen values kept in memory for WatchChosen and catch-up; older ones are read from the acceptors\' histories',
    },
    'retain-chosen-bytes': {
      type: 'integer',
      env: 'PROPOSER_RETAIN_CHOSEN_BYTES',
      default: 64 * 1024 * 1024,
      description: 'and at most about this much memory of them (value bytes plus 256 per client value)',
    },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

/** Acceptors asked beyond the quorum by default: one slow or failed acceptor does not stall a round. */
const ACCEPT_SPARES_DEFAULT = 2;

export interface ProposerConfig {
  readonly id: number;
  readonly acceptors: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly lmfdbCacheDir: string;
  readonly maxValueBytes: number;
  readonly proposeTimeoutMs: number;
  readonly requestDeadlineMs: number;
  readonly inFlightPerAcceptor: number;
  readonly windowSlots: number;
  readonly batchCommands: number;
  readonly partialSlots: number;
  /** Acceptors an accept goes to first (quorum..n). */
  readonly acceptFanout: number;
  readonly fanoutExpandMs: number;
  readonly tickMs: number;
  readonly retainChosenSlots: number;
  readonly retainChosenBytes: number;
  /** TLS files or --insecure, resolved (and checked) at start. */
  readonly transport: TransportFlags;
  readonly metricsPort: number;
  readonly bounds: ServerBounds;
  readonly maxWatchers: number;
  readonly watcherBufferBytes: number;
  readonly maxWatchersPerClient: number;
  readonly maxInFlightPerStream: number;
  readonly streamIdleMs: number;
  readonly watcherStallMs: number;
}

export function defaultAcceptors(n = DEFAULT_CLUSTER_SIZE, basePort = 7100, host = '127.0.0.1'): string[] {
  return Array.from({ length: n }, (_, i) => `${host}:${basePort + i}`);
}

export function resolveProposerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ProposerConfig | 'help' {
  const parsed = parseCommand(proposerCommand, argv, env);
  if (parsed.help) return 'help';
  const o = parsed.options;
  const positive = (name: keyof typeof o, min: number, max: number): number => {
    const v = o[name] as number;
    if (v < min || v > max) throw new ConfigError(`--${String(name)} must be ${min}..${max}, got ${v}`);
    return v;
  };
  const acceptors = o.acceptors ? parseAddressList(o.acceptors, '--acceptors') : defaultAcceptors();
  const quorumSize = new Quorum(acceptors.length).q;
  const acceptFanout = (o['accept-fanout'] as number | undefined) ?? Math.min(acceptors.length, quorumSize + ACCEPT_SPARES_DEFAULT);
  if (acceptFanout < quorumSize || acceptFanout > acceptors.length) {
    throw new ConfigError(`--accept-fanout must be ${quorumSize}..${acceptors.length} (the quorum to the number of acceptors), got ${acceptFanout}`);
  }
  const id = positive('id', 1, 2 ** 31);
  const metricsPort = (o['metrics-port'] as number | undefined) ?? 9200 + id;
  if (metricsPort < 0 || metricsPort > 65535) throw new ConfigError(`--metrics-port ${metricsPort} is outside 0..65535`);
  return {
    id,
    metricsPort,
    bounds: serverBounds(o),
    maxWatchers: positive('max-watchers', 1, 100_000),
    watcherBufferBytes: positive('watcher-buffer-bytes', 64 * 1024, 1024 * 1024 * 1024),
    maxWatchersPerClient: positive('max-watchers-per-client', 1, 100_000),
    maxInFlightPerStream: positive('max-in-flight-per-stream', 1, 1_000_000),
    streamIdleMs: positive('stream-idle-ms', 100, 86_400_000),
    watcherStallMs: positive('watcher-stall-ms', 100, 3_600_000),
    acceptors,
    host: o.host as string,
    port: positive('port', 0, 65535),
    lmfdbCacheDir: o['lmfdb-cache'] ?? join(homedir(), '.lmfdb'),
    maxValueBytes: positive('max-value-bytes', 1024, 64 * 1024 * 1024),
    proposeTimeoutMs: positive('propose-timeout-ms', 10, 3_600_000),
    requestDeadlineMs: positive('request-deadline-ms', 10, 600_000),
    inFlightPerAcceptor: positive('in-flight-per-acceptor', 1, 1_000_000),
    windowSlots: positive('window-slots', 1, 100_000),
    batchCommands: positive('batch-commands', 1, 100_000),
    partialSlots: positive('partial-slots', 1, 100_000),
    acceptFanout,
    fanoutExpandMs: positive('fanout-expand-ms', 1, 600_000),
    tickMs: positive('tick-ms', 1, 10_000),
    retainChosenSlots: positive('retain-chosen-slots', 1, 100_000_000),
    retainChosenBytes: positive('retain-chosen-bytes', 64 * 1024, 64 * 1024 * 1024 * 1024),
    transport: { 'tls-dir': o['tls-dir'], 'tls-ca': o['tls-ca'], 'tls-cert': o['tls-cert'], 'tls-key': o['tls-key'], insecure: o.insecure },
  };
}
