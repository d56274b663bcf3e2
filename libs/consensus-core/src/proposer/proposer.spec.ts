import type { AcceptedEntry } from '../acceptor-types';
import { AcceptorCore } from '../acceptor';
import { BALLOT_ROUND_WIRE_MAX, ballotEquals, ballotProblem, type Ballot } from '../ballot';
import { Quorum } from '../quorum';
import { NOOP, type Command, commandWireBytes, type SlotValue } from '../value';
import { ProposerCore } from './proposer';
import type { ProposerConfig, ProposerMessage, ProposerOutput } from './proposer-types';

const cmd = (id: string, size = 1): Command => ({ clientRequestId: id, contentType: 't', data: new Uint8Array(size) });
const batch = (...ids: string[]): SlotValue => ({ kind: 'batch', commands: ids.map((id) => cmd(id)) });
/** A batch built by the proposer run `origin`. */
const batchFrom = (origin: bigint, ...ids: string[]): SlotValue => ({ kind: 'batch', commands: ids.map((id) => cmd(id)), origin });
const b = (round: bigint, proposerId: number): Ballot => ({ round, proposerId });

function proposer(n = 3, over: Partial<ProposerConfig> = {}): ProposerCore {
  return new ProposerCore({
    proposerId: 1,
    quorum: new Quorum(n),
    acceptorIds: Array.from({ length: n }, (_, i) => i),
    random: () => 0.5,
    ...over,
  });
}

function out(o: ProposerOutput | { rejected: string }): ProposerOutput {
  if ('rejected' in o) throw new Error(`rejected: ${o.rejected}`);
  return o;
}

const accepts = (msgs: readonly ProposerMessage[]) =>
  msgs.flatMap((m) => (m.type === 'accept' && m.to === 0 ? [{ slot: m.slot, value: m.value, ballot: m.ballot }] : []));

function promise(p: ProposerCore, from: number, accepted: AcceptedEntry[] = [], extra: { truncated?: boolean; committedIndex?: bigint } = {}) {
  return p.handle({ type: 'promise', from, ballot: p.ballot, accepted, truncated: extra.truncated ?? false, committedIndex: extra.committedIndex ?? 0n });
}

/** Make `p` leader with empty promises from acceptors 0..q-1. */
function lead(p: ProposerCore, q: number, first: Command = cmd('c0')): ProposerOutput {
  out(p.submit(first));
  let last: ProposerOutput = { messages: [], chosen: [], ownChosen: [], failed: [], ended: [] };
  for (let i = 0; i < q; i++) last = promise(p, i);
  expect(p.isLeader).toBe(true);
  return last;
}

