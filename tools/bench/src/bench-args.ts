import { ConfigError } from '@paxos/grpc-kit';

export const benchCommand = {
  program: 'bench',
  summary: 'load generator: Propose from C concurrent clients against N acceptors with fsync on, next to a bare grpc-js echo at the same C',
  usage: 'npm run bench -- [--acceptors N] [--concurrency 1,16,64,256] [--duration S] [--dir D] [--stream | --stream-only] [--bulk | --bulk-only] | --acceptor | --compare-etcd | --agreed-state (one run per bench)',
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
      description:
        "instead: accepts/s on one stream of one acceptor (fsync on) next to the bare write+fdatasync rate; accepts paced like a lone client's rounds at the acceptor and at a bare grpc-js write+fdatasync server; and paced values of 1 and 64 commands with each slot committed (the acceptor's CPU per slot and per command)",
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
    insecure: { type: 'boolean', description: 'run the network the bench starts with plaintext gRPC instead of mutual TLS (to measure what TLS costs; not with --dir, whose network.json says)' },
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

/** What one bench run measures: the load runs, or one of the runs given `instead` of them. */
export type BenchMode = 'load' | 'acceptor' | 'compare-etcd' | 'agreed-state' | 'echo-server' | 'fsync-echo-server';

const INSTEAD = ['acceptor', 'compare-etcd', 'agreed-state', 'echo-server', 'fsync-echo-server'] as const;

type BenchFlag = keyof typeof benchCommand.options;

/** The runs each flag is read by (a mode's own flag names the mode). */
const READ_BY: { readonly [F in BenchFlag]?: readonly BenchMode[] } = {
  acceptors: ['load', 'compare-etcd'],
  concurrency: ['load', 'compare-etcd'],
  duration: ['load', 'compare-etcd'],
  'value-bytes': ['load', 'compare-etcd', 'acceptor', 'agreed-state'],
  dir: ['load', 'fsync-echo-server'],
  stream: ['load'],
  'stream-only': ['load'],
  'streams-per-channel': ['load'],
  bulk: ['load'],
  'bulk-only': ['load'],
  'bulk-size': ['load'],
  insecure: ['load'],
  'history-slots': ['agreed-state'],
  'catch-up-slots': ['agreed-state'],
  port: ['echo-server', 'fsync-echo-server'],
  repeats: ['compare-etcd'],
};

const flagOf = (mode: BenchMode) => (mode === 'load' ? 'the load runs' : `--${mode}`);
const INTERNAL: readonly BenchMode[] = ['echo-server', 'fsync-echo-server'];

/** The runs a flag is read by, as the message names them (the internal servers only when no other run reads it). */
function readersText(readers: readonly BenchMode[]): string {
  const open = readers.filter((m) => !INTERNAL.includes(m));
  const named = (open.length > 0 ? open : readers).map(flagOf);
  const list = named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named[named.length - 1]}` : (named[0] as string);
  return open.length > 0 ? list : `the internal ${list}`;
}

/**
 * The run the command line asks for. Two runs at once, or a flag the chosen run does not read
 * (`--dir` with `--compare-etcd`, which starts its own networks; `--stream` with `--bulk-only`), is
 * a ConfigError naming both: the bench never settles such a line by picking one for the operator.
 */
export function benchMode(options: { readonly [F in BenchFlag]?: unknown }, given: ReadonlySet<string>): BenchMode {
  const asked = INSTEAD.filter((m) => options[m] === true);
  if (asked.length > 1) throw new ConfigError(`${asked.map((m) => `--${m}`).join(' and ')} are different runs: give one of them per bench (see npm run bench -- --help)`);
  const mode: BenchMode = asked.length === 0 ? 'load' : (asked[0] as BenchMode);
  for (const flag of given) {
    const readers = READ_BY[flag as BenchFlag];
    if (readers && !readers.includes(mode)) {
      throw new ConfigError(`--${flag} is read only by ${readersText(readers)}, not by ${flagOf(mode)}: leave it out (see npm run bench -- --help)`);
    }
  }
  // The launched network's transport is in its network.json: --insecure there ran TLS without a word.
  if (mode === 'load' && given.has('dir') && given.has('insecure')) {
    throw new ConfigError('--insecure sets how the network the bench starts talks; with --dir the bench talks as the launched network does (its network.json): leave --insecure out, or launch that network with --insecure');
  }
  if (mode === 'load' && options['bulk-only'] === true) {
    for (const other of ['stream', 'stream-only'] as const) {
      if (options[other] === true) throw new ConfigError(`--bulk-only measures ProposeBulk alone and --${other} asks for ProposeStream too: give one of them (--stream-only --bulk measures both streaming paths)`);
    }
  }
  return mode;
}
