// npm run simulate:nodes -- [--seeds N] [--seed S] [--acceptors 5] [--proposers 2] [...]: the
// real proposer and acceptor nodes over simulated network, disks and time (see node-simulation.ts).
import { exitWhenWritten } from '@paxos/grpc-kit';
import { NODE_SIM_DEFAULTS, type NodeSimOptions, resolveNodeSimOptions } from './node-sim-options';
import { runNodeSimulation } from './node-simulation';

function parse(argv: readonly string[]): { seeds: number; first: number; options: Partial<NodeSimOptions> } {
  const options: Record<string, number | boolean> = {};
  let seeds = 100;
  let first = Date.now() % 1_000_000_000;
  const known = new Map(Object.entries(NODE_SIM_DEFAULTS).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), { key: k, type: typeof v }]));
  for (let i = 0; i < argv.length; i++) {
    const flag = (argv[i] as string).replace(/^--/, '');
    if (flag === 'help') {
      // Each flag with its default (a boolean flag is off unless given).
      const defaults = NODE_SIM_DEFAULTS as unknown as Record<string, number | boolean>;
      const flags = [...known].map(([k, { key, type }]) => `[--${k}${type === 'boolean' ? '' : ` ${String(defaults[key])}`}]`);
      process.stdout.write(`usage: npm run simulate:nodes -- [--seeds 100] [--seed S (default: from the clock, printed)] ${flags.join(' ')}\n`);
      process.exit(0);
    }
    const next = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`--${flag} needs a number, got ${argv[i] ?? 'nothing'}`);
      return v;
    };
    if (flag === 'seeds') seeds = next();
    else if (flag === 'seed') first = next();
    else {
      const k = known.get(flag);
      if (!k) throw new Error(`unknown flag --${flag} (see --help)`);
      options[k.key] = k.type === 'boolean' ? true : next();
    }
  }
  return { seeds, first, options: options as Partial<NodeSimOptions> };
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`simulate:nodes: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const started = process.hrtime.bigint();
  process.stdout.write(`node-level simulation: seeds ${args.first}..${args.first + args.seeds - 1}\n`);
  let violating = 0;
  const totals = { commands: 0, acknowledged: 0, chosenSlots: 0, duplicateCopies: 0, acceptorCrashes: 0, powerLosses: 0, proposerCrashes: 0, diskFaults: 0, corruptions: 0, forgedMessages: 0, partitions: 0, sourcesUnloaded: 0, dataLosses: 0, snapshotWritesTorn: 0, snapshotsDamaged: 0, claimsRefused: 0, claimsUnverifiable: 0, readsAfterWrite: 0, levelAfterHealMsMax: 0 };
  for (let seed = args.first; seed < args.first + args.seeds; seed++) {
    const r = await runNodeSimulation(resolveNodeSimOptions({ ...args.options, seed }));
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) if (k !== 'levelAfterHealMsMax') totals[k] += r.stats[k];
    totals.levelAfterHealMsMax = Math.max(totals.levelAfterHealMsMax, r.stats.levelAfterHealMs);
    if (r.violations.length > 0) {
      violating++;
      process.stdout.write(`seed ${seed} violated:\n  ${r.violations.join('\n  ')}\n  replay: ${r.replay}\n`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    JSON.stringify({ seeds: args.seeds, firstSeed: args.first, violations: violating, seconds: Number(seconds.toFixed(1)), seedsPerSecond: Number((args.seeds / seconds).toFixed(2)), ...totals }) + '\n',
  );
  exitWhenWritten(violating > 0 ? 1 : 0);
}

void main();
