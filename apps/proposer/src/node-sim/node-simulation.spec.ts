import { resolveNodeSimOptions } from './node-sim-options';
import { runNodeSimulation, type NodeSimResult } from './node-simulation';

/** The first seed of the sweep: NODE_SIM_SEED=N replays another range. */
const FIRST_SEED = Number(process.env['NODE_SIM_SEED'] ?? 20261205);
const SEEDS = 25;

/**
 * Seeds on which the "answers before persisting" build lost a chosen value when they were searched
 * (seeds 1..400, claims off, since a leader finishes a phase 1 cut off by its size bound; found
 * again after the proposer's reads learned at once, and again once acceptors ran state snapshots
 * and history retention). A change to the nodes moves which seeds catch
 * it: search again with `npm run simulate:nodes -- --seeds 400 --seed 1 --unsafe-ack-before-sync
 * --claims-probability 0`. The control asks that most of these seeds catch it rather than each.
 */
const UNSAFE_ACK_SEEDS = [58, 168, 190, 234, 255, 304, 314, 329, 333];

function describeRun(r: NodeSimResult): string {
  return `seed ${r.seed}: ${r.violations.join('; ')} (replay: ${r.replay})`;
}


/**
 * The seeds pinned below were found before clients read after their writes: run as they were
 * found, so that each still replays the scenario it guards (at 0 nothing is drawn).
 */
const BEFORE_READS = { readAfterWriteProbability: 0 } as const;
/**
 * And most before the simulator damaged state snapshot files or stopped acceptors between a
 * snapshot write's renames (those faults draw from a stream of their own, and at 0 draw nothing).
 */
