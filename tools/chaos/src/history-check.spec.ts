import type { ChosenEntry } from '@paxos/consensus-core';
import { AgreedState, type AgreedStateSnapshot } from '@paxos/state-machine';
import { checkHistory, type NodeSlot, slotDigest, stateFingerprint } from './history-check';

const ballot = { round: 1n, proposerId: 1 };
const slot = (s: number, ...ids: string[]): ChosenEntry => ({
  slot: BigInt(s),
  ballot,
  value: { kind: 'batch', commands: ids.map((id) => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(id) })) },
});
/** What an honest node reports of a log. */
function honest(log: ChosenEntry[]): NodeSlot[] {
  const seen = new Set<string>();
  return log.map((e) => ({
    slot: e.slot,
    valueDigest: slotDigest(e),
    effects: e.value.kind === 'batch' ? e.value.commands.map((c) => ({ id: c.clientRequestId, tookEffect: !seen.has(c.clientRequestId) && seen.add(c.clientRequestId) !== undefined })) : [],
  }));
}

describe('the chaos checker', () => {
  const log = [slot(0, 'a', 'b'), slot(1, 'c'), slot(2, 'a')];
  const base = { sent: new Set(['a', 'b', 'c']), acked: new Map([['a', 0n], ['c', 1n]]), log };

  it('passes an honest history, counting the harmless duplicate copy', () => {
    const r = checkHistory({ ...base, nodes: new Map([['proposer', honest(log)], ['acceptor 0', honest(log)]]) });
    expect(r.violations).toEqual([]);
    expect(r.figures).toEqual({ slots: 3, slotsInSnapshots: 0, snapshotsChecked: 0, commands: 4, duplicateCopies: 1, acked: 2 });
  });

  it('reports a node that applied a copy twice (sessions off), and the ack that names the second copy', () => {
    const noSessions: NodeSlot[] = honest(log).map((s) => ({ ...s, effects: s.effects.map((x) => ({ ...x, tookEffect: true })) }));
    const r = checkHistory({ ...base, acked: new Map([['a', 2n]]), nodes: new Map([['proposer', noSessions]]) });
    expect(r.violations.map((v) => v.kind).sort()).toEqual(['ack-not-at-first-slot', 'nodes-disagree-on-effect', 'took-effect-twice']);
  });

  it('reports lost acknowledgements, commands nobody sent, gaps and disagreeing values', () => {
    const forged = [slot(0, 'a', 'b'), slot(1, 'zz'), slot(3, 'b')];
    const other = honest(forged).map((s, i) => (i === 0 ? { ...s, valueDigest: 'x' } : s));
    const r = checkHistory({ sent: new Set(['a', 'b']), acked: new Map([['q', 5n]]), log: forged, nodes: new Map([['acceptor 1', other]]) });
    expect(new Set(r.violations.map((v) => v.kind))).toEqual(new Set(['gap', 'lost-ack', 'nobody-sent', 'nodes-disagree-on-value']));
  });

  describe('with retention (history dropped below state snapshots)', () => {
    const long = [slot(0, 'a'), slot(1, 'b'), slot(2, 'a'), slot(3, 'c'), slot(4, 'd'), slot(5, 'b')];
    const sent = new Set(['a', 'b', 'c', 'd']);
    const stateAt = (s: number, entries = long): AgreedStateSnapshot => {
      const st = new AgreedState({});
      for (const e of entries.slice(0, s)) st.apply(e);
      return st.snapshot();
    };
    const dropped = (node: string, keptFrom: number, snapshotSlot: number) => ({ node, from: 0n, keptFrom: BigInt(keptFrom), snapshotSlot: BigInt(snapshotSlot) });
    const tail = long.slice(3);

    it('passes slots no node serves when an OUT_OF_RANGE answer names a snapshot above them, taking first slots from its sessions', () => {
      const r = checkHistory({
        sent,
        acked: new Map([['a', 0n], ['b', 1n], ['d', 4n]]),
        log: tail,
        upTo: 6n,
        nodes: new Map([['acceptor 0', honest(long).slice(3)]]),
        outOfRange: [dropped('acceptor 0', 3, 3)],
        snapshots: new Map([['acceptor 0', stateAt(3)], ['acceptor 1', stateAt(5)]]),
      });
      expect(r.violations).toEqual([]);
      expect(r.figures).toMatchObject({ slots: 6, slotsInSnapshots: 3, snapshotsChecked: 1, duplicateCopies: 1 });
    });

    it('reports dropped slots that no answer covers, and an answer naming a snapshot below its slot', () => {
      const r = checkHistory({ sent, acked: new Map(), log: tail, upTo: 6n, nodes: new Map(), outOfRange: [dropped('acceptor 0', 3, 0)], snapshots: new Map([['acceptor 0', stateAt(3)]]) });
      expect(new Set(r.violations.map((v) => v.kind))).toEqual(new Set(['gap', 'out-of-range-uncovered']));
    });

    it('reports a snapshot whose state is not the one the log gives at its slot', () => {
      const other = [slot(0, 'a'), slot(1, 'b'), slot(2, 'c')];
      const r = checkHistory({ sent, acked: new Map(), log: long, nodes: new Map(), snapshots: new Map([['acceptor 2', stateAt(3, other)]]) });
      expect(r.violations.map((v) => v.kind)).toEqual(['nodes-disagree-on-state']);
    });

    it('reports a snapshot whose value keys are not those of the values that took effect', () => {
      const good = stateAt(3);
      const keys = good.sessions.valueKeys ?? [];
      const wrong = { ...good, sessions: { ...good.sessions, valueKeys: keys.map((k, i) => (i === 0 ? (k + 1) % 2 ** 48 : k)) } };
      const r = checkHistory({ sent, acked: new Map(), log: long, nodes: new Map(), snapshots: new Map([['acceptor 2', wrong]]) });
      expect(r.violations.map((v) => v.kind)).toEqual(['nodes-disagree-on-state']);
    });

    it('reports an id that took effect below the snapshot and again above it, and an ack of the second copy', () => {
      const again = honest(long).slice(3).map((s) => (s.slot === 5n ? { ...s, effects: [{ id: 'b', tookEffect: true }] } : s));
      const r = checkHistory({
        sent,
        acked: new Map([['b', 5n]]),
        log: tail,
        upTo: 6n,
        nodes: new Map([['acceptor 0', again]]),
        outOfRange: [dropped('acceptor 0', 3, 3)],
        snapshots: new Map([['acceptor 0', stateAt(3)]]),
      });
      expect(r.violations.map((v) => v.kind).sort()).toEqual(['ack-not-at-first-slot', 'nodes-disagree-on-effect']);
    });

    it('takes a state restored from a snapshot for the same state (the fingerprint does not depend on how it was built)', () => {
      expect(stateFingerprint(new AgreedState({}, stateAt(4)).snapshot())).toBe(stateFingerprint(stateAt(4)));
      expect(stateFingerprint(stateAt(4))).not.toBe(stateFingerprint(stateAt(5)));
    });

    it('reports a snapshot holding an id no client sent', () => {
      const r = checkHistory({ sent: new Set(['b', 'c', 'd']), acked: new Map(), log: tail, upTo: 6n, nodes: new Map(), outOfRange: [dropped('proposer 1', 3, 3)], snapshots: new Map([['acceptor 0', stateAt(3)]]) });
      expect(r.violations.map((v) => v.kind)).toContain('nobody-sent');
    });
  });
});
