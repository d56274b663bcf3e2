#!/usr/bin/env node
// The simulator's command line: `npm run simulate -- --seeds 1000` (see --help).
import { describeViolations, runSimulation, type SimResult } from '@paxos/consensus-core/testing';
import { parseSimulateArgs, SIMULATE_USAGE, summaryLine } from './simulate-args';

export function main(argv: readonly string[] = process.argv.slice(2)): number {
  const args = parseSimulateArgs(argv);
  if (args.kind === 'help') {
    console.log(SIMULATE_USAGE);
    return 0;
  }
  if (args.kind === 'error') {
    console.error(`simulate: ${args.message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  for (const w of args.warnings) console.warn(w);
  // The seeds first, as the node simulator prints them: a run is replayed from them (the default first seed is 1).
  console.log(`simulation: seeds ${args.fromSeed}..${args.fromSeed + args.seeds - 1}`);
  const started = process.hrtime.bigint();
  let violating = 0;
  let chosen = 0;
  for (let i = 0; i < args.seeds; i++) {
    let r: SimResult;
    try {
      r = runSimulation({ ...args.base, seed: args.fromSeed + i });
    } catch (err) {
      console.error(`seed ${args.fromSeed + i}: ${(err as Error).message}`);
      violating++;
      continue;
    }
    chosen += r.stats.chosenSlots;
    if (args.verbose) console.log(`seed ${r.seed}: ${JSON.stringify(r.stats, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    if (r.violations.length > 0) {
      violating++;
      console.log(describeViolations(r));
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (args.bench) console.log(`seeds/s=${(args.seeds / Math.max(seconds, 1e-9)).toFixed(1)} chosen_slots=${chosen}`);
  console.log(summaryLine(args.seeds, violating, seconds));
  return violating > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
