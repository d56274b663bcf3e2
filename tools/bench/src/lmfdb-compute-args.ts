import { parseCommand } from '@paxos/grpc-kit';

export const lmfdbBenchCommand = {
  program: 'bench:lmfdb',
  summary:
    "figures of the LMFDB checks, one JSON line each: a_p computed per second (primes up to 1,000, one core), a number field discriminant check at its bound in ms (both methods), the share of shipped rows each check covers, the ingest's rows per second against a local API with pacing off",
  usage: 'npm run bench:lmfdb [-- --rows=20000]',
  options: {
    rows: { type: 'integer', default: 20_000, min: 1, max: 10_000_000, description: 'curves the local API serves to the ingest' },
  },
} as const;

/** `--help`, or the rows the ingest figure uses; an unknown flag or a bad number is a ConfigError (exit 2). */
export function parseLmfdbBenchArgs(argv: readonly string[]): { help: true } | { help: false; rows: number } {
  const parsed = parseCommand(lmfdbBenchCommand, argv);
  return parsed.help ? { help: true } : { help: false, rows: parsed.options.rows as number };
}
