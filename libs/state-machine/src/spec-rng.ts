// The seeded draws the state machine's property specs make (a seed printed by a failing run
// replays it): the core's SeededRandom, in the shape the specs use.
import { SeededRandom } from '@paxos/consensus-core';

export interface SpecRng {
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function specRng(seed: number): SpecRng {
  const r = new SeededRandom(seed);
  const int = (n: number) => r.int(0, n);
  return { int, pick: (xs) => xs[int(xs.length)] as (typeof xs)[number], chance: (p) => r.chance(p) };
}
