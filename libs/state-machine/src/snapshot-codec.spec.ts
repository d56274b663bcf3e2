import { createHash } from 'node:crypto';
import { serialize } from 'node:v8';
import { type ChosenEntry, type Command, UNKNOWN_VALUE_KEY } from '@paxos/consensus-core';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { AgreedState, type AgreedStateOptions, longSessionIdKey } from './agreed-state';
import { SESSION_VALUE_KEY, sessionValueKey } from './value-key';
import { decodeStateSnapshot, decodeStateSnapshotWithFormat, encodeStateSnapshot } from './snapshot-codec';

const digest = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const ballot = { round: 3n, proposerId: 2 };
const text = (id: string, data = id): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(data) });
function proposal(id: string, n: number): Command {
  const v = encodeProposalValue(
    buildProposal({ proposalNumber: BigInt(n), proposerId: 1, leaderboard: [{ framework: `f${n % 3}`, score: `${n}.5`, pricePerPoint: '1.5', bid: '1', ask: '2' }] }),
  );
  return { clientRequestId: id, contentType: v.contentType, data: v.data };
}

/** A log with retried ids, repeated proposal numbers and no-ops; seeded, so the same every run. */
function log(slots: number, seed = 7): ChosenEntry[] {
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  return Array.from({ length: slots }, (_, s) => {
    if (rnd(10) === 0) return { slot: BigInt(s), ballot, value: { kind: 'noop' } };
    const commands: Command[] = Array.from({ length: 1 + rnd(4) }, () => text(`c${rnd(60)}`));
    if (rnd(3) === 0) commands.push(proposal(`p${s}`, rnd(12)));
    return { slot: BigInt(s), ballot, value: { kind: 'batch', commands } };
  });
}

