import { ConfigError } from '@paxos/grpc-kit';

export const benchCommand = {
  program: 'bench',
  summary: 'load generator: Propose from C concurrent clients against N acceptors with fsync on, next to a bare grpc-js echo at the same C',
  usage: 'npm run bench -- [--acceptors N] [--concurrency 1,16,64,256] [--duration S] [--dir D] [--stream | --stream-only] [--bulk | --bulk-only] | --acceptor',
  options: {
    acceptors: { type: 'integer', default: 23, min: 1, max: 100, description: 'acceptors of the network the bench starts (ignored with --dir)' },
    concurrency: { type: 'string', default: '1,16,64,256', description: 'concurrent clients, one run each' },
    duration: { type: 'integer', default: 10, min: 1, max: 86_400, description: 'seconds per run' },
    'value-bytes': { type: 'integer', default: 200, min: 1, max: 1_048_576, description: 'size of each proposed value' },
    dir: { type: 'string', description: 'use the network launch started in this dir instead of starting one' },
    stream: { type: 'boolean', description: 'also measure ProposeStream (one proposal per message, many on one stream; ProposeBulk is --bulk)' },
    'stream-only': { type: 'boolean', description: 'measure only the streaming paths (ProposeStream, and ProposeBulk with --bulk)' },
    'streams-per-channel': { type: 'integer', default: 4, min: 1, max: 256, description: 'ProposeStream (and ProposeBulk) streams on each of the 4 channels' },
    bulk: { type: 'boolean', description: 'also measure ProposeBulk (many proposals per message)' },
    'bulk-only': { type: 'boolean', description: 'measure only the ProposeBulk path' },
    'bulk-size': { type: 'integer', default: 64, min: 1, max: 1024, description: 'most proposals in one ProposeBulk message' },
    acceptor: {
      type: 'boolean',
      description: 'instead: accepts/s on one stream of one acceptor (fsync on) next to the bare write+fdatasync rate, and accepts paced like a lone client\'s rounds at the acceptor and at a bare grpc-js write+fdatasync server',
    },
    'agreed-state': {
      type: 'boolean',
      description: 'instead: the durable log and state machine figures (apply rate; --history-slots fed to an acceptor, kill -9, restart; catch-up of --catch-up-slots; reads at C=1 and 64)',
    },
    'history-slots': { type: 'integer', default: 1_000_000, min: 1, max: 100_000_000, description: 'chosen slots an acceptor holds before its restart is timed (--agreed-state)' },
    'catch-up-slots': { type: 'integer', default: 50_000, min: 1, max: 10_000_000, description: 'chosen slots a lagging acceptor catches up on (--agreed-state)' },
    'echo-server': { type: 'boolean', description: '(internal) run the echo baseline server' },
    'fsync-echo-server': { type: 'boolean', description: '(internal) run the write+fdatasync floor under one acceptor (--acceptor)' },
    port: { type: 'integer', min: 0, max: 65_535, description: '(internal) port of the echo server' },
    insecure: { type: 'boolean', description: 'run the network the bench starts with plaintext gRPC instead of mutual TLS (to measure what TLS costs)' },
    'compare-etcd': {
      type: 'boolean',
      description: "instead: etcd (Debian's, installed when missing) with 3 and 23 members against this network's unary, stream and bulk paths, in turns, --repeats times; medians, spread and the performance issue's ratios",
    },
    repeats: { type: 'integer', default: 2, min: 1, max: 20, description: 'rounds of the --compare-etcd turns' },
  },
} as const;

/** Most concurrent clients one run may have. */
export const CONCURRENCY_MAX = 10_000;

/** `--concurrency 1,16,64,256`: the levels to run, each a whole number of clients, each once. */
export function parseConcurrencyLevels(text: string): number[] {
  const parts = text.split(',').map((c) => c.trim());
  const levels: number[] = [];
  for (const part of parts) {
    const n = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(n >= 1 && n <= CONCURRENCY_MAX)) {
      throw new ConfigError(`--concurrency must list whole numbers of clients, 1..${CONCURRENCY_MAX}, separated by commas (like 1,16,64,256); got "${part}" in "${text}"`);
    }
    if (levels.includes(n)) throw new ConfigError(`--concurrency lists ${n} twice ("${text}"): give each level once`);
    levels.push(n);
  }
  return levels;
}
