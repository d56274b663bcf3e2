import { describeViolations, sweep } from './sweep';
import { runSimulation } from './simulation';
import type { SimOptions } from './sim-options';

// Seeds can be widened for long runs: SIM_SEEDS=5000 npx jest -c libs/consensus-core/jest.config.js simulation
const SEEDS_SMALL = Number(process.env['SIM_SEEDS'] ?? 240);
const SEEDS_LARGE = Math.max(8, Math.floor(SEEDS_SMALL / 10));

function expectNoViolations(base: Omit<SimOptions, 'seed'>, count: number, fromSeed = 1): void {
  const result = sweep({ fromSeed, count, base });
  const report = result.violating.slice(0, 3).map(describeViolations).join('\n');
  expect(report).toBe('');
  expect(result.chosenSlots).toBeGreaterThan(0);
}

describe('the simulator: safety under faults, liveness after healing', () => {
  jest.setTimeout(120_000);

  it(`${SEEDS_SMALL} seeds of 5 acceptors and 3 dueling proposers, every fault kind on`, () => {
    expectNoViolations({ acceptors: 5 }, SEEDS_SMALL);
  });

  it(`${SEEDS_LARGE} seeds of 23 acceptors (quorum 12)`, () => {
    expectNoViolations({ acceptors: 23 }, SEEDS_LARGE, 10_000);
  });

  it('proposers that never hold a partial batch back (partialSlotsMax = window) stay safe and live', () => {
    expectNoViolations({ acceptors: 5, partialSlotsMax: 8 }, Math.max(8, SEEDS_LARGE), 40_000);
  });

  it('thrifty proposers (accepts to a quorum first, more on failure or after a wait) stay safe and live', () => {
    expectNoViolations({ acceptors: 5, acceptFanout: 3 }, Math.max(8, SEEDS_LARGE), 50_000);
    expectNoViolations({ acceptors: 23, acceptFanout: 14 }, Math.max(8, SEEDS_LARGE), 60_000);
  });

  it('truncated promises (2 entries per promise) stay safe and live', () => {
    expectNoViolations({ acceptors: 5, entriesPerPromiseMax: 2, commands: 30 }, Math.max(8, SEEDS_LARGE), 20_000);
  });

  it('truncated promises: the seeds that caught a wrong cut or a late answer counted stay safe and live', () => {
    // Searched over seeds 20000..21499 (these options): a proposer that took the highest cut of
    // its promises, or only the first or the last one's, violated on 26, 10 and 18 of them, one
    // that sent its own plan for the slot at the cut on 66, one that counted an Accepted of any
    // ballot on 1 (20896). Of these eight seeds, those builds violate on 7, 5, 5, 2 and 1. The
    // scenarios in proposer/interleavings.spec.ts catch each build every time; these seeds
    // watch the same rules in whole runs. A change to the core moves which seeds catch what:
    // search again with `npm run simulate -- --seeds 1500 --seed 20000 --acceptors 5
    // --promise-entries 2 --commands 30` on the broken build.
    const pinned = [20332, 20495, 20566, 20896, 21019, 21047, 21075, 21200];
    const result = sweep({ seeds: pinned, base: { acceptors: 5, entriesPerPromiseMax: 2, commands: 30 } });
    expect(result.violating.map(describeViolations).join('\n')).toBe('');
  });

  it('acceptors that lose their data and rejoin by the procedure (the floor from a quorum of the others, proposers stopped) stay safe and live', () => {
    const safe = sweep({ fromSeed: 70_000, count: Math.max(40, SEEDS_LARGE * 4), base: { acceptors: 3, dataLossProbability: 0.03 } });
    expect(safe.violating.map(describeViolations).slice(0, 3).join('\n')).toBe('');
    expect(safe.dataLosses).toBeGreaterThan(0);
    expectNoViolations({ acceptors: 5, dataLossProbability: 0.03, partialSlotsMax: 8 }, Math.max(8, SEEDS_LARGE), 71_000);
  });

  it('a lone proposer whose restarts often reuse its last ballot stays safe and live', () => {
    // With no rival to move the ballots up, a restarted incarnation prepares at exactly the ballot
    // its last one used: only acceptors that promise strictly above their promise keep it out.
    expectNoViolations({ acceptors: 3, proposers: 1, proposerCrashProbability: 0.02 }, SEEDS_SMALL, 90_000);
  });

  it('harsher faults on 3 acceptors stay safe and live', () => {
    expectNoViolations(
      { acceptors: 3, lossProbability: 0.2, duplicateProbability: 0.1, acceptorCrashProbability: 0.05, proposerCrashProbability: 0.01, partitionProbability: 0.03 },
      Math.max(8, SEEDS_LARGE),
      30_000,
    );
  });

  it('a run is deterministic: the same seed replays the same history', () => {
    const a = runSimulation({ seed: 77, acceptors: 5 });
    const b = runSimulation({ seed: 77, acceptors: 5 });
    expect(b.stats).toEqual(a.stats);
    expect(a.replay).toBe('npm run simulate -- --seed 77 --acceptors 5');
  });
});