const AS_PINNED = { ...BEFORE_READS, stateSnapshotTornProbability: 0, stateSnapshotDamageProbability: 0 } as const;
describe('node-level simulation: the real proposer and acceptor nodes over simulated network, disks and time', () => {
  jest.setTimeout(120_000);

  it(`keeps every property on ${SEEDS} seeds from ${FIRST_SEED} with every fault on`, async () => {
    // Printed so a failing run can be replayed.
    process.stdout.write(`node-level simulation: seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1}\n`);
    const failures: string[] = [];
    let faults = 0;
    let claimsRefused = 0;
    let reads = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ seed }));
      faults += r.stats.acceptorCrashes + r.stats.proposerCrashes + r.stats.diskFaults + r.stats.forgedMessages + r.stats.partitions;
      claimsRefused += r.stats.claimsRefused;
      // Every command is answered: chosen, or refused for its claims, or (its claims' acceptors
      // damaged for good) unverifiable.
      expect(r.stats.acknowledged + r.stats.claimsRefused + r.stats.claimsUnverifiable).toBe(r.stats.commands);
      if (r.violations.length > 0) failures.push(describeRun(r));
      reads += r.stats.readsAfterWrite;
    }
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(SEEDS);
    expect(faults).toBeGreaterThan(SEEDS * 10);
    expect(claimsRefused).toBeGreaterThan(0);
  });

  it('is a function of its seed', async () => {
    const a = await runNodeSimulation(resolveNodeSimOptions({ seed: FIRST_SEED }));
    const b = await runNodeSimulation(resolveNodeSimOptions({ seed: FIRST_SEED }));
    expect(b.stats).toEqual(a.stats);
  });

  it('does not depend on the runs before it: a run that ends with clients still retrying leaves nothing behind', async () => {
    const first = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: 58 }));
    // No time after the heal: the run ends with clients still retrying (commands not answered).
    const stalled = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: 222, livenessMs: 1 }));
    expect(stalled.violations.join('\n')).toMatch(/liveness: \d+ commands not answered/);
    const again = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: 58 }));
    expect(again.stats).toEqual(first.stats);
    expect(again.violations).toEqual(first.violations);
  });

  it('runs 23 acceptors and 3 proposers', async () => {
    const r = await runNodeSimulation(resolveNodeSimOptions({ seed: FIRST_SEED, acceptors: 23, proposers: 3, clients: 8 }));
    expect(r.violations).toEqual([]);
    expect(r.stats.acknowledged + r.stats.claimsRefused + r.stats.claimsUnverifiable).toBe(r.stats.commands);
    expect(r.stats.acknowledged).toBeGreaterThan(r.stats.commands / 2);
  });

  it('answers a linearizable read on a proposer that still believed it led (seed 12057601)', async () => {
    // Its rival won phase 1 and crashed; no write came since. The read saw the higher promise in
    // Status and failed, and every retry failed the same way until the core learned of it.
    // Claims off: the seed runs as it did when it was found.
    const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed: 12057601, claimsProbability: 0 }));
    expect(r.violations).toEqual([]);
  });

  it('answers an id sent at once with two values by each caller\'s own bytes: chosen for the one that took effect, ALREADY_EXISTS for the other', async () => {
    // Seeds that once told a caller ALREADY_EXISTS while its own bytes took effect (the in-flight
    // refusal, before it waited for the outcome), and a few more.
    for (const seed of [233, 235, 253, 262, 1, 2, 3]) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, reusedIdProbability: 0.3 }));
      expect([seed, r.violations]).toEqual([seed, []]);
    }
  });

  it('acceptors that lose their disk and rejoin under the floor (proposers stopped, the floor from a quorum of the others) keep every property', async () => {
    let losses = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, dataLossProbability: 0.01 }));
      expect([seed, r.violations]).toEqual([seed, []]);
      losses += r.stats.dataLosses;
    }
    expect(losses).toBeGreaterThan(5);
  });

  it('tells a retry with other bytes from the same value below a state snapshot the proposer installed (value keys)', async () => {
    // Each seed answered such a retry "chosen" while acceptors' snapshots held no digests.
    for (const seed of [12800900, 12800903, 12800996, 12801026, 12801058, 12801077]) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, reusedIdProbability: 0.3, stateSnapshotEvery: 4, historyRetainSlots: 0 }));
      expect([seed, r.violations]).toEqual([seed, []]);
    }
  });

  it('keeps the log learnable with tiny retention through power losses and lost disks (state transfer)', async () => {
    // Each seed stalled for good before retention counted the quorum's durable committed index and
    // snapshots were taken on two acceptors' word: 29, 141, 155, 175 with both rules as they were,
    // 175 with durable counting alone, 12800307 with the snapshot's own slot not counted as known;
    // 12900507 while a fetch from a holder that went silent waited out the whole transfer deadline.
    for (const seed of [29, 141, 155, 175, 12800207, 12800232, 12800307, 12900507]) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, stateSnapshotEvery: 4, historyRetainSlots: 0, dataLossProbability: 0.01, faultMs: 12_000 }));
      expect([seed, r.violations]).toEqual([seed, []]);
    }
  });

  it('gets past slots that live only in one acceptor\'s snapshot once the two that vouched for it lost their disks', async () => {
    // Each seed stopped the log for good: no two acceptors vouched for a snapshot above the
    // proposers' delivered slot, and no acceptor kept the slots (12916133 with three proposers,
    // 12915848 with one).
    const mix = { ...BEFORE_READS, clients: 12, faultMs: 12_000, proposerCrashProbability: 0.03, reusedIdProbability: 0.3, dataLossProbability: 0.01, stateSnapshotEvery: 4, historyRetainSlots: 0 };
    for (const [seed, proposers] of [[12916133, 3], [12915848, 1]] as const) {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...mix, seed, proposers }));
      expect([seed, r.violations]).toEqual([seed, []]);
    }
  });

  it('keeps an acceptor\'s agreed state when its latest snapshot is damaged and it stops between the next write\'s renames', async () => {
    // Each seed left an acceptor with no agreed state while the write moved the damaged latest
    // over the whole previous snapshot: it restored from the previous one, began its next
    // snapshot, and was killed or lost power between the renames (449 with the usual settings,
    // 223 and 447 with tiny retention).
    const r = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: 449 }));
    expect([449, r.violations]).toEqual([449, []]);
    for (const seed of [223, 447]) {
      const t = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed, stateSnapshotEvery: 4, historyRetainSlots: 0, dataLossProbability: 0.01, faultMs: 12_000 }));
      expect([seed, t.violations]).toEqual([seed, []]);
    }
  });

  describe('negative controls: each broken build must be caught', () => {
    it('an acceptor that lost its data and comes back as a new one (no floor) lets a slot hold two values', async () => {
      // Seeds 1..60 of this build (the floor read from a random quorum): 18, 23, 30, 31, 38, 40, 43, 48, ... were caught.
      const caught: number[] = [];
      for (const seed of [18, 23, 30, 31]) {
        const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, dataLossProbability: 0.01, unsafeRejoin: true }));
        if (/agreement/.test(r.violations.join('\n'))) caught.push(seed);
      }
      expect(caught.length).toBeGreaterThanOrEqual(2);
    });

    it('acceptors that answer before their vote is durable lose chosen values at a power loss', async () => {
      const caught: number[] = [];
      for (const seed of UNSAFE_ACK_SEEDS) {
        const r = await runNodeSimulation(resolveNodeSimOptions({ ...AS_PINNED, seed, unsafeAckBeforeSync: true, claimsProbability: 0 }));
        if (/agreement|lost|exactly-once/.test(r.violations.join('\n'))) caught.push(seed);
      }
      process.stdout.write(`the broken build was caught on seeds ${caught.join(', ')} of ${UNSAFE_ACK_SEEDS.join(', ')}\n`);
      expect(caught.length).toBeGreaterThan(UNSAFE_ACK_SEEDS.length / 2);
    });

    it('without client sessions a retried command takes effect twice', async () => {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: 3, unsafeNoSessions: true, claimsProbability: 0 }));
      expect(r.stats.duplicateCopies).toBeGreaterThan(0);
      expect(r.violations.join('\n')).toMatch(/applied state/);
    });

    it('a proposer that certifies claims without asking gets claims chosen that their acceptors refuse', async () => {
      const r = await runNodeSimulation(resolveNodeSimOptions({ ...BEFORE_READS, seed: FIRST_SEED, unsafeForgeCertificates: true }));
      expect(r.violations.join('\n')).toMatch(/claims: slot \d+ holds .*whose data refuse its claims/);
    });

    it('reads that skip the read barrier miss writes acknowledged before they began', async () => {
      const r = await runNodeSimulation(resolveNodeSimOptions({ seed: FIRST_SEED, unsafeReadWithoutBarrier: true, readAfterWriteProbability: 0.5 }));
      expect(r.violations.join('\n')).toMatch(/linearizability: a linearizable read at proposer \d after .* (reflects slots below \d+ only|knows nothing of)/);
    });
  });
});
