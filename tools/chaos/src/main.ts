// `npm run chaos -- --seconds S --seed N [--acceptors 5]`: a chaos run of real processes.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, exitWithError, helpText, parseCommand, exitWhenWritten } from '@paxos/grpc-kit';
import { runChaos } from './chaos-run';

export const chaosCommand = {
  program: 'chaos',
  summary: 'launch a network of real processes, run retrying clients under a seeded nemesis (kill -9, SIGSTOP, restarts of acceptors and proposers), heal, and check the history',
  usage: 'npm run chaos -- [--seconds 30] [--seed N] [--acceptors 5] [--proposers 1] [--clients 12] [--dir D] [--state-snapshot-every N] [--history-retain-slots N] [--history-segment-bytes B] [--partitions] [--long-pauses] [--file-event-kills] [--disk-faults MiB] [--clock-jumps] [--twin-proposer]',
  options: {
    seconds: { type: 'integer', default: 30, description: 'how long the nemesis runs' },
    seed: { type: 'integer', description: 'the seed of every random choice', defaultText: 'default a random one (printed)' },
    acceptors: { type: 'integer', default: 5, description: 'acceptors in the network' },
    proposers: { type: 'integer', default: 1, description: 'proposers (clients retry through the next one)' },
    clients: { type: 'integer', default: 12, description: 'retrying clients (unary, stream and bulk in turn)' },
    dir: { type: 'string', description: 'where the history and node logs are kept', defaultText: 'default a new folder under the temp dir' },
    'state-snapshot-every': { type: 'integer', description: "every acceptor's applied slots between durable state snapshots", defaultText: "default the acceptor's, 100,000" },
    'history-retain-slots': { type: 'integer', description: 'every acceptor keeps at least the newest N chosen slots and drops older ones once two snapshots cover them', defaultText: "default the acceptor's: keep every slot" },
    'history-segment-bytes': { type: 'integer', description: "size at which every acceptor seals a chosen history segment (retention drops whole segments)", defaultText: "default the acceptor's, 64 MiB" },
    partitions: { type: 'boolean', description: 'put a proxy between each proposer and each acceptor and cut some links now and then (both ways or one way)' },
    'long-pauses': { type: 'boolean', description: 'also SIGSTOP a proposer or an acceptor for 4-10 s, past the clients\' 3 s deadlines' },
    'file-event-kills': { type: 'boolean', description: 'also kill -9 an acceptor the moment it creates or renames a file (a state snapshot or a history segment being written)' },
    'disk-faults': { type: 'integer', description: "acceptor 0's data dir is a tmpfs of this many MiB (needs root): filled for a while now and then, and made read-only for one restart" },
    'clock-jumps': { type: 'boolean', description: "restart proposers with the wall clock set back or forth by up to 20 s, or to exactly their last start's" },
    'twin-proposer': { type: 'boolean', description: "start a second process with proposer 1's id (and certificate), which clients use too" },
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
  const acceptorArgs: string[] = [];
  for (const flag of ['state-snapshot-every', 'history-retain-slots', 'history-segment-bytes'] as const) {
    const v = o[flag];
    if (v !== undefined) acceptorArgs.push(`--${flag}`, String(v));
  }
  if (o['state-snapshot-every'] !== undefined && o['state-snapshot-every'] < 10) throw new ConfigError(`--state-snapshot-every must be at least 10, got ${o['state-snapshot-every']}`);
  if (o['history-retain-slots'] !== undefined && o['history-retain-slots'] < 0) throw new ConfigError(`--history-retain-slots must be 0 or more, got ${o['history-retain-slots']}`);
  const segment = o['history-segment-bytes'];
  if (segment !== undefined && (segment < 4096 || segment > 1024 * 1024 * 1024)) throw new ConfigError(`--history-segment-bytes must be 4096..1073741824, got ${segment}`);
  // eslint-disable-next-line no-restricted-properties -- a moment, to tell runs of one seed apart
  const dir = o.dir ?? join(tmpdir(), `paxos-chaos-${seed}-${Date.now()}`);
  console.log(`chaos: seed ${seed}, ${seconds} s, ${acceptors} acceptors, ${proposers} proposer(s), ${clients} clients; history and logs in ${dir}`);
  const disk = o['disk-faults'];
  if (disk !== undefined && (disk < 8 || disk > 4096)) throw new ConfigError(`--disk-faults must be 8..4096 (MiB), got ${disk}`);
  const extraFlags = [
    ...(['partitions', 'long-pauses', 'file-event-kills', 'clock-jumps', 'twin-proposer'] as const).filter((f) => o[f] === true).map((f) => `--${f}`),
    ...(disk !== undefined ? ['--disk-faults', String(disk)] : []),
  ];
  console.log(`replay: npm run chaos -- --seconds ${seconds} --seed ${seed} --acceptors ${acceptors} --proposers ${proposers} --clients ${clients}${[...acceptorArgs, ...extraFlags].map((a) => ` ${a}`).join('')}`);
  const { report, violations } = await runChaos({
    seconds,
    seed,
    acceptors,
    proposers,
    clients,
    dir,
    acceptorArgs,
    unsafeNoSessions: o['unsafe-no-sessions'] === true,
    partitions: o.partitions === true,
    longPauses: o['long-pauses'] === true,
    fileEventKills: o['file-event-kills'] === true,
    ...(disk !== undefined ? { diskFaultsMiB: disk } : {}),
    clockJumps: o['clock-jumps'] === true,
    twinProposer: o['twin-proposer'] === true,
    log: (l) => console.log(`  ${l}`),
  });
  for (const v of violations) console.log(`VIOLATION ${v.kind}: ${v.detail}`);
  console.log(JSON.stringify(report));
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('chaos', e, e instanceof ConfigError ? 2 : 1),
);