describe('the proposer (DESIGN section 4)', () => {
  it('a leader that steps down runs phase 1 again: at once for its slots in flight, else when asked to lead', () => {
    const busy = proposer(3);
    lead(busy, 2, cmd('a'));
    const before = busy.ballot;
    const o = busy.stepDown();
    expect(busy.isLeader).toBe(false);
    expect(o.messages.filter((m) => m.type === 'prepare')).toHaveLength(3);
    expect(busy.ballot.round > before.round).toBe(true);

    const idle = proposer(3);
    lead(idle, 2, cmd('b'));
    idle.handle({ type: 'accepted', from: 0, ballot: idle.ballot, slot: 0n });
    idle.handle({ type: 'accepted', from: 1, ballot: idle.ballot, slot: 0n });
    expect(idle.inFlightSlots).toBe(0);
    expect(idle.stepDown().messages).toEqual([]);
    expect(idle.isLeader).toBe(false);
    expect(idle.lead().messages.filter((m) => m.type === 'prepare')).toHaveLength(3);
  });

  it('a command queued again because its slot was decided with another value is proposed at the next tick', () => {
    // Found by the node-level simulator: a leader learned its in-flight slot chosen with another
    // proposer's value; the command went back to the queue with no event to send it, and the
    // client's retries (same id, already queued) submitted nothing new.
    const p = proposer(3, { windowSlots: 1 });
    const o = lead(p, 2, cmd('mine'));
    expect(accepts(o.messages)).toEqual([{ slot: 0n, value: batch('mine'), ballot: p.ballot }]);
    p.learnChosen({ slot: 0n, ballot: b(99n, 2), value: batch('theirs') });
    expect(p.pendingCommands).toBe(1);
    expect(p.inFlightSlots).toBe(0);
    expect(accepts(p.tick().messages)).toEqual([{ slot: 1n, value: batch('mine'), ballot: p.ballot }]);
  });

  it('says which chosen slots hold a value it built itself, chosen by it or learned from elsewhere', () => {
    const p = proposer(3, { windowSlots: 2 });
    lead(p, 2, cmd('mine'));
    out(p.submit(cmd('second')));
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 0n });
    const chose = p.handle({ type: 'accepted', from: 1, ballot: p.ballot, slot: 0n });
    expect([chose.chosen.map((e) => e.slot), chose.ownChosen]).toEqual([[0n], [0n]]);
    // Slot 1 holds its own batch and is learned from an acceptor: its own; another value there is not.
    expect(p.learnChosen({ slot: 1n, ballot: b(99n, 2), value: batch('second') })).toBe(true);
    expect(p.learnChosen({ slot: 2n, ballot: b(99n, 2), value: batch('theirs') })).toBe(false);
  });

  it('puts its origin in the batches it builds: the same commands built by another proposer are not its own value', () => {
    // Found by the real-process reads test: a command chosen through one proposer and retried
    // through another; both built a batch of that command alone, and both answered duplicate=false.
    const p = proposer(3, { windowSlots: 2, origin: 7n });
    const o = lead(p, 2, cmd('mine'));
    expect(accepts(o.messages)).toEqual([{ slot: 0n, value: batchFrom(7n, 'mine'), ballot: p.ballot }]);
    out(p.submit(cmd('twice')));
    expect(p.learnChosen({ slot: 1n, ballot: b(99n, 2), value: batchFrom(8n, 'twice') })).toBe(false);
    // Its own batch finished by another proposer under that proposer's ballot (a leader change) stays its own.
    expect(p.learnChosen({ slot: 0n, ballot: b(99n, 2), value: batchFrom(7n, 'mine') })).toBe(true);
  });

  it('a queued command an adopted value carries goes back to the queue when that slot is decided otherwise', () => {
    // Phase 1 adopts another proposer's value carrying a command this proposer's client waits
    // for; a later proposer that never saw that value chooses a no-op there. The command must
    // not be lost: it is proposed again.
    const p = proposer(3, { windowSlots: 1, origin: 7n });
    lead(p, 2, cmd('first'));
    const first = p.ballot;
    out(p.submit(cmd('x')));
    const theirs = { slot: 1n, ballot: b(first.round + 5n, first.proposerId + 1), value: batchFrom(8n, 'x') };
    p.handle({ type: 'reject', from: 0, promised: theirs.ballot, ballot: first, slot: 0n });
    for (let i = 0; i < 1000 && ballotEquals(p.ballot, first); i++) p.tick();
    for (const from of [0, 1]) promise(p, from, [theirs]);
    expect(p.pendingCommands).toBe(0); // carried by the adopted value in slot 1
    p.learnChosen({ slot: 0n, ballot: p.ballot, value: batchFrom(7n, 'first') });
    p.learnChosen({ slot: 1n, ballot: b(first.round + 9n, first.proposerId + 2), value: NOOP });
    expect(p.pendingCommands).toBe(1);
    const sent: SlotValue[] = [];
    for (let i = 0; i < 100 && sent.length === 0; i++) sent.push(...accepts(p.tick().messages).map((a) => a.value));
    expect(sent).toContainEqual(batchFrom(7n, 'x'));
  });

  it('its batch is its own by origin, even after its plan for the slot was given up (another proposer finished it)', () => {
    const p = proposer(3, { windowSlots: 1, origin: 7n });
    lead(p, 2, cmd('mine'));
    const first = p.ballot;
    p.handle({ type: 'reject', from: 0, promised: b(first.round + 5n, first.proposerId + 1), ballot: first, slot: 0n });
    for (let i = 0; i < 1000 && ballotEquals(p.ballot, first); i++) p.tick();
    // The next phase 1 hears slot 0 is committed: the plan goes, the value is learned later.
    for (const from of [0, 1]) promise(p, from, [], { committedIndex: 1n });
    expect(p.learnChosen({ slot: 0n, ballot: b(first.round + 5n, first.proposerId + 1), value: batchFrom(7n, 'mine') })).toBe(true);
  });

  it('a carried command that took effect in another slot is not queued again when its own slot loses', () => {
    const p = proposer(3, { windowSlots: 1, origin: 7n });
    lead(p, 2, cmd('first'));
    const first = p.ballot;
    out(p.submit(cmd('x')));
    const rival = b(first.round + 5n, first.proposerId + 1);
    p.handle({ type: 'reject', from: 0, promised: rival, ballot: first, slot: 0n });
    for (let i = 0; i < 1000 && ballotEquals(p.ballot, first); i++) p.tick();
    for (const from of [0, 1]) promise(p, from, [{ slot: 1n, ballot: rival, value: batchFrom(8n, 'x') }, { slot: 2n, ballot: rival, value: batchFrom(9n, 'x', 'y') }]);
    p.learnChosen({ slot: 0n, ballot: p.ballot, value: batchFrom(7n, 'first') });
    p.learnChosen({ slot: 2n, ballot: rival, value: batchFrom(9n, 'x', 'y') });
    p.learnChosen({ slot: 1n, ballot: rival, value: NOOP });
    expect(p.pendingCommands).toBe(0);
  });

  it('a queued command an adopted value far beyond the round\'s plan carries stays queued', () => {
    const p = proposer(3, { windowSlots: 1, origin: 7n });
    out(p.submit(cmd('x')));
    const far = { slot: 100_000n, ballot: b(1n, 2), value: batchFrom(8n, 'x') };
    p.lead();
    for (const from of [0, 1]) promise(p, from, [{ slot: 0n, ballot: b(1n, 2), value: batchFrom(8n, 'z') }, far]);
    // Slot 0 (adopted) fills the window; the far slot is not planned this round, so x waits in the queue.
    expect(p.pendingCommands).toBe(1);
  });

  it('a proposer starts phase 1 at its initial round, preparing every acceptor', () => {
    const p = proposer(3, { initialRound: 7n });
    const o = out(p.submit(cmd('a')));
    expect(o.messages).toEqual([0, 1, 2].map((to) => ({ type: 'prepare', to, ballot: b(7n, 1), fromSlot: 0n })));
    expect(p.isLeader).toBe(false);
  });

  it('a proposer adopts the value with the highest accepted ballot (not its own)', () => {
    const p = proposer(3);
    out(p.submit(cmd('mine')));
    promise(p, 0, [{ slot: 0n, ballot: b(1n, 2), value: batch('low') }]);
    const o = promise(p, 1, [{ slot: 0n, ballot: b(1n, 3), value: batch('high') }]);
    expect(accepts(o.messages)).toEqual([
      { slot: 0n, value: batch('high'), ballot: p.ballot },
      { slot: 1n, value: batch('mine'), ballot: p.ballot },
    ]);
  });

  it('a proposer fills holes with no-ops', () => {
    const p = proposer(3);
    out(p.submit(cmd('mine')));
    promise(p, 0);
    const o = promise(p, 2, [{ slot: 2n, ballot: b(1n, 2), value: batch('x') }]);
    expect(accepts(o.messages).map((a) => [a.slot, a.value])).toEqual([
      [0n, NOOP],
      [1n, NOOP],
      [2n, batch('x')],
      [3n, batch('mine')],
    ]);
  });

  it('says how each round ended, and is the only one that counts: quorum, unreachable once, rejected', () => {
    const p = proposer(5, { acceptFanout: 5 });
    out(p.submit(cmd('a')));
    promise(p, 0);
    promise(p, 1);
    const ballot = p.ballot;
    expect(promise(p, 2).ended).toEqual([{ phase: 'prepare', ballot, outcome: 'quorum', yes: 3, no: 0, refused: 0 }]);
    // Slot 0: two acceptors fail, then a third: 2 of 5 can answer, 3 needed.
    expect(p.handle({ type: 'unreachable', from: 0, ballot, slot: 0n }).ended).toEqual([]);
    expect(p.handle({ type: 'unreachable', from: 1, ballot, slot: 0n }).ended).toEqual([]);
    expect(p.handle({ type: 'unreachable', from: 2, ballot, slot: 0n }).ended).toEqual([{ phase: 'accept', ballot, slot: 0n, outcome: 'unreachable', yes: 0, no: 3, refused: 0 }]);
    // Reported once, not on every later failure; the round is kept, and completes once a quorum answers.
    expect(p.handle({ type: 'unreachable', from: 3, ballot, slot: 0n }).ended).toEqual([]);
    for (const from of [0, 1]) expect(p.handle({ type: 'accepted', from, ballot, slot: 0n }).ended).toEqual([]);
    const chosen = p.handle({ type: 'accepted', from: 4, ballot, slot: 0n });
    expect(chosen.chosen.map((c) => c.slot)).toEqual([0n]);
    expect(chosen.ended).toEqual([{ phase: 'accept', ballot, slot: 0n, outcome: 'quorum', yes: 3, no: 2, refused: 0 }]);
    // A higher promise ends every round in flight as rejected.
    out(p.submit(cmd('b')));
    const rejected = p.handle({ type: 'reject', from: 3, promised: b(ballot.round + 5n, 2), ballot, slot: 1n });
    expect(rejected.ended).toEqual([{ phase: 'accept', ballot, slot: 1n, outcome: 'rejected', yes: 0, no: 0, refused: 0 }]);
  });

  it('an unreachable round says how many of its no answers were refusals', () => {
    const p = proposer(5, { acceptFanout: 5 });
    out(p.submit(cmd('a')));
    for (const from of [0, 1, 2]) promise(p, from);
    const ballot = p.ballot;
    for (const from of [0, 1]) expect(p.handle({ type: 'refused', from, ballot, slot: 0n, reason: 'false claim' }).ended).toEqual([]);
    expect(p.handle({ type: 'unreachable', from: 2, ballot, slot: 0n }).ended).toEqual([{ phase: 'accept', ballot, slot: 0n, outcome: 'unreachable', yes: 0, no: 3, refused: 2 }]);
  });

  it('a value is chosen only on a quorum of accepted for the same ballot and slot', () => {
    const p = proposer(5);
    lead(p, 3);
    const ballot = p.ballot;
    expect(p.handle({ type: 'accepted', from: 0, ballot, slot: 0n }).chosen).toEqual([]);
    expect(p.handle({ type: 'accepted', from: 0, ballot, slot: 0n }).chosen).toEqual([]);
    expect(p.handle({ type: 'accepted', from: 1, ballot: b(ballot.round - 1n, 1), slot: 0n }).chosen).toEqual([]);
    expect(p.handle({ type: 'accepted', from: 1, ballot, slot: 1n }).chosen).toEqual([]);
    expect(p.handle({ type: 'accepted', from: 1, ballot, slot: 0n }).chosen).toEqual([]);
    const o = p.handle({ type: 'accepted', from: 2, ballot, slot: 0n });
    expect(o.chosen).toEqual([{ slot: 0n, ballot, value: batch('c0') }]);
    // commit to all: voters without the value, the others with it
    const commits = o.messages.filter((m) => m.type === 'commit');
    expect(commits.map((m) => [m.to, m.type === 'commit' && m.value !== undefined])).toEqual([
      [0, false],
      [1, false],
      [2, false],
      [3, true],
      [4, true],
    ]);
  });

  it('an answer to its own earlier ballot (accepted, refused, failed) counts nothing in the round of its current ballot', () => {
    // A late answer of an earlier ballot is about another request, maybe for another value: it is
    // no vote, no refusal of this value, and no failure of this round.
    function proposingAgain(): { p: ProposerCore; old: Ballot } {
      const p = proposer(3, { backoffTicksMin: 1, backoffTicksMax: 1 });
      lead(p, 2, cmd('a'));
      const old = p.ballot;
      p.handle({ type: 'reject', from: 2, promised: b(old.round, 2), ballot: old, slot: 0n });
      for (let i = 0; i < 10 && ballotEquals(p.ballot, old); i++) p.tick();
      promise(p, 0);
      expect(accepts(promise(p, 1).messages)).toEqual([{ slot: 0n, value: batch('a'), ballot: p.ballot }]);
      expect(p.ballot.round).toBeGreaterThan(old.round);
      return { p, old };
    }
    const voted = proposingAgain();
    expect(voted.p.handle({ type: 'accepted', from: 0, ballot: voted.old, slot: 0n }).chosen).toEqual([]);
    expect(voted.p.handle({ type: 'accepted', from: 1, ballot: voted.p.ballot, slot: 0n }).chosen).toEqual([]);
    expect(voted.p.handle({ type: 'accepted', from: 2, ballot: voted.p.ballot, slot: 0n }).chosen.map((e) => e.slot)).toEqual([0n]);

    const refused = proposingAgain();
    for (const from of [0, 1]) {
      const o = refused.p.handle({ type: 'refused', from, ballot: refused.old, slot: 0n, reason: 'false claim' });
      expect([o.failed, o.ended, o.messages]).toEqual([[], [], []]);
    }
    expect(refused.p.isLeader).toBe(true);

    const failed = proposingAgain();
    for (const from of [0, 1]) {
      const o = failed.p.handle({ type: 'unreachable', from, ballot: failed.old, slot: 0n });
      expect([o.ended, o.messages]).toEqual([[], []]);
    }
    expect(failed.p.handle({ type: 'accepted', from: 0, ballot: failed.p.ballot, slot: 0n }).chosen).toEqual([]);
    expect(failed.p.handle({ type: 'accepted', from: 1, ballot: failed.p.ballot, slot: 0n }).ended).toEqual([
      { phase: 'accept', ballot: failed.p.ballot, slot: 0n, outcome: 'quorum', yes: 2, no: 0, refused: 0 },
    ]);
  });

  it('a reject moves the ballot above the promised one, after a randomised back-off', () => {
    const p = proposer(3, { backoffTicksMin: 3, backoffTicksMax: 3 });
    lead(p, 2);
    const ours = p.ballot;
    p.handle({ type: 'reject', from: 1, promised: b(7n, 9), ballot: ours, slot: 0n });
    expect(p.isLeader).toBe(false);
    expect(p.tick().messages).toEqual([]);
    expect(p.tick().messages).toEqual([]);
    const o = p.tick();
    expect(o.messages.filter((m) => m.type === 'prepare').map((m) => m.ballot)).toEqual([b(8n, 1), b(8n, 1), b(8n, 1)]);
  });

  it('a rejection carrying a ballot above the wire ceiling is not chased (no overflow, no crash)', () => {
    const p = proposer(3);
    out(p.submit(cmd('a')));
    const before = p.ballot;
    p.handle({ type: 'reject', from: 0, promised: b((1n << 64n) - 1n, 16), ballot: before });
    for (let i = 0; i < 200; i++) p.tick();
    expect(p.ballot.round).toBeLessThan(1n << 62n);
    promise(p, 1);
    promise(p, 2);
    expect(p.isLeader).toBe(true);
  });

  it('a reject for an older ballot, or carrying its own ballot (a duplicate prepare), is ignored', () => {
    const p = proposer(3);
    lead(p, 2);
    p.handle({ type: 'reject', from: 1, promised: p.ballot, ballot: p.ballot });
    p.handle({ type: 'reject', from: 1, promised: b(99n, 2), ballot: b(0n, 1) });
    expect(p.isLeader).toBe(true);
  });

  it('the stable leader skips phase 1 for new slots', () => {
    const p = proposer(3);
    lead(p, 2);
    const o = out(p.submit(cmd('next')));
    expect(o.messages.some((m) => m.type === 'prepare')).toBe(false);
    expect(accepts(o.messages)).toEqual([{ slot: 1n, value: batch('next'), ballot: p.ballot }]);
  });

  it('batching puts several commands in one slot, bounded by count and bytes', () => {
    const p = proposer(3, { batchCommandsMax: 3, batchBytesMax: 100 });
    for (const id of ['a', 'b', 'c', 'd']) out(p.submit(cmd(id)));
    promise(p, 0);
    const o = promise(p, 1);
    expect(accepts(o.messages).map((a) => a.value)).toEqual([batch('a', 'b', 'c'), batch('d')]);
    // 34 bytes on the wire each (8 of data, id, content type, 24 of framing): two fit in 80.
    const q = proposer(3, { batchBytesMax: 80 });
    for (const id of ['a', 'b', 'c']) out(q.submit(cmd(id, 8)));
    promise(q, 0);
    expect(accepts(promise(q, 1).messages).map((a) => a.value.kind === 'batch' && a.value.commands.length)).toEqual([2, 1]);
  });

  it('batching counts commands in the bytes they take on the wire (UTF-8, with their framing), not UTF-16 units', () => {
    // 12 units each, 54 bytes on the wire: eight of these fit 200 bytes by units, three by wire bytes.
    const wide = (i: number): Command => ({ clientRequestId: `${i}${'漢'.repeat(9)}`, contentType: 't', data: new Uint8Array(1) });
    const p = proposer(3, { batchCommandsMax: 8, batchBytesMax: 200 });
    for (let i = 0; i < 8; i++) out(p.submit(wide(i)));
    promise(p, 0);
    const sizes = accepts(promise(p, 1).messages).map((a) => (a.value.kind === 'batch' ? a.value.commands.length : 0));
    expect(sizes).toEqual([3, 3, 2]);
    const FRAMING = 24;
    expect(commandWireBytes(wide(0))).toBe(1 + 27 + 1 + 1 + FRAMING);
    // A pair of surrogates is one four-byte character; a certificate's ids count too.
    expect(commandWireBytes({ clientRequestId: '😀', contentType: 't', data: new Uint8Array(0) })).toBe(5 + FRAMING);
    expect(commandWireBytes({ clientRequestId: 'a', contentType: 't', data: new Uint8Array(0), verifiedBy: [0, 10, 20] })).toBe(2 + FRAMING + 3 * 5);
  });

  it('the window bounds slots in flight', () => {
    const p = proposer(3, { windowSlots: 2, batchCommandsMax: 1 });
    lead(p, 2);
    for (const id of ['a', 'b', 'c']) out(p.submit(cmd(id)));
    expect(p.inFlightSlots).toBe(2);
    expect(p.pendingCommands).toBe(2);
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 0n });
    const o = p.handle({ type: 'accepted', from: 1, ballot: p.ballot, slot: 0n });
    expect(accepts(o.messages)).toEqual([{ slot: 2n, value: batch('b'), ballot: p.ballot }]);
    expect(p.inFlightSlots).toBe(2);
  });

  it('the window bounds the slots phase 1 planned as well: adopted values and holes wait their turn', () => {
    const p = proposer(3, { windowSlots: 2 });
    out(p.submit(cmd('mine')));
    promise(p, 0, [0n, 1n, 3n].map((slot) => ({ slot, ballot: b(1n, 2), value: batch(`s${slot}`) })));
    const o = promise(p, 1);
    expect(accepts(o.messages).map((a) => a.slot)).toEqual([0n, 1n]);
    expect(p.inFlightSlots).toBe(2);
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 0n });
    const next = p.handle({ type: 'accepted', from: 1, ballot: p.ballot, slot: 0n });
    expect(accepts(next.messages)).toEqual([{ slot: 2n, value: NOOP, ballot: p.ballot }]);
    expect(p.inFlightSlots).toBe(2);
  });

  it('with partialSlotsMax 1 a partial batch waits while a slot is in flight; a full batch does not', () => {
    const p = proposer(3, { windowSlots: 4, batchCommandsMax: 3, partialSlotsMax: 1 });
    lead(p, 2);
    expect(p.inFlightSlots).toBe(1);
    expect(accepts(out(p.submit(cmd('a'))).messages)).toEqual([]);
    expect(accepts(out(p.submit(cmd('b'))).messages)).toEqual([]);
    expect(accepts(out(p.submit(cmd('c'))).messages)).toEqual([{ slot: 1n, value: batch('a', 'b', 'c'), ballot: p.ballot }]);
    out(p.submit(cmd('d')));
    expect(p.pendingCommands).toBe(1);
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 0n });
    expect(accepts(p.handle({ type: 'accepted', from: 1, ballot: p.ballot, slot: 0n }).messages)).toEqual([]);
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 1n });
    const o = p.handle({ type: 'accepted', from: 1, ballot: p.ballot, slot: 1n });
    expect(accepts(o.messages)).toEqual([{ slot: 2n, value: batch('d'), ballot: p.ballot }]);
  });

  it('submitAll queues commands that arrive together into one batch and reports each refusal', () => {
    const p = proposer(3, { windowSlots: 4, batchCommandsMax: 3, pendingCommandsMax: 3 });
    lead(p, 2);
    const r = p.submitAll([cmd('a'), cmd('b'), cmd('c'), cmd('d')]);
    expect(accepts(r.output.messages)).toEqual([{ slot: 1n, value: batch('a', 'b', 'c'), ballot: p.ballot }]);
    expect(r.rejected.map((x) => [x.command.clientRequestId, x.reason])).toEqual([['d', expect.stringMatching(/queue full/)]]);
  });

  it('by default (partialSlotsMax = window) every free slot takes what is queued', () => {
    const p = proposer(3, { windowSlots: 4, batchCommandsMax: 3 });
    lead(p, 2);
    expect(accepts(out(p.submit(cmd('a'))).messages)).toEqual([{ slot: 1n, value: batch('a'), ballot: p.ballot }]);
  });

  it('a queue beyond pendingCommandsMax, or a command over the value bound, is refused', () => {
    const p = proposer(3, { pendingCommandsMax: 2, batchBytesMax: 50 });
    out(p.submit(cmd('a')));
    out(p.submit(cmd('b')));
    expect(p.submit(cmd('c'))).toEqual({ rejected: expect.stringMatching(/queue full/) });
    expect(proposer(3, { batchBytesMax: 50 }).submit(cmd('big', 100))).toEqual({ rejected: expect.stringMatching(/batchBytesMax/) });
  });

  it('a command whose slot phase 1 reveals another value goes back to the queue', () => {
    const p = proposer(3, { backoffTicksMin: 1, backoffTicksMax: 1 });
    lead(p, 2, cmd('mine'));
    p.handle({ type: 'reject', from: 0, promised: b(5n, 2), ballot: p.ballot, slot: 0n });
    const o = p.tick();
    expect(o.messages.some((m) => m.type === 'prepare')).toBe(true);
    promise(p, 0, [{ slot: 0n, ballot: b(5n, 2), value: batch('theirs') }]);
    const r = promise(p, 1);
    expect(accepts(r.messages).map((a) => [a.slot, a.value])).toEqual([
      [0n, batch('theirs')],
      [1n, batch('mine')],
    ]);
  });

  it('a retried command that phase 1 finds in an adopted value is not proposed a second time', () => {
    // A crashed proposer's accept of 'retry' sits at one acceptor; the client retried here.
    const p = proposer(3);
    out(p.submit(cmd('retry')));
    promise(p, 0, [{ slot: 0n, ballot: b(1n, 2), value: batch('retry', 'other') }]);
    const o = promise(p, 1);
    expect(accepts(o.messages)).toEqual([{ slot: 0n, value: batch('retry', 'other'), ballot: p.ballot }]);
    expect(p.pendingCommands).toBe(0);
  });

  it('a queued command chosen in a slot learned from elsewhere is dropped, not proposed again', () => {
    const p = proposer(3, { windowSlots: 1 });
    lead(p, 2); // slot 0 in flight fills the window: what comes next waits in the queue
    out(p.submit(cmd('queued')));
    out(p.submit(cmd('later')));
    expect(p.pendingCommands).toBe(2);
    p.learnChosen({ slot: 5n, ballot: b(1n, 2), value: batch('queued') });
    expect(p.pendingCommands).toBe(1);
  });

  it('a truncated promise makes the proposer prepare again from the truncation point with a higher ballot', () => {
    const p = proposer(3);
    out(p.submit(cmd('mine')));
    const first = p.ballot;
    promise(p, 0, [{ slot: 0n, ballot: b(1n, 2), value: batch('x') }], { truncated: true });
    const o = promise(p, 1);
    // only slot 0 is known: the own command must wait for slots above it
    expect(accepts(o.messages).map((a) => a.slot)).toEqual([0n]);
    p.handle({ type: 'accepted', from: 0, ballot: first, slot: 0n });
    const c = p.handle({ type: 'accepted', from: 1, ballot: first, slot: 0n });
    const prepares = c.messages.filter((m) => m.type === 'prepare');
    expect(prepares.length).toBe(3);
    expect(prepares[0].type === 'prepare' && prepares[0].fromSlot).toBe(1n);
    expect(p.ballot.round > first.round).toBe(true);
  });

  it('slots below an acceptor\'s committed prefix are never proposed again', () => {
    const p = proposer(3);
    out(p.submit(cmd('mine')));
    promise(p, 0, [], { committedIndex: 4n });
    const o = promise(p, 1, [{ slot: 2n, ballot: b(1n, 2), value: batch('old') }]);
    expect(accepts(o.messages).map((a) => a.slot)).toEqual([4n]);
  });

  it('retransmits accepts after retransmitTicks, and retries phase 1 with a new ballot', () => {
    const p = proposer(3, { retransmitTicks: 2 });
    out(p.submit(cmd('a')));
    const first = p.ballot;
    p.tick();
    const retry = p.tick();
    expect(retry.messages.filter((m) => m.type === 'prepare').length).toBe(3);
    expect(p.ballot.round).toBe(first.round + 1n);
    promise(p, 0);
    promise(p, 1);
    p.handle({ type: 'accepted', from: 0, ballot: p.ballot, slot: 0n });
    p.tick();
    const resend = p.tick();
    expect(resend.messages.map((m) => [m.type, m.to])).toEqual([
      ['accept', 1],
      ['accept', 2],
    ]);
  });

  it('a value refused by a quorum of the acceptors\' checks fails its command', () => {
    const p = proposer(3);
    lead(p, 2, cmd('bad'));
    p.handle({ type: 'refused', from: 0, ballot: p.ballot, slot: 0n, reason: 'false claim' });
    const o = p.handle({ type: 'refused', from: 1, ballot: p.ballot, slot: 0n, reason: 'false claim' });
    expect(o.failed).toEqual([{ clientRequestId: 'bad', reason: 'false claim' }]);
    expect(o.messages.some((m) => m.type === 'prepare')).toBe(true);
  });

  it('a slot learned as chosen elsewhere requeues a command it displaced', () => {
    const p = proposer(3);
    lead(p, 2, cmd('mine'));
    p.learnChosen({ slot: 0n, ballot: b(9n, 2), value: batch('theirs') });
    expect(p.inFlightSlots).toBe(0);
    expect(p.pendingCommands).toBe(1);
  });

  it('proposer and acceptors together choose every submitted command', () => {
    const acceptors = [0, 1, 2].map(() => new AcceptorCore({}));
    const p = proposer(3, { batchCommandsMax: 2 });
    const chosen: string[] = [];
    const queue: ProposerMessage[] = [];
    const run = (o: ProposerOutput) => {
      queue.push(...o.messages);
      for (const e of o.chosen) if (e.value.kind === 'batch') chosen.push(...e.value.commands.map((c) => c.clientRequestId));
    };
    for (const id of ['a', 'b', 'c', 'd', 'e']) run(out(p.submit(cmd(id))));
    for (let guard = 0; queue.length > 0 && guard < 1000; guard++) {
      const m = queue.shift() as ProposerMessage;
      const from = m.to;
      if (m.type === 'commit') continue;
      const step = acceptors[from].handle(m.type === 'prepare' ? { type: 'prepare', ballot: m.ballot, fromSlot: m.fromSlot } : { type: 'accept', ballot: m.ballot, slot: m.slot, value: m.value });
      const r = step.reply;
      if (r.type === 'promise') run(p.handle({ type: 'promise', from, ballot: r.ballot, accepted: r.accepted, truncated: r.truncated, committedIndex: r.committedIndex }));
      if (r.type === 'accepted') run(p.handle({ type: 'accepted', from, ballot: r.ballot, slot: r.slot }));
    }
    expect(chosen.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('the proposer bounds its planning', () => {
  it('a report far above the free slots is reached in bounded rounds, holes and all', () => {
    const p = proposer(3, { windowSlots: 4096 * 3 });
    out(p.submit(cmd('mine')));
    promise(p, 0, [{ slot: 5000n, ballot: b(1n, 2), value: batch('far') }]);
    const o = promise(p, 1);
    expect(accepts(o.messages).length).toBe(4096);
    expect(p.nextSlot).toBe(4096n);
  });
  describe('thrifty phase 2 (acceptFanout below n)', () => {
    const acceptTargets = (o: ProposerOutput) => o.messages.flatMap((m) => (m.type === 'accept' ? [m.to] : []));

    it('sends an accept to a quorum first, one more for each failure or refusal, and every acceptor after fanoutExpandTicks', () => {
      const p = proposer(5, { acceptFanout: 3, fanoutExpandTicks: 2, retransmitTicks: 10 });
      const first = lead(p, 3);
      expect(acceptTargets(first)).toEqual([0, 1, 2]);
      const ballot = p.ballot;
      expect(acceptTargets(p.handle({ type: 'unreachable', from: 1, ballot, slot: 0n }))).toEqual([3]);
      expect(acceptTargets(p.handle({ type: 'refused', from: 2, ballot, slot: 0n, reason: 'false claim' }))).toEqual([4]);
      expect(acceptTargets(p.tick())).toEqual([]);
      expect(acceptTargets(p.tick())).toEqual([]); // everyone has been asked already
    });

    it('asks the rest after fanoutExpandTicks without a quorum; spared acceptors get the value with the commit', () => {
      const p = proposer(5, { acceptFanout: 3, fanoutExpandTicks: 2, retransmitTicks: 10 });
      lead(p, 3);
      const ballot = p.ballot;
      p.handle({ type: 'accepted', from: 0, ballot, slot: 0n });
      expect(acceptTargets(p.tick())).toEqual([]);
      expect(acceptTargets(p.tick())).toEqual([3, 4]);
      p.handle({ type: 'accepted', from: 1, ballot, slot: 0n });
      const chosen = p.handle({ type: 'accepted', from: 3, ballot, slot: 0n });
      expect(chosen.chosen.map((c) => c.slot)).toEqual([0n]);
      const commits = chosen.messages.filter((m) => m.type === 'commit');
      expect(commits.map((m) => [m.to, m.type === 'commit' && m.value !== undefined, m.type === 'commit' && m.asked])).toEqual([
        [0, false, undefined],
        [1, false, undefined],
        [2, true, true],
        [3, false, undefined],
        [4, true, true],
      ]);
    });

    it('an acceptor that failed is asked last by the next slots until it answers, and the spared set moves every 64 slots', () => {
      const p = proposer(5, { acceptFanout: 3, windowSlots: 1 });
      lead(p, 3);
      const ballot = p.ballot;
      p.handle({ type: 'unreachable', from: 0, ballot, slot: 0n });
      for (const from of [1, 2]) p.handle({ type: 'accepted', from, ballot, slot: 0n });
      out(p.submit(cmd('c1')));
      const next = p.handle({ type: 'accepted', from: 3, ballot, slot: 0n });
      expect(acceptTargets(next)).toEqual([1, 2, 3]);
      // Answering a commit notice shows it is back: asked first again.
      p.handle({ type: 'committed', from: 0, committedIndex: 1n });
      out(p.submit(cmd('c2')));
      for (const from of [1, 2]) p.handle({ type: 'accepted', from, ballot, slot: 1n });
      expect(acceptTargets(p.handle({ type: 'accepted', from: 3, ballot, slot: 1n }))).toEqual([0, 1, 2]);
      // Slot 64 starts the next run of slots: acceptors 3, 4, 0.
      const far = proposer(5, { acceptFanout: 3, windowSlots: 1 });
      out(far.submit(cmd('late')));
      let o: ProposerOutput = { messages: [], chosen: [], ownChosen: [], failed: [], ended: [] };
      for (let i = 0; i < 3; i++) o = promise(far, i, [], { committedIndex: 64n });
      expect(o.messages.flatMap((m) => (m.type === 'accept' ? [[m.slot, m.to]] : []))).toEqual([
        [64n, 3],
        [64n, 4],
        [64n, 0],
      ]);
    });

    it('a retransmit on the tick that would widen the round sends each acceptor one accept', () => {
      const p = proposer(5, { acceptFanout: 3, fanoutExpandTicks: 2, retransmitTicks: 2 });
      lead(p, 3);
      p.tick();
      expect(acceptTargets(p.tick())).toEqual([0, 1, 2, 3, 4]);
    });

    it('with acceptFanout = n (the default) every acceptor is asked at once, in id order', () => {
      const p = proposer(5);
      expect(acceptTargets(lead(p, 3))).toEqual([0, 1, 2, 3, 4]);
    });

    it('refuses a fanout below the quorum', () => {
      expect(() => proposer(5, { acceptFanout: 2 })).toThrow(/acceptFanout must be 3..5/);
    });
  });
});

describe('the end of the log', () => {
  it('is a condition, not an assertion: after promises whose committed index is slotMax, commands past the last slot wait', () => {
    const p = proposer(3);
    const prep = out(p.submit(cmd('a'))).messages.find((m) => m.type === 'prepare');
    if (prep?.type !== 'prepare') throw new Error('expected a prepare');
    const slotMax = 1n << 62n;
    for (const from of [0, 1]) {
      expect(() => p.handle({ type: 'promise', from, ballot: prep.ballot, accepted: [], truncated: false, committedIndex: slotMax })).not.toThrow();
    }
    for (const id of ['b', 'c', 'd']) expect(() => p.submit(cmd(id))).not.toThrow();
  });
});

describe('the ballot round ceiling (DESIGN section 12, "The ballot ceiling")', () => {
  const top = BALLOT_ROUND_WIRE_MAX;
  /** Every ballot the proposer sends in these outputs, checked to be one an acceptor takes. */
  const sentAbove = (outputs: readonly ProposerOutput[]) =>
    outputs.flatMap((o) => o.messages).filter((m) => m.type !== 'commit' && ballotProblem(m.ballot) !== undefined);

  it('more than n - q acceptors promised a ballot it cannot pass: it stops, names them, and sends nothing above the ceiling, then nothing at all', () => {
    // The reviewer's reproduction: one prepare at (2^62, 16) promised by every acceptor; the
    // proposer then asked for round 2^62 + 1 for ever, every acceptor refusing it INVALID_ARGUMENT.
    const p = proposer(5, { retransmitTicks: 3, backoffTicksMin: 1, backoffTicksMax: 2 });
    lead(p, 3);
    const mine = p.ballot;
    const outputs: ProposerOutput[] = [];
    const rival = b(top, 16);
    for (const from of [0, 1]) outputs.push(p.handle({ type: 'reject', from, promised: rival, ballot: mine, slot: 0n }));
    expect(p.ceiling).toBeUndefined(); // two of five: the other three can still make a quorum
    outputs.push(p.handle({ type: 'reject', from: 2, promised: rival, ballot: mine, slot: 0n }));
    expect(p.ceiling).toEqual({ proposerId: 1, promises: [0, 1, 2].map((acceptor) => ({ acceptor, promised: rival })) });
    expect(p.isLeader).toBe(false);
    expect(outputs.flatMap((o) => o.ended).some((e) => e.phase === 'accept' && e.slot === 0n)).toBe(true);
    for (let i = 0; i < 50; i++) outputs.push(p.tick(), p.lead(), p.stepDown(), out(p.submit(cmd(`late${i}`))));
    expect(sentAbove(outputs)).toEqual([]);
    expect(outputs.slice(3).flatMap((o) => o.messages)).toEqual([]);
    expect(p.quiescent).toBe(true);
  });

  it('a promise at the ceiling from a minority is a no, not a ballot to move above: the others still make a quorum', () => {
    const p = proposer(5, { retransmitTicks: 3 });
    const first = out(p.submit(cmd('a')));
    const ballot = p.ballot;
    const outputs: ProposerOutput[] = [first];
    outputs.push(p.handle({ type: 'reject', from: 0, promised: b(top, 16), ballot }));
    // Above the ceiling too (a promise written before acceptors refused such rounds).
    outputs.push(p.handle({ type: 'reject', from: 1, promised: b(top + 5n, 0), ballot }));
    expect(p.ceiling).toBeUndefined();
    for (const from of [2, 3, 4]) outputs.push(promise(p, from));
    expect(p.isLeader).toBe(true);
    expect(p.ballot).toEqual(ballot);
    for (let i = 0; i < 20; i++) outputs.push(p.tick());
    expect(sentAbove(outputs)).toEqual([]);
    expect(p.ceiling).toBeUndefined();
  });

  it('a phase 1 whose ballot is already at the ceiling stops rather than ask for one above it', () => {
    const p = proposer(3, { retransmitTicks: 2, backoffTicksMin: 1, backoffTicksMax: 1 });
    lead(p, 2);
    // A rival just below the ceiling: the proposer moves to (2^62, 1), the highest ballot it may use.
    p.handle({ type: 'reject', from: 0, promised: b(top - 1n, 16), ballot: p.ballot, slot: 0n });
    const outputs: ProposerOutput[] = [];
    for (let i = 0; i < 10 && p.ballot.round !== top; i++) outputs.push(p.tick());
    expect(p.ballot).toEqual(b(top, 1));
    // Its promises are lost: a retry would need (2^62 + 1, 1).
    for (let i = 0; i < 10; i++) outputs.push(p.tick());
    expect(sentAbove(outputs)).toEqual([]);
    expect(p.ceiling).toEqual({ proposerId: 1, promises: [], exhausted: b(top, 1) });
  });

  it('counts only configured acceptors toward the n - q that blocks it', () => {
    const p = proposer(3);
    const ballot = out(p.submit(cmd('a'))).messages[0]?.ballot as Ballot;
    for (const from of [7, -1, 1e9]) p.handle({ type: 'reject', from, promised: b(top, 16), ballot });
    expect(p.ceiling).toBeUndefined();
  });

  it('a higher proposer id passes a rival at the ceiling at the ceiling round', () => {
    const p = proposer(3, { proposerId: 17 });
    const ballot = out(p.submit(cmd('a'))).messages[0]?.ballot as Ballot;
    p.handle({ type: 'reject', from: 0, promised: b(top, 16), ballot });
    const outputs: ProposerOutput[] = [];
    for (let i = 0; i < 1000 && p.ballot.round !== top; i++) outputs.push(p.tick());
    expect(p.ballot).toEqual(b(top, 17));
    expect(p.ceiling).toBeUndefined();
    expect(sentAbove(outputs)).toEqual([]);
  });

  it('late rejects of an earlier ballot that name its own ballot at the ceiling do not block it', () => {
    // Leading at a wall-clock ballot with accepts in flight; a rival at (2^62, 16) moves it to
    // (2^62, 17), which a quorum promises; then the old accepts' answers arrive, each naming
    // (2^62, 17) as the promise: its own ballot, not a rival's it cannot pass.
    const p = proposer(3, { proposerId: 17, windowSlots: 4, backoffTicksMin: 1, backoffTicksMax: 1 });
    lead(p, 3);
    out(p.submit(cmd('y')));
    const old = p.ballot;
    p.handle({ type: 'reject', from: 0, promised: b(top, 16), ballot: old, slot: 0n });
    for (let i = 0; i < 1000 && p.ballot.round !== top; i++) p.tick();
    const mine = p.ballot;
    expect(mine).toEqual(b(top, 17));
    for (const from of [1, 2]) promise(p, from);
    expect(p.isLeader).toBe(true);
    for (const from of [1, 2]) p.handle({ type: 'reject', from, promised: mine, ballot: old, slot: 1n });
    expect(p.ceiling).toBeUndefined();
    expect(p.isLeader).toBe(true);
  });
});
