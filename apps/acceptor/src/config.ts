import { homedir } from 'node:os';
import { join } from 'node:path';
import { type CommandSpec, ConfigError, type OptionSpec, parseCommand, parseIdSet, SERVER_BOUND_OPTIONS, type ServerBounds, serverBounds, TRANSPORT_OPTIONS, type TransportFlags } from '@paxos/grpc-kit';
import { DEFAULT_CLUSTER_SIZE, type RejoinFloor } from '@paxos/consensus-core';
import { parseFloorBallot } from './storage';

export const acceptorCommand = {
  program: 'acceptor',
  summary: 'one Paxos acceptor: a durable gRPC node (paxos.v1.AcceptorService, health, reflection)',
  usage: 'npm run acceptor -- --id N [--port P] [--data-dir D] [--lmfdb-cache D] [--max-value-bytes B] [--tls-dir D | --insecure]',
  options: {
    id: { type: 'integer', env: 'ACCEPTOR_ID', description: 'node id, 0..cluster-size-1 (required)' },
    port: { type: 'integer', env: 'ACCEPTOR_PORT', description: 'gRPC port', defaultText: 'default base-port + id' },
    'base-port': { type: 'integer', env: 'ACCEPTOR_BASE_PORT', default: 7100, description: 'port of node 0' },
    host: { type: 'string', env: 'ACCEPTOR_HOST', default: '127.0.0.1', description: 'address to listen on' },
    'data-dir': { type: 'string', env: 'ACCEPTOR_DATA_DIR', description: 'durable state', defaultText: 'default ~/.paxos-lmfdb/acceptor-<id>' },
    'lmfdb-cache': { type: 'string', env: 'LMFDB_CACHE_DIR', description: 'LMFDB cache to load the source from', defaultText: 'default ~/.lmfdb' },
    source: { type: 'integer', env: 'ACCEPTOR_SOURCE', description: 'LMFDB source held (0..9)', defaultText: 'default id mod 10' },
    'max-value-bytes': { type: 'integer', env: 'ACCEPTOR_MAX_VALUE_BYTES', default: 1024 * 1024, description: 'largest slot value accepted' },
    'cluster-size': { type: 'integer', env: 'PAXOS_CLUSTER_SIZE', default: DEFAULT_CLUSTER_SIZE, description: 'number of acceptors (quorum is derived)' },
    'proposer-ids': { type: 'string', env: 'PAXOS_PROPOSER_IDS', default: '1-16', description: 'proposer ids allowed in ballots ("1-16" or "1,2,5")' },
    'checkpoint-every': { type: 'integer', env: 'ACCEPTOR_CHECKPOINT_EVERY', default: 10_000, description: 'log records between checkpoints' },
    'history-retain-slots': {
      type: 'integer',
      env: 'ACCEPTOR_HISTORY_RETAIN_SLOTS',
      description: 'keep at least the newest N chosen slots; older ones go once two durable state snapshots cover them and a quorum has committed them (ReadLog below answers OUT_OF_RANGE naming the snapshot)',
      defaultText: 'default: keep every slot',
    },
    'state-snapshot-every': { type: 'integer', env: 'ACCEPTOR_STATE_SNAPSHOT_EVERY', default: 100_000, description: 'applied slots between durable snapshots of the agreed state' },
    ...TRANSPORT_OPTIONS,
    ...SERVER_BOUND_OPTIONS,
    'metrics-port': { type: 'integer', env: 'ACCEPTOR_METRICS_PORT', description: 'Prometheus metrics at http://<host>:<port>/metrics (0: any free port)', defaultText: 'default 9100 + id' },
    'rejoin-promised': {
      type: 'string',
      description: 'an acceptor that lost its data: the promise it starts at ("round.proposerId"; npm run rejoin gives it); only with an empty data dir',
    },
    'rejoin-catch-up-to': {
      type: 'string',
      description: 'an acceptor that lost its data: it promises and votes only once it has learned every chosen slot below this one (npm run rejoin gives it)',
    },
    'history-segment-bytes': { type: 'integer', env: 'ACCEPTOR_HISTORY_SEGMENT_BYTES', default: 64 * 1024 * 1024, description: 'size at which a chosen history segment is sealed (retention drops whole segments)' },
  },
} as const satisfies CommandSpec<Record<string, OptionSpec>>;

export interface AcceptorConfig {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly lmfdbCacheDir: string;
  readonly source: number;
  readonly maxValueBytes: number;
  readonly clusterSize: number;
  readonly proposerIds: ReadonlySet<number>;
  readonly checkpointEveryRecords: number;
  /** Undefined: the chosen history keeps every slot. */
  readonly historyRetainSlots: bigint | undefined;
  readonly stateSnapshotEverySlots: number;
  readonly historySegmentBytes: number;
  /** TLS files or --insecure, resolved (and checked) at start. */
  readonly transport: TransportFlags;
  readonly metricsPort: number;
  readonly bounds: ServerBounds;
  /** The floor of an acceptor that lost its data (npm run rejoin); undefined for every other start. */
  readonly rejoin: RejoinFloor | undefined;
}

