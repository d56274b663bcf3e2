// `npm run chaos -- --seconds S --seed N [--acceptors 5]`: a chaos run of real processes.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, exitWithError, helpText, parseCommand } from '@paxos/grpc-kit';
import { runChaos } from './chaos-run';

export const chaosCommand = {
  program: 'chaos',
  summary: 'launch a network of real processes, run retrying clients under a seeded nemesis (kill -9, SIGSTOP, restarts of acceptors and proposers), heal, and check the history',
  usage: 'npm run chaos -- --seconds S --seed N [--acceptors 5] [--proposers 1] [--clients 12] [--dir D]',
  options: {
    seconds: { type: 'integer', default: 30, description: 'how long the nemesis runs' },
    seed: { type: 'integer', description: 'the seed of every random choice', defaultText: 'default a random one (printed)' },
    acceptors: { type: 'integer', default: 5, description: 'acceptors in the network' },
    proposers: { type: 'integer', default: 1, description: 'proposers (clients retry through the next one)' },
    clients: { type: 'integer', default: 12, description: 'retrying clients (unary, stream and bulk in turn)' },
    dir: { type: 'string', description: 'where the history and node logs are kept', defaultText: 'default a new folder under the temp dir' },
    'unsafe-no-sessions': { type: 'boolean', description: 'negative control: proposers without client sessions (the run must report violations)' },
  },
} as const;

async function main(): Promise<number> {
  const parsed = parseCommand(chaosCommand, process.argv.slice(2));
  if (parsed.help) {
    console.log(helpText(chaosCommand));
    return 0;
  }
  const o = parsed.options;
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const acceptors = o.acceptors as number;
  if (acceptors < 3 || acceptors > 23) throw new ConfigError(`--acceptors must be 3..23, got ${acceptors}`);
  const seconds = o.seconds as number;
  if (seconds < 1 || seconds > 24 * 3600) throw new ConfigError(`--seconds must be 1..86400, got ${seconds}`);
  const proposers = o.proposers as number;
  if (proposers < 1 || proposers > 4) throw new ConfigError(`--proposers must be 1..4, got ${proposers}`);
  const clients = o.clients as number;
  if (clients < 1 || clients > 256) throw new ConfigError(`--clients must be 1..256, got ${clients}`);
  const dir = o.dir ?? join(tmpdir(), `paxos-chaos-${seed}-${Date.now()}`);
  console.log(`chaos: seed ${seed}, ${seconds} s, ${acceptors} acceptors, ${proposers} proposer(s), ${clients} clients; history and logs in ${dir}`);
  console.log(`replay: npm run chaos -- --seconds ${seconds} --seed ${seed} --acceptors ${acceptors} --proposers ${proposers} --clients ${clients}`);
  const { report, violations } = await runChaos({
    seconds,
    seed,
    acceptors,
    proposers,
    clients,
    dir,
    unsafeNoSessions: o['unsafe-no-sessions'] === true,
    log: (l) => console.log(`  ${l}`),
  });
  for (const v of violations) console.log(`VIOLATION ${v.kind}: ${v.detail}`);
  console.log(JSON.stringify(report));
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => exitWithError('chaos', e, e instanceof ConfigError ? 2 : 1),
);