describe('durable snapshots of the agreed state', () => {
  it('is refused when its sessions remember another number of ids than this network does', () => {
    const state = new AgreedState({ sessionIdsMax: 25 });
    for (const e of log(40)) state.apply(e);
    const decoded = decodeStateSnapshot(encodeStateSnapshot(state.snapshot()));
    // The node's own bound (200,000 unless configured): restored at 25 it would decide copies otherwise.
    expect(() => new AgreedState({}, decoded)).toThrow(/remember 25 ids; this network remembers 200000/);
    expect(new AgreedState({ sessionIdsMax: 25 }, decoded).appliedSlot).toBe(40n);
  });

  it.each<[string, AgreedStateOptions]>([
    ['an acceptor (no digests)', { sessionIdsMax: 25 }],
    ['a proposer (digests)', { digest, sessionIdsMax: 25 }],
  ])('restored from its bytes, %s decides every later slot as the state it was taken of', (_, opts) => {
    const entries = log(400);
    const original = new AgreedState(opts);
    for (const e of entries.slice(0, 150)) original.apply(e);
    const bytes = encodeStateSnapshot(original.snapshot());
    const restored = new AgreedState(opts, decodeStateSnapshot(bytes));
    expect(restored.appliedSlot).toBe(150n);
    for (const e of entries.slice(150)) expect(restored.apply(e)).toEqual(original.apply(e));
    expect(restored.snapshot()).toEqual(original.snapshot());
    expect(restored.registry.leaderboard()).toEqual(original.registry.leaderboard());
  });

  it('refuses bytes that are not a snapshot, saying so', () => {
    expect(() => decodeStateSnapshot(Buffer.from('not v8 at all'))).toThrow(/not a state snapshot/);
    expect(() => decodeStateSnapshot(encodeStateSnapshot({ slot: 1n } as never))).toThrow(/without its slot, sessions or registry/);
    // Sessions that could not be continued from (they came over the network in an install) are refused, not asserted on.
    const good = new AgreedState({ sessionIdsMax: 25 }).snapshot();
    const withSessions = (sessions: object) => encodeStateSnapshot({ ...good, sessions: { ...good.sessions, ...sessions } } as never);
    expect(() => decodeStateSnapshot(withSessions({ idsMax: 0 }))).toThrow(/remember 0 ids/);
    expect(() => decodeStateSnapshot(withSessions({ ids: ['a'], points: [] }))).toThrow(/one point per id/);
    expect(() => decodeStateSnapshot(withSessions({ ids: [7], points: [0] }))).toThrow(/not text/);
  });

  it('refuses arrays with holes, or longer than their bytes, before walking them (a few hundred bytes once declared 2^26 ids)', () => {
    const sparse = (length: number, first: unknown): unknown[] => {
      const a: unknown[] = [];
      a.length = length;
      a[0] = first;
      return a;
    };
    const good = new AgreedState({ sessionIdsMax: 25 }).snapshot();
    for (const length of [2 ** 20, 2 ** 26]) {
      const bytes = serialize({ format: 4, state: { ...good, sessions: { ...good.sessions, idsMax: length, ids: sparse(length, 'a'), points: sparse(length, 0) } } });
      expect(bytes.length).toBeLessThan(1000);
      expect(() => decodeStateSnapshot(bytes)).toThrow(/^not a state snapshot: an array of \d+ elements in \d+ bytes$/);
    }
    // A hole within the length the bytes allow, anywhere (here among the registry's records).
    const holed = serialize({ format: 4, state: { ...good, registry: { ...good.registry, records: sparse(3, good) } } });
    expect(() => decodeStateSnapshot(holed)).toThrow(/^not a state snapshot: an array with no element at index 1 of 3$/);
  });

  it('refuses sessions that list one id twice, which would remember more ids than the bound and decide copies otherwise', () => {
    const one = (s: number, id: string): ChosenEntry => ({ slot: BigInt(s), ballot, value: { kind: 'batch', commands: [text(id)] } });
    const good = new AgreedState({ sessionIdsMax: 3 });
    good.apply(one(0, 'a'));
    const snap = good.snapshot();
    const twice = (ids: string[]) => encodeStateSnapshot({ ...snap, sessions: { ...snap.sessions, ids, points: ids.map(() => 0), valueKeys: ids.map(() => UNKNOWN_VALUE_KEY) } });
    expect(() => decodeStateSnapshot(twice(['a', 'b', 'a']))).toThrow(/sessions list the id "a" twice/);
    // An id longer than the sessions keep is listed by its key: held whole (before the bound) and as its key, it is one id twice.
    const long = 'x'.repeat(300);
    expect(() => decodeStateSnapshot(twice([long, longSessionIdKey(long)]))).toThrow(/twice/);
    // Taken, such sessions went on remembering more ids than the network's bound (here 5 of 3): ids the log
    // applied from slot 0 forgets, a node restored from it still knew, and its own next snapshot was refused.
    expect(decodeStateSnapshot(twice(['a', 'b'])).sessions.ids).toEqual(['a', 'b']);
  });

  it('keeps a value key per id through a snapshot; one written before the keys restores without them, and a wrong list is refused', () => {
    const one = (s: number, id: string, data: string): ChosenEntry => ({ slot: BigInt(s), ballot, value: { kind: 'batch', commands: [text(id, data)] } });
    const state = new AgreedState({});
    state.apply(one(0, 'a', 'first'));
    const snap = state.snapshot();
    expect(snap.sessions.valueKeys).toEqual([sessionValueKey('text/plain', Buffer.from('first'))]);
    expect(snap.sessions.valueKeyFunction).toBe(SESSION_VALUE_KEY.name);
    const restored = new AgreedState({ digest: () => 'd' }, decodeStateSnapshot(encodeStateSnapshot(snap)));
    expect(restored.session('a')).toEqual({ slot: 0n, index: 0, valueKey: sessionValueKey('text/plain', Buffer.from('first')) });
    // The same bytes under another content type are another value.
    expect(sessionValueKey('application/json', Buffer.from('first'))).not.toBe(restored.session('a')?.valueKey);
    // Written before the keys: restored without one, and new ids get theirs.
    const { valueKeys: _keys, ...before } = snap.sessions;
    const old = new AgreedState({}, decodeStateSnapshot(encodeStateSnapshot({ ...snap, sessions: before })));
    old.apply(one(1, 'b', 'second'));
    expect(old.session('a')).toEqual({ slot: 0n, index: 0 });
    expect(old.snapshot().sessions.valueKeys).toEqual([UNKNOWN_VALUE_KEY, sessionValueKey('text/plain', Buffer.from('second'))]);
    // Keys another function made (another build's) are not this build's keys: unknown, never compared.
    const otherFunction = new AgreedState({}, decodeStateSnapshot(encodeStateSnapshot({ ...snap, sessions: { ...snap.sessions, valueKeyFunction: 'sha256-48' } })));
    expect(otherFunction.session('a')).toEqual({ slot: 0n, index: 0 });
    expect(() => decodeStateSnapshot(encodeStateSnapshot({ ...snap, sessions: { ...snap.sessions, valueKeyFunction: 'x'.repeat(65) } }))).toThrow(/value key function/);
    for (const valueKeys of [[], [1, 2], [2 ** 48], [-2], [0.5], ['1']]) {
      expect(() => decodeStateSnapshot(encodeStateSnapshot({ ...snap, sessions: { ...snap.sessions, valueKeys: valueKeys as number[] } }))).toThrow(/one value key/);
    }
  });

  it('reads a forgotten proposal number only from format 4, and a count of them only when it is one', () => {
    // Numbers are forgotten past numbersMax: here 3, so that 1 and 2 are forgotten by the fifth proposal.
    const opts = { registry: { numbersMax: 3 } };
    const state = new AgreedState(opts);
    [1, 2, 3, 4, 5].forEach((n, s) => state.apply({ slot: BigInt(s), ballot, value: { kind: 'batch', commands: [proposal(`p${n}`, n)] } }));
    const snap = state.snapshot();
    expect([snap.registry.forgottenAtOrBelow, snap.registry.forgottenCount]).toEqual([2n, 2]);
    // A format-3 file says nothing of a forgotten number (none was, before format 4), whatever fields it carries:
    // taken with them, a node would refuse numbers 1 and 2 where the log from slot 0 takes them.
    const asFormat3 = decodeStateSnapshotWithFormat(serialize({ format: 3, state: snap }));
    expect(asFormat3.format).toBe(3);
    expect([asFormat3.snapshot.registry.forgottenAtOrBelow, asFormat3.snapshot.registry.forgottenCount]).toEqual([undefined, undefined]);
    // Format 4 counts what it forgot as a whole number at or above 0 (GetLeaderboard adds it to the proposals).
    for (const count of [-1, 1.5, Number.NaN, 2 ** 53, '2']) {
      const bytes = serialize({ format: 4, state: { ...snap, registry: { ...snap.registry, forgottenCount: count } } });
      expect(() => decodeStateSnapshot(bytes)).toThrow(/of format 4 whose registry forgot .* proposal numbers/);
    }
    expect(new AgreedState(opts, decodeStateSnapshot(encodeStateSnapshot(snap))).registry.proposalCount).toBe(5);
  });
});

