import { parseArgs } from 'node:util';
import { Quorum } from '@paxos/consensus-core';
import type { SimOptions } from '@paxos/consensus-core/testing';

export const SIMULATE_USAGE = `Usage: npm run simulate -- [options]

Runs the deterministic Paxos simulator over a range of seeds and checks safety and liveness.

  --seeds N            how many seeds to run (default 1 with --seed, else 100)
  --seed S             first seed (default 1); seeds S..S+N-1 are run
  --acceptors N        acceptors (default 23)
  --quorum Q           quorum size (default floor(N/2)+1); 2Q <= N is unsafe and only for controls
  --proposers P        dueling proposers (default 3)
  --commands C         client commands per run (default 24)
  --promise-entries E  entries per promise before truncation (default 1024)
  --partial-slots K    slots in flight a partial batch may join (default 1; 8 = the window)
  --accept-fanout K    thrifty proposers: accepts go to K acceptors first (quorum..n; default all)
  --unsafe-replies     negative control: acceptors reply before their vote is durable
  --split-brain        negative control helper: one acceptor group per proposer
  --unsafe-no-sessions negative control: the state machine keeps no client sessions
  --data-loss P        per tick, an acceptor loses its disk and rejoins by the procedure (default 0.002)
  --late P             a message arrives late, past the proposers' round timers (default 0.01)
  --unsafe-rejoin      negative control: an acceptor that lost its data rejoins as a new one
  --bench              print seeds/s as well
  --verbose            print every seed's stats
  -h, --help           this text

The first line names the seeds run (simulation: seeds A..B); the last line is always:
seeds=N violations=V seconds=T (exit code 1 when V > 0).`;

export interface SimulateArgs {
  readonly kind: 'run';
  readonly fromSeed: number;
  readonly seeds: number;
  readonly base: Omit<SimOptions, 'seed'>;
  readonly warnings: readonly string[];
  readonly bench: boolean;
  readonly verbose: boolean;
}

export type ParsedSimulateArgs = SimulateArgs | { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string };

/** The largest integer a flag takes: past it a number loses its last digits. */
const INTEGER_MAX = Number.MAX_SAFE_INTEGER;

/** An integer flag in min..max; out of range, the message names the range (too large as well as too small). */
function integer(raw: string | undefined, name: string, min: number, max = INTEGER_MAX): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new Error(`--${name} must be an integer (got ${JSON.stringify(raw)})`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max} (got ${raw})`);
  return n;
}

function probability(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--${name} must be a probability between 0 and 1 (got ${JSON.stringify(raw)})`);
  return n;
}

export function parseSimulateArgs(argv: readonly string[]): ParsedSimulateArgs {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seeds: { type: 'string' },
        seed: { type: 'string' },
        acceptors: { type: 'string' },
        quorum: { type: 'string' },
        proposers: { type: 'string' },
        commands: { type: 'string' },
        'promise-entries': { type: 'string' },
        'partial-slots': { type: 'string' },
        'accept-fanout': { type: 'string' },
        'unsafe-replies': { type: 'boolean' },
        'split-brain': { type: 'boolean' },
        'unsafe-no-sessions': { type: 'boolean' },
        'data-loss': { type: 'string' },
        late: { type: 'string' },
        'unsafe-rejoin': { type: 'boolean' },
        bench: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { kind: 'help' };
    const acceptors = integer(values.acceptors, 'acceptors', 1) ?? 23;
    const quorum = integer(values.quorum, 'quorum', 1);
    const warnings: string[] = [];
    let unsafeQuorum = false;
    if (quorum !== undefined) {
      if (quorum > acceptors) throw new Error(`--quorum ${quorum} is larger than --acceptors ${acceptors}`);
      if (2 * quorum <= acceptors) {
        unsafeQuorum = true;
        warnings.push(`warning: quorum ${quorum} of ${acceptors} is UNSAFE (2q <= n: two quorums need not intersect); expect violations`);
      }
    }
    const acceptFanout = integer(values['accept-fanout'], 'accept-fanout', 1);
    const q = quorum ?? new Quorum(acceptors).q;
    if (acceptFanout !== undefined && (acceptFanout < q || acceptFanout > acceptors)) {
      throw new Error(`--accept-fanout ${acceptFanout} must be between the quorum ${q} and --acceptors ${acceptors}`);
    }
    const seed = integer(values.seed, 'seed', 0);
    const seeds = integer(values.seeds, 'seeds', 1) ?? (seed !== undefined ? 1 : 100);
    // Seeds S..S+N-1 are run: the last one must be an integer too.
    if ((seed ?? 1) > INTEGER_MAX - seeds + 1) throw new Error(`--seed ${seed ?? 1} with --seeds ${seeds} runs seeds past ${INTEGER_MAX}: give at most --seeds ${INTEGER_MAX - (seed ?? 1) + 1}`);
    const base: Omit<SimOptions, 'seed'> = {
      acceptors,
      quorum,
      unsafeQuorum,
      proposers: integer(values.proposers, 'proposers', 1),
      commands: integer(values.commands, 'commands', 0),
      entriesPerPromiseMax: integer(values['promise-entries'], 'promise-entries', 1),
      partialSlotsMax: integer(values['partial-slots'], 'partial-slots', 1),
      acceptFanout,
      unsafeReplies: values['unsafe-replies'] ?? false,
      splitBrain: values['split-brain'] ?? false,
      unsafeNoSessions: values['unsafe-no-sessions'] ?? false,
      dataLossProbability: probability(values['data-loss'], 'data-loss'),
      lateProbability: probability(values.late, 'late'),
      unsafeRejoin: values['unsafe-rejoin'] ?? false,
    };
    return { kind: 'run', fromSeed: seed ?? 1, seeds, base, warnings, bench: values.bench ?? false, verbose: values.verbose ?? false };
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
}

/** The summary line that ends every run (scripts parse it). */
export function summaryLine(seeds: number, violations: number, seconds: number): string {
  return `seeds=${seeds} violations=${violations} seconds=${seconds.toFixed(1)}`;
}
