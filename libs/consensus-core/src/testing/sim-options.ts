import { DEFAULT_CLUSTER_SIZE, Quorum, unsafeQuorumForTesting } from '../quorum';

/** Everything a simulated run draws from: one seed plus the shape of the cluster and its faults. */
export interface SimOptions {
  seed: number;
  acceptors?: number;
  /** Quorum size; a value with 2q <= n needs unsafeQuorum (negative control 1). */
  quorum?: number;
  unsafeQuorum?: boolean;
  proposers?: number;
  commands?: number;
  safetyTicks?: number;
  livenessTicks?: number;
  lossProbability?: number;
  duplicateProbability?: number;
  delayTicksMax?: number;
  /** A message arrives late (after delayTicksMax and up to lateTicksMax ticks), past the proposers' timers. */
  lateProbability?: number;
  lateTicksMax?: number;
  partitionProbability?: number;
  acceptorCrashProbability?: number;
  proposerCrashProbability?: number;
  /**
   * Per tick: an acceptor loses its disk and rejoins by the operator's procedure (every proposer
   * stopped, the floor read from a quorum of the others that are not rejoining themselves).
   */
  dataLossProbability?: number;
  /** Negative control 4: an acceptor that lost its data rejoins as a new one, without the floor. */
  unsafeRejoin?: boolean;
  fsyncTicksMin?: number;
  fsyncTicksMax?: number;
  /** Negative control 2: acceptors reply before their change is durable. */
  unsafeReplies?: boolean;
  /** Keep the acceptors split into one group per proposer for the whole safety phase. */
  splitBrain?: boolean;
  /** Promise size bound for the acceptors (small values exercise truncated promises). */
  entriesPerPromiseMax?: number;
  windowSlots?: number;
  batchCommandsMax?: number;
  /** Proposers' partialSlotsMax (default 1, as the proposer service runs). */
  partialSlotsMax?: number;
  /** Proposers' acceptFanout: acceptors an accept goes to first (0, the default: all). */
  acceptFanout?: number;
  /** Negative control 3: the state machine keeps no client sessions (a retried copy takes effect again). */
  unsafeNoSessions?: boolean;
}

const UNSAFE_REPLIES_PROFILE = Object.freeze({ fsyncTicksMax: 8, acceptorCrashProbability: 0.08 });

export type ResolvedSimOptions = Required<Omit<SimOptions, 'quorum'>> & { quorum: number };

export const SIM_DEFAULTS = Object.freeze({
  acceptors: DEFAULT_CLUSTER_SIZE,
  unsafeQuorum: false,
  proposers: 3,
  commands: 24,
  safetyTicks: 300,
  livenessTicks: 3000,
  lossProbability: 0.05,
  duplicateProbability: 0.03,
  delayTicksMax: 6,
  lateProbability: 0.01,
  lateTicksMax: 80,
  partitionProbability: 0.01,
  acceptorCrashProbability: 0.02,
  proposerCrashProbability: 0.004,
  dataLossProbability: 0.002,
  unsafeRejoin: false,
  fsyncTicksMin: 1,
  fsyncTicksMax: 3,
  unsafeReplies: false,
  splitBrain: false,
  entriesPerPromiseMax: 1024,
  windowSlots: 8,
  batchCommandsMax: 4,
  partialSlotsMax: 1,
  acceptFanout: 0,
  unsafeNoSessions: false,
});

export function resolveSimOptions(o: SimOptions): ResolvedSimOptions {
  const acceptors = o.acceptors ?? SIM_DEFAULTS.acceptors;
  const merged = { ...SIM_DEFAULTS, quorum: Math.floor(acceptors / 2) + 1 } as ResolvedSimOptions;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  merged.acceptors = acceptors;
  // The unsafe-replies control needs crashes inside the fsync window to show its harm.
  if (merged.unsafeReplies) {
    merged.fsyncTicksMax = o.fsyncTicksMax ?? UNSAFE_REPLIES_PROFILE.fsyncTicksMax;
    merged.acceptorCrashProbability = o.acceptorCrashProbability ?? UNSAFE_REPLIES_PROFILE.acceptorCrashProbability;
  }
  return merged;
}

export function simQuorum(o: ResolvedSimOptions): Quorum {
  return o.unsafeQuorum ? unsafeQuorumForTesting(o.acceptors, o.quorum) : new Quorum(o.acceptors, o.quorum);
}

/** The command that replays one run (only options that differ from the defaults are named). */
export function replayCommand(options: SimOptions): string {
  const o = resolveSimOptions(options);
  const parts = ['npm run simulate --', `--seed ${o.seed}`, `--acceptors ${o.acceptors}`];
  if (o.quorum !== Math.floor(o.acceptors / 2) + 1) parts.push(`--quorum ${o.quorum}`);
  if (o.proposers !== SIM_DEFAULTS.proposers) parts.push(`--proposers ${o.proposers}`);
  if (o.commands !== SIM_DEFAULTS.commands) parts.push(`--commands ${o.commands}`);
  if (o.unsafeReplies) parts.push('--unsafe-replies');
  if (o.splitBrain) parts.push('--split-brain');
  if (o.entriesPerPromiseMax !== SIM_DEFAULTS.entriesPerPromiseMax) parts.push(`--promise-entries ${o.entriesPerPromiseMax}`);
  if (o.partialSlotsMax !== SIM_DEFAULTS.partialSlotsMax) parts.push(`--partial-slots ${o.partialSlotsMax}`);
  if (o.acceptFanout !== SIM_DEFAULTS.acceptFanout) parts.push(`--accept-fanout ${o.acceptFanout}`);
  if (o.unsafeNoSessions) parts.push('--unsafe-no-sessions');
  if (o.dataLossProbability !== SIM_DEFAULTS.dataLossProbability) parts.push(`--data-loss ${o.dataLossProbability}`);
  if (o.lateProbability !== SIM_DEFAULTS.lateProbability) parts.push(`--late ${o.lateProbability}`);
  if (o.unsafeRejoin) parts.push('--unsafe-rejoin');
  return parts.join(' ');
}
