// Seeded fuzz of a proposer's reading of acceptor answers: hostile Prepare and Accept answers
// (other ballots, absurd slots and rounds, values no acceptor should have, missing oneofs) go
// through prepareEvent / acceptEvent into a real ProposerCore. A malformed answer may only be a
// WireError (taken as no answer); nothing may trip the core's assertions.
// FUZZ_SEED=<n> replays one seed.
import { type Ballot, type ProposerMessage, type ProposerOutput, ProposerCore, Quorum, SeededRandom } from '@paxos/consensus-core';
import { type AcceptResponse, type Ballot as WireBallot, type PrepareResponse, RefusalKind, type SlotValue } from '@paxos/proto';
import { WireError } from '@paxos/wire';
import { acceptEvent, prepareEvent } from './acceptor-answers';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3, 4, 5, 6, 7, 8];
const STEPS = Number(process.env['FUZZ_STEPS'] ?? 400);
const N = 5;
const EXTREME = [0n, 1n, (1n << 62n) - 1n, 1n << 62n, (1n << 62n) + 1n, (1n << 63n), (1n << 64n) - 1n];

describe("a proposer core fed hostile acceptor answers (seeded)", () => {
  it.each(SEEDS)('only WireError, never an assertion (seed %i)', (seed) => {
    const r = new SeededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[r.int(0, xs.length)] as T;
    const core = new ProposerCore({ proposerId: 1, quorum: new Quorum(N), acceptorIds: [0, 1, 2, 3, 4], random: () => r.next() });
    const asked: ProposerMessage[] = [];
    const take = (o: ProposerOutput | { rejected: string }) => {
      if ('messages' in o) asked.push(...o.messages);
      if (asked.length > 2000) asked.splice(0, asked.length - 2000);
    };
    const wireBallot = (b: Ballot): WireBallot | undefined => {
      const c = r.int(0, 10);
      if (c === 0) return undefined;
      if (c === 1) return { round: pick(EXTREME), proposerId: pick([0, 1, 2, 0xffffffff]) };
      if (c === 2) return { round: b.round + BigInt(r.int(-1, 3)), proposerId: pick([0, 1, 2]) };
      return { round: b.round, proposerId: b.proposerId };
    };
    const value = (): SlotValue | undefined => {
      const c = r.int(0, 8);
      if (c === 0) return undefined;
      if (c === 1) return { kind: undefined };
      if (c === 2) return { kind: { $case: 'batch', value: { commands: [] } } };
      if (c === 3) return { kind: { $case: 'batch', value: { commands: [{ clientRequestId: '', verifiedBy: [] }] } } };
      if (c === 4 && r.chance(0.05)) return { kind: { $case: 'batch', value: { commands: [{ clientRequestId: 'big', value: { contentType: 't', data: Buffer.alloc(2 << 20) }, verifiedBy: [] }] } } };
      if (c === 5) return { kind: { $case: 'batch', value: { commands: [{ clientRequestId: 'v', value: { contentType: 't', data: Buffer.alloc(2) }, verifiedBy: Array.from({ length: 2000 }, (_, i) => i) }] } } };
      if (c === 6) return { kind: { $case: 'batch', value: { commands: [{ clientRequestId: `c${r.int(0, 9)}`, value: { contentType: 't', data: Buffer.alloc(1) }, verifiedBy: [] }] } } };
      return { kind: { $case: 'noop', value: {} } };
    };
    const slot = (near: bigint): bigint => (r.chance(0.9) ? near + BigInt(r.int(0, 5)) : pick([...EXTREME, 1n << 20n, (1n << 62n) - 1n]));
    for (let step = 0; step < STEPS; step++) {
      const where = `seed ${seed} step ${step}`;
      try {
        if (r.chance(0.15)) take(core.submit({ clientRequestId: `id${step}`, contentType: 't', data: Buffer.alloc(3) }));
        take(core.tick());
        const m = asked.length > 0 ? asked.splice(r.int(0, asked.length), 1)[0] : undefined;
        if (m === undefined) continue;
        const from = r.chance(0.05) ? pick([7, -1, 1e9]) : m.to;
        if (m.type === 'prepare') {
          const c = r.int(0, 6);
          const reply: PrepareResponse = {
            requestId: pick([0n, 1n, (1n << 64n) - 1n]),
            ...(c === 0
              ? {}
              : c === 1
                ? { outcome: { $case: 'rejected' as const, value: { ...(r.chance(0.9) ? { promised: wireBallot({ round: m.ballot.round + 1n, proposerId: 2 }) } : {}) } } }
                : {
                    outcome: {
                      $case: 'promised' as const,
                      value: {
                        ballot: wireBallot(m.ballot),
                        accepted: Array.from({ length: r.chance(0.01) ? 1500 : pick([0, 1, 2, 3]) }, () => ({ slot: slot(m.fromSlot), ballot: wireBallot({ round: m.ballot.round - BigInt(r.int(0, 2)), proposerId: pick([1, 2]) }), value: value() })),
                        truncated: r.chance(0.2),
                        committedIndex: r.chance(0.9) ? m.fromSlot : pick(EXTREME),
                      },
                    },
                  }),
          };
          let ev;
          try {
            ev = prepareEvent({ from, reply }, m.ballot);
          } catch (e) {
            if (e instanceof WireError) continue;
            throw e;
          }
          take(core.handle(ev));
        } else if (m.type === 'accept') {
          const c = r.int(0, 6);
          const outcome: AcceptResponse['outcome'] =
            c === 0
              ? undefined
              : c === 1
                ? { $case: 'rejected', value: { ...(r.chance(0.9) ? { promised: wireBallot({ round: m.ballot.round + 1n, proposerId: 2 }) } : {}) } }
                : c === 2
                  ? { $case: 'refused', value: { reason: pick(['', 'no', 'x'.repeat(10_000)]), kind: pick([RefusalKind.REFUSAL_KIND_VALUE_CHECK, RefusalKind.REFUSAL_KIND_REJOINING, RefusalKind.REFUSAL_KIND_UNSPECIFIED, 99 as RefusalKind]) } }
                  : c === 3
                    ? { $case: 'committed', value: { committedIndex: pick(EXTREME), durableCommittedIndex: pick(EXTREME) } }
                    : { $case: 'accepted', value: { ...(r.chance(0.95) ? { ballot: wireBallot(m.ballot) } : {}), slot: r.chance(0.9) ? m.slot : slot(m.slot), committedIndex: r.chance(0.8) ? 0n : pick(EXTREME), durableCommittedIndex: r.chance(0.8) ? 0n : pick(EXTREME) } };
          let ev;
          try {
            ev = acceptEvent({ from, reply: { requestId: 1n, outcome } }, m.ballot, m.slot).event;
          } catch (e) {
            if (e instanceof WireError) continue;
            throw e;
          }
          if (ev) take(core.handle(ev));
        }
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).name}: ${(e as Error).message}\n${(e as Error).stack ?? ''}`);
      }
    }
  });
});
