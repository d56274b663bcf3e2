import type { ChosenEntry } from '@paxos/consensus-core';
import { checkHistory, type NodeSlot, slotDigest } from './history-check';

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
    expect(r.figures).toEqual({ slots: 3, commands: 4, duplicateCopies: 1, acked: 2 });
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
});