describe('negative controls: the checker must catch a broken protocol', () => {
  const CONTROL_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
  const SESSION_SEEDS = Array.from({ length: 40 }, (_, i) => 300 + i);

  it('non-intersecting quorums (6 of 23) with a split brain violate agreement on every seed', () => {
    const result = sweep({ seeds: CONTROL_SEEDS, base: { acceptors: 23, quorum: 6, unsafeQuorum: true, proposers: 2, splitBrain: true } });
    expect(result.violating.length).toBe(CONTROL_SEEDS.length);
    expect(result.violating[0].violations.join('\n')).toMatch(/agreement/);
    expect(result.violating[0].replay).toMatch(/--quorum 6 --proposers 2 --split-brain/);
  });

  it('non-intersecting quorums (6 of 23) with random faults only are caught (pinned seeds)', () => {
    // Searched once over seeds 1..40 (proposers holding no partial batch back, clients retrying
    // through the next proposer, restarted proposers' clocks jumping): 30 of 40 violate; these are
    // the first eight.
    // (Without data losses or late messages, whose draws would move every later fault of a seed.)
    const pinned = [2, 5, 6, 8, 10, 11, 12, 14];
    const result = sweep({ seeds: pinned, base: { acceptors: 23, quorum: 6, unsafeQuorum: true, partialSlotsMax: 8, dataLossProbability: 0, lateProbability: 0 } });
    expect(result.violating.map((r) => r.seed)).toEqual(pinned);
  });

  it('a state machine without client sessions lets a retried copy take effect twice, and the checker sees it', () => {
    // Clients retry through the next proposer; after crashes and duels the log holds copies.
    const base: Omit<SimOptions, 'seed'> = { acceptors: 5, commands: 40, proposerCrashProbability: 0.02 };
    const safe = sweep({ seeds: SESSION_SEEDS, base });
    expect(safe.violating).toEqual([]);
    expect(safe.duplicateCopies).toBeGreaterThan(0);
    const result = sweep({ seeds: SESSION_SEEDS, base: { ...base, unsafeNoSessions: true } });
    expect(result.violating.length).toBeGreaterThan(0);
    expect(result.violating[0]?.violations.join('\n')).toMatch(/exactly-once: c\d+ took effect in slot \d+ and again/);
    expect(result.violating[0]?.replay).toMatch(/--unsafe-no-sessions/);
  });

  it('an acceptor that lost its data and rejoins as a new one (no floor) breaks agreement, and the checker sees it', () => {
    const seeds = Array.from({ length: 40 }, (_, i) => 500 + i);
    const result = sweep({ seeds, base: { acceptors: 3, dataLossProbability: 0.03, unsafeRejoin: true } });
    expect(result.violating.length).toBeGreaterThan(0);
    expect(result.violating.flatMap((r) => r.violations).join('\n')).toMatch(/agreement|stability/);
    expect(result.violating[0].replay).toMatch(/--data-loss 0.03 --unsafe-rejoin/);
    // The same seeds with the floor: no violation.
    expect(sweep({ seeds, base: { acceptors: 3, dataLossProbability: 0.03 } }).violating).toEqual([]);
  });

  it('an acceptor that replies before persisting loses replied votes in a crash, and the checker sees it', () => {
    const result = sweep({ seeds: CONTROL_SEEDS, base: { acceptors: 3, unsafeReplies: true, dataLossProbability: 0 } });
    expect(result.violating.length).toBeGreaterThanOrEqual(CONTROL_SEEDS.length / 2);
    expect(result.violating.flatMap((r) => r.violations).join('\n')).toMatch(/stability|agreement/);
    // The reply check sees it as the reply leaves, crash or not.
    expect(result.violating.flatMap((r) => r.violations).join('\n')).toMatch(/durability: acceptor \d+ answered (a promise|accepted)/);
    expect(result.violating[0].replay).toMatch(/--unsafe-replies/);
  });
});