/** --rejoin-promised and --rejoin-catch-up-to: both or neither. */
function rejoinFloor(promisedText: string | undefined, catchUpText: string | undefined): RejoinFloor | undefined {
  if (promisedText === undefined && catchUpText === undefined) return undefined;
  if (promisedText === undefined || catchUpText === undefined) throw new ConfigError('--rejoin-promised and --rejoin-catch-up-to go together (npm run rejoin prints both)');
  const promised = parseFloorBallot(promisedText);
  if (promised === undefined) throw new ConfigError(`--rejoin-promised must be a ballot "round.proposerId" such as 1733480000000.1, got ${JSON.stringify(promisedText)}`);
  if (!/^\d{1,19}$/.test(catchUpText)) throw new ConfigError(`--rejoin-catch-up-to must be a slot number, got ${JSON.stringify(catchUpText)}`);
  return { promised, catchUpTo: BigInt(catchUpText) };
}

export function resolveAcceptorConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AcceptorConfig | 'help' {
  const parsed = parseCommand(acceptorCommand, argv, env);
  if (parsed.help) return 'help';
  const o = parsed.options;
  const clusterSize = o['cluster-size'] as number;
  if (clusterSize < 1 || clusterSize > 1000) throw new ConfigError(`--cluster-size must be 1..1000, got ${clusterSize}`);
  if (o.id === undefined) throw new ConfigError('--id is required (0..' + (clusterSize - 1) + '), e.g. npm run acceptor -- --id 0');
  const id = o.id;
  if (id < 0 || id >= clusterSize) throw new ConfigError(`--id ${id} is outside 0..${clusterSize - 1}: pick a node id in that range`);
  const port = o.port ?? (o['base-port'] as number) + id;
  if (port < 1 || port > 65535) throw new ConfigError(`port ${port} is outside 1..65535: set --port or --base-port`);
  const source = o.source ?? id % 10;
  if (source < 0 || source > 9) throw new ConfigError(`--source ${source} is outside 0..9`);
  const maxValueBytes = o['max-value-bytes'] as number;
  if (maxValueBytes < 1024 || maxValueBytes > 64 * 1024 * 1024) throw new ConfigError(`--max-value-bytes must be 1024..67108864, got ${maxValueBytes}`);
  const checkpointEveryRecords = o['checkpoint-every'] as number;
  if (checkpointEveryRecords < 10) throw new ConfigError(`--checkpoint-every must be at least 10`);
  const metricsPort = o['metrics-port'] ?? 9100 + id;
  if (metricsPort < 0 || metricsPort > 65535) throw new ConfigError(`--metrics-port ${metricsPort} is outside 0..65535`);
  const retain = o['history-retain-slots'];
  if (retain !== undefined && retain < 0) throw new ConfigError(`--history-retain-slots must be 0 or more, got ${retain}`);
  const stateSnapshotEverySlots = o['state-snapshot-every'] as number;
  if (stateSnapshotEverySlots < 10) throw new ConfigError(`--state-snapshot-every must be at least 10, got ${stateSnapshotEverySlots}`);
  const historySegmentBytes = o['history-segment-bytes'] as number;
  if (historySegmentBytes < 4096 || historySegmentBytes > 1024 * 1024 * 1024) throw new ConfigError(`--history-segment-bytes must be 4096..1073741824, got ${historySegmentBytes}`);
  return {
    id,
    host: o.host as string,
    port,
    dataDir: o['data-dir'] ?? join(homedir(), '.paxos-lmfdb', `acceptor-${id}`),
    lmfdbCacheDir: o['lmfdb-cache'] ?? join(homedir(), '.lmfdb'),
    source,
    maxValueBytes,
    clusterSize,
    proposerIds: parseIdSet(o['proposer-ids'] as string, '--proposer-ids'),
    checkpointEveryRecords,
    historyRetainSlots: retain === undefined ? undefined : BigInt(retain),
    stateSnapshotEverySlots,
    historySegmentBytes,
    metricsPort,
    bounds: serverBounds(o),
    transport: { 'tls-dir': o['tls-dir'], 'tls-ca': o['tls-ca'], 'tls-cert': o['tls-cert'], 'tls-key': o['tls-key'], insecure: o.insecure },
    rejoin: rejoinFloor(o['rejoin-promised'], o['rejoin-catch-up-to']),
  };
}
