import { runSimulation, type SimResult } from './simulation';
import type { SimOptions } from './sim-options';

export interface SweepOptions {
  /** First seed (default 1) and how many consecutive seeds to run, or an explicit list. */
  fromSeed?: number;
  count?: number;
  seeds?: readonly number[];
  base?: Omit<SimOptions, 'seed'>;
  /** Called after every run (progress output, early stop is not supported: runs are cheap). */
  onResult?: (result: SimResult) => void;
}

export interface SweepResult {
  readonly runs: number;
  readonly violating: readonly SimResult[];
  readonly chosenSlots: number;
  readonly messages: number;
  /** Later copies of a client_request_id in the delivered logs, over all runs. */
  readonly duplicateCopies: number;
  /** Acceptors that lost their data and rejoined, over all runs. */
  readonly dataLosses: number;
}

/** Run many seeds; every violating run carries its seed and replay command. */
export function sweep(options: SweepOptions): SweepResult {
  const seeds = options.seeds ?? Array.from({ length: options.count ?? 100 }, (_, i) => (options.fromSeed ?? 1) + i);
  const violating: SimResult[] = [];
  let chosenSlots = 0;
  let messages = 0;
  let duplicateCopies = 0;
  let dataLosses = 0;
  for (const seed of seeds) {
    const r = runSimulation({ ...options.base, seed });
    chosenSlots += r.stats.chosenSlots;
    duplicateCopies += r.stats.duplicateCopies;
    dataLosses += r.stats.dataLosses;
    messages += r.stats.messages;
    if (r.violations.length > 0) violating.push(r);
    options.onResult?.(r);
  }
  return { runs: seeds.length, violating, chosenSlots, messages, duplicateCopies, dataLosses };
}

/** A failure message that names the seed and how to replay it. */
export function describeViolations(r: SimResult): string {
  return `seed ${r.seed} violated:\n  ${r.violations.join('\n  ')}\n  replay: ${r.replay}`;
}