describe('a snapshot written before the registry\'s bounds (format 2)', () => {
  const formatTwo = (s: ReturnType<AgreedState['snapshot']>) => serialize({ format: 2, state: s });

  it('is taken when what it holds passes the bounds, its records cut to the bound in bytes as a node applying the log cuts them', () => {
    const entries = log(300);
    const applied = new AgreedState({ registry: { recordsBytesMax: 1000 } });
    for (const e of entries) applied.apply(e);
    // The same log under no bound in bytes, as a node before the bounds kept it.
    const before = new AgreedState({ registry: { recordsBytesMax: Number.MAX_SAFE_INTEGER } });
    for (const e of entries) before.apply(e);
    expect(before.registry.proposals(0n, 1000).filter((p) => !('forgotten' in p)).length).toBeGreaterThan(applied.registry.proposals(0n, 1000).filter((p) => !('forgotten' in p)).length);
    const { snapshot, format } = decodeStateSnapshotWithFormat(formatTwo(before.snapshot()));
    expect(format).toBe(2);
    const restored = new AgreedState({ registry: { recordsBytesMax: 1000 } }, snapshot);
    expect(restored.snapshot()).toEqual(applied.snapshot());
  });

  it('is refused when it holds what the bounds refuse, saying what', () => {
    const s = new AgreedState({ fromSlot: 1n }); // the rows below took effect in slot 0
    const wide = s.snapshot();
    const rows = Array.from({ length: 4097 }, (_, i) => ({ framework: `f${i}`, score: '1', pricePerPoint: '1', bid: '1', ask: '1', proposalNumber: 1n, slot: 0n }));
    expect(() => decodeStateSnapshot(formatTwo({ ...wide, registry: { ...wide.registry, rows } }))).toThrow(/format 2, from before the registry's bounds, holding what they refuse: its leaderboard holds 4097 frameworks, the limit is 4096/);
    const long = [{ framework: 'x'.repeat(65), score: '1', pricePerPoint: '1', bid: '1', ask: '1', proposalNumber: 1n, slot: 0n }];
    expect(() => decodeStateSnapshot(formatTwo({ ...wide, registry: { ...wide.registry, rows: long } }))).toThrow(/a leaderboard row: leaderboard\[0\]\.framework is 65 characters long/);
    expect(() => decodeStateSnapshot(serialize({ format: 5, state: wide }))).toThrow(/not a state snapshot of format 4, 3, 2, 1 \(format 5\)/);
    expect(() => decodeStateSnapshot(serialize({ format: 4, state: wide }))).toThrow(/format 4 without the highest proposal number its registry forgot/);
    expect(() => decodeStateSnapshot(serialize({ format: 1, state: { ...wide, registry: { ...wide.registry, rows } } }))).toThrow(/format 1, from before the registry's bounds/);
  });
});

describe('a snapshot written before claim certificates (format 1)', () => {
  // What a build from before the certificates applied: the same commands, none carrying verifiedBy,
  // and every claim recorded as checked by each acceptor holding its source (id mod 10).
  function claimLog(): ChosenEntry[] {
    return Array.from({ length: 30 }, (_, s) => {
      const v = encodeProposalValue(
        buildProposal({
          proposalNumber: BigInt(s),
          proposerId: 1,
          leaderboard: [{ framework: `f${s % 4}`, score: `${s}`, pricePerPoint: '1', bid: '1', ask: '2' }],
          claims: [{ source: s % 3, label: `11.a${s}`, field: 'jinv', claimedValue: '1' }],
        }),
      );
      return { slot: BigInt(s), ballot, value: { kind: 'batch', commands: [text(`c${s}`), { clientRequestId: `p${s}`, contentType: v.contentType, data: v.data }] } };
    });
  }

  it('is taken, its claims as the log gives them now (no certificate), so a node upgraded under retention has agreed state', () => {
    const entries = claimLog();
    const applied = new AgreedState({});
    for (const e of entries.slice(0, 20)) applied.apply(e);
    const now = applied.snapshot();
    expect(now.registry.records.every((r) => r.claims.length === 1 && r.claims[0]?.checkedBy.length === 0)).toBe(true);
    const holders = (source: number) => [source, source + 10, source + 20];
    const formatOne = { ...now, registry: { ...now.registry, records: now.registry.records.map((r) => ({ ...r, claims: r.claims.map((c) => ({ ...c, checkedBy: holders(c.claim.source) })) })) } };
    const { snapshot, format } = decodeStateSnapshotWithFormat(serialize({ format: 1, state: formatOne }));
    expect(format).toBe(1);
    const restored = new AgreedState({}, snapshot);
    expect(restored.snapshot()).toEqual(now);
    for (const e of entries.slice(20)) expect(restored.apply(e)).toEqual(applied.apply(e));
    expect(restored.snapshot()).toEqual(applied.snapshot());
  });

  it('is refused, saying so, when a proposal record lacks its claims', () => {
    const applied = new AgreedState({});
    for (const e of claimLog().slice(0, 3)) applied.apply(e);
    const s = applied.snapshot();
    const broken = { ...s, registry: { ...s.registry, records: s.registry.records.map((r) => ({ ...r, claims: undefined })) } };
    expect(() => decodeStateSnapshot(serialize({ format: 1, state: broken }))).toThrow(/format 1 with a proposal record without its claims/);
  });
});
