import { assert } from '../assert';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import type { Quorum } from '../quorum';
import type { ProposerConfig } from './proposer-types';

export const PROPOSER_DEFAULTS = Object.freeze({
  windowSlots: 64,
  batchCommandsMax: 64,
  pendingCommandsMax: 10_000,
  retransmitTicks: 20,
  backoffTicksMin: 5,
  backoffTicksMax: 30,
});

export interface ResolvedProposerConfig {
  readonly proposerId: number;
  readonly quorum: Quorum;
  readonly acceptorIds: readonly number[];
  readonly initialRound: bigint;
  readonly origin: bigint | undefined;
  readonly windowSlots: number;
  readonly batchCommandsMax: number;
  readonly batchBytesMax: number;
  readonly partialSlotsMax: number;
  readonly acceptFanout: number;
  readonly fanoutExpandTicks: number;
  readonly pendingCommandsMax: number;
  readonly retransmitTicks: number;
  readonly backoffTicksMin: number;
  readonly backoffTicksMax: number;
  readonly random: () => number;
  readonly limits: Limits;
}

function positiveInteger(value: number, name: string): number {
  assert(Number.isInteger(value) && value >= 1, `${name} must be an integer >= 1 (got ${value})`);
  return value;
}

export function resolveProposerConfig(c: ProposerConfig): ResolvedProposerConfig {
  const limits = c.limits ?? DEFAULT_LIMITS;
  assert(Number.isInteger(c.proposerId) && c.proposerId >= 1 && c.proposerId <= 0xffff_ffff, `proposerId must be a uint32 >= 1 (got ${c.proposerId})`);
  assert(c.acceptorIds.length === c.quorum.n, `acceptorIds has ${c.acceptorIds.length} ids for a quorum of n=${c.quorum.n}`);
  assert(new Set(c.acceptorIds).size === c.acceptorIds.length, 'acceptorIds must be distinct');
  assert(typeof c.random === 'function', 'a seeded random generator is required');
  const initialRound = c.initialRound ?? 1n;
  assert(initialRound >= 1n, `initialRound must be >= 1 (got ${initialRound})`);
  const backoffTicksMin = c.backoffTicksMin ?? PROPOSER_DEFAULTS.backoffTicksMin;
  const backoffTicksMax = c.backoffTicksMax ?? Math.max(backoffTicksMin, PROPOSER_DEFAULTS.backoffTicksMax);
  assert(Number.isInteger(backoffTicksMin) && backoffTicksMin >= 0, 'backoffTicksMin must be an integer >= 0');
  assert(Number.isInteger(backoffTicksMax) && backoffTicksMax >= backoffTicksMin, 'backoffTicksMax must be >= backoffTicksMin');
  const batchBytesMax = c.batchBytesMax ?? limits.valueBytesMax;
  assert(batchBytesMax <= limits.valueBytesMax, 'batchBytesMax must not exceed limits.valueBytesMax');
  const windowSlots = positiveInteger(c.windowSlots ?? PROPOSER_DEFAULTS.windowSlots, 'windowSlots');
  const retransmitTicks = positiveInteger(c.retransmitTicks ?? PROPOSER_DEFAULTS.retransmitTicks, 'retransmitTicks');
  const acceptFanout = positiveInteger(c.acceptFanout ?? c.quorum.n, 'acceptFanout');
  assert(acceptFanout >= c.quorum.q && acceptFanout <= c.quorum.n, `acceptFanout must be ${c.quorum.q}..${c.quorum.n} (got ${acceptFanout})`);
  assert(c.origin === undefined || (c.origin > 0n && c.origin < 1n << 64n), `origin must be a uint64 above 0 (got ${c.origin})`);
  return {
    proposerId: c.proposerId,
    origin: c.origin,
    quorum: c.quorum,
    acceptorIds: [...c.acceptorIds],
    initialRound,
    windowSlots,
    partialSlotsMax: positiveInteger(c.partialSlotsMax ?? windowSlots, 'partialSlotsMax'),
    batchCommandsMax: positiveInteger(c.batchCommandsMax ?? PROPOSER_DEFAULTS.batchCommandsMax, 'batchCommandsMax'),
    batchBytesMax: positiveInteger(batchBytesMax, 'batchBytesMax'),
    pendingCommandsMax: positiveInteger(c.pendingCommandsMax ?? PROPOSER_DEFAULTS.pendingCommandsMax, 'pendingCommandsMax'),
    acceptFanout,
    fanoutExpandTicks: positiveInteger(c.fanoutExpandTicks ?? Math.max(1, Math.floor(retransmitTicks / 2)), 'fanoutExpandTicks'),
    retransmitTicks,
    backoffTicksMin,
    backoffTicksMax,
    random: c.random,
    limits,
  };
}
