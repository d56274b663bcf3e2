import { AcceptorCore } from '../acceptor';
import type { AcceptorRequest } from '../acceptor-types';
import { formatBallot, type Ballot } from '../ballot';
import { DEFAULT_LIMITS, type Limits } from '../limits';
import { Quorum } from '../quorum';
import { slotValueKey, type Command, type SlotValue } from '../value';
import { ProposerCore } from './proposer';
import type { ProposerConfig, ProposerEvent, ProposerMessage, ProposerOutput } from './proposer-types';

// Scenarios built message by message against real acceptor cores: each delivers, drops or holds
// back exactly the messages that make a wrong proposer report a value chosen that the acceptors
// never chose (the seeded simulator reaches these interleavings only rarely). Every value a
// proposer reports chosen is checked against every other report of its slot, and against what a
// quorum of acceptors accepted under one ballot.

const cmd = (id: string): Command => ({ clientRequestId: id, contentType: 't', data: new Uint8Array(1) });
const describeValue = (v: SlotValue): string => (v.kind === 'noop' ? 'noop' : v.commands.map((c) => c.clientRequestId).join('+'));

interface Sent {
  readonly proposer: number;
  readonly message: ProposerMessage;
}

/** A reply on its way back to the proposer that sent the request. */
interface Answer {
  readonly proposer: number;
  readonly event: ProposerEvent;
}

type Match = (m: ProposerMessage) => boolean;

class Cluster {
  readonly acceptors: AcceptorCore[];
  readonly proposers = new Map<number, ProposerCore>();
  /** Requests sent and not yet delivered, in the order they were sent. */
  private pending: Sent[] = [];
  /** Every report of a chosen value: slot -> "value by proposer under ballot". */
  private readonly reports = new Map<bigint, Array<{ key: string; who: string }>>();
  /** Every vote an acceptor cast, kept to check each report rests on a quorum of them. */
  private readonly votes = new Map<string, Set<number>>();

  constructor(
    readonly n: number,
    limits: Limits = DEFAULT_LIMITS,
  ) {
    this.acceptors = Array.from({ length: n }, () => new AcceptorCore({ limits }));
  }

  addProposer(proposerId: number, over: Partial<ProposerConfig> = {}): ProposerCore {
    const p = new ProposerCore({
      proposerId,
      quorum: new Quorum(this.n),
      acceptorIds: Array.from({ length: this.n }, (_, i) => i),
      random: () => 0,
      backoffTicksMin: 1,
      backoffTicksMax: 1,
      ...over,
    });
    this.proposers.set(proposerId, p);
    return p;
  }

  proposer(id: number): ProposerCore {
    const p = this.proposers.get(id);
    if (p === undefined) throw new Error(`no proposer ${id}`);
    return p;
  }

  submit(id: number, ...ids: string[]): void {
    for (const c of ids) {
      const o = this.proposer(id).submit(cmd(c));
      if ('rejected' in o) throw new Error(`rejected: ${o.rejected}`);
      this.post(id, o);
    }
  }

  tick(id: number): void {
    this.post(id, this.proposer(id).tick());
  }

  post(id: number, o: ProposerOutput): void {
    for (const message of o.messages) this.pending.push({ proposer: id, message });
    for (const e of o.chosen) {
      const list = this.reports.get(e.slot) ?? [];
      list.push({ key: slotValueKey(e.value), who: `${describeValue(e.value)} by proposer ${id} under ${formatBallot(e.ballot)}` });
      this.reports.set(e.slot, list);
    }
  }

  /** The pending requests of `id` that match, left pending. */
  peek(id: number, match: Match): ProposerMessage[] {
    return this.pending.filter((s) => s.proposer === id && match(s.message)).map((s) => s.message);
  }

  /** Removes and returns the pending requests of `id` that match. */
  take(id: number, match: Match): ProposerMessage[] {
    const taken = this.pending.filter((s) => s.proposer === id && match(s.message)).map((s) => s.message);
    this.pending = this.pending.filter((s) => !(s.proposer === id && match(s.message)));
    return taken;
  }

  drop(id: number, match: Match): void {
    this.take(id, match);
  }

  /** Delivers the matching requests to their acceptors and returns the answers without handing them back. */
  hold(id: number, match: Match): Answer[] {
    const answers: Answer[] = [];
    for (const m of this.take(id, match)) {
      const event = this.step(m);
      if (event !== null) answers.push({ proposer: id, event });
    }
    return answers;
  }

  /** Delivers the matching requests and hands every answer back to the proposer at once. */
  deliver(id: number, match: Match): void {
    this.answer(this.hold(id, match));
  }

  answer(answers: readonly Answer[]): void {
    for (const a of answers) this.post(a.proposer, this.proposer(a.proposer).handle(a.event));
  }

  private step(m: ProposerMessage): ProposerEvent | null {
    const req: AcceptorRequest =
      m.type === 'prepare'
        ? { type: 'prepare', ballot: m.ballot, fromSlot: m.fromSlot }
        : m.type === 'accept'
          ? { type: 'accept', ballot: m.ballot, slot: m.slot, value: m.value }
          : { type: 'commit', slot: m.slot, ballot: m.ballot, ...(m.value === undefined ? {} : { value: m.value }) };
    const from = m.to;
    const r = this.acceptors[from].handle(req).reply;
    switch (r.type) {
      case 'promise':
        return { type: 'promise', from, ballot: r.ballot, accepted: r.accepted, truncated: r.truncated, committedIndex: r.committedIndex };
      case 'reject':
        return { type: 'reject', from, promised: r.promised, ballot: m.ballot, ...(m.type === 'accept' ? { slot: m.slot } : {}) };
      case 'accepted': {
        const key = `${r.slot}/${formatBallot(r.ballot)}/${m.type === 'accept' ? slotValueKey(m.value) : ''}`;
        const voters = this.votes.get(key) ?? new Set<number>();
        voters.add(from);
        this.votes.set(key, voters);
        return { type: 'accepted', from, ballot: r.ballot, slot: r.slot };
      }
      case 'refused':
        return m.type === 'accept' ? { type: 'refused', from, ballot: m.ballot, slot: m.slot, reason: r.reason } : null;
      case 'committed':
        return { type: 'committed', from, committedIndex: r.committedIndex };
      case 'invalid':
        throw new Error(`acceptor ${from} found a request invalid: ${r.reason}`);
    }
  }

  /** Every request delivered and answered in order, ticks between, until nothing is left to do. */
  settle(): void {
    for (let round = 0; round < 500; round++) {
      while (this.pending.length > 0) {
        const s = this.pending.shift() as Sent;
        const event = this.step(s.message);
        if (event !== null) this.answer([{ proposer: s.proposer, event }]);
      }
      const busy = [...this.proposers.values()].some((p) => p.pendingCommands > 0 || p.inFlightSlots > 0 || !p.quiescent);
      if (!busy) return;
      for (const id of this.proposers.keys()) this.tick(id);
    }
    throw new Error('the cluster did not settle');
  }

  /** The value reported chosen in a slot (the first report). */
  chosen(slot: bigint): string | undefined {
    return this.reports.get(slot)?.[0]?.who.split(' by ')[0];
  }

  /**
   * Agreement: the reports of each slot name one value. And each report rests on a quorum of
   * votes for that value under the ballot it names.
   */
  violations(): string[] {
    const out: string[] = [];
    const q = Math.floor(this.n / 2) + 1;
    for (const [slot, list] of this.reports) {
      if (new Set(list.map((r) => r.key)).size > 1) out.push(`agreement: slot ${slot} reported chosen as ${list.map((r) => r.who).join(', and as ')}`);
      for (const r of list) {
        const ballot = r.who.split(' under ')[1];
        const voters = this.votes.get(`${slot}/${ballot}/${r.key}`)?.size ?? 0;
        if (voters < q) out.push(`quorum: slot ${slot} reported chosen as ${r.who} on ${voters} votes for it under that ballot`);
      }
    }
    return out;
  }
}

const prepare = (m: ProposerMessage): boolean => m.type === 'prepare';
const to =
  (...ids: number[]) =>
  (m: ProposerMessage): boolean =>
    ids.includes(m.to);
const accept =
  (slot?: bigint) =>
  (m: ProposerMessage): boolean =>
    m.type === 'accept' && (slot === undefined || m.slot === slot);
const both =
  (a: Match, b: Match) =>
  (m: ProposerMessage): boolean =>
    a(m) && b(m);
const all = (): boolean => true;
/** "slot:value" of each accept, once per slot. */
const slotsAndValues = (ms: readonly ProposerMessage[]): string[] => [...new Set(ms.map((m) => (m.type === 'accept' ? `${m.slot}:${describeValue(m.value)}` : m.type)))];

/** Ticks proposer `id` until its ballot has moved past `from` (a back-off after a reject, then phase 1). */
function preparesAgain(c: Cluster, id: number, from: Ballot): void {
  for (let i = 0; i < 50 && c.proposer(id).ballot.round === from.round; i++) c.tick(id);
  expect(c.proposer(id).ballot.round).toBeGreaterThan(from.round);
}

describe('a phase 2 round counts only the accepted answers of its own ballot', () => {
  it('a late Accepted from an earlier ballot of the same proposer, for a value it no longer proposes, does not make that slot chosen', () => {
    // 5 acceptors, quorum 3. Proposer 1 proposes a at ballot 1.1 in slot 0; acceptors 0 and 4
    // accept it, and their answers are held back. Proposer 2 prepares 1.2 on acceptors 1, 2, 3
    // and gets b accepted at acceptor 2 only. Proposer 1, rejected, prepares 2.1 on acceptors
    // 1, 2, 3, adopts b (acceptor 2's vote at 1.2), and acceptor 1 accepts it. Now the two late
    // answers for 1.1 arrive: with the one real vote for b at 2.1 they make three, but they are
    // votes for a at another ballot. Counted, proposer 1 would report b chosen; then proposer 3
    // prepares on acceptors 0, 3, 4, finds a at 1.1 as the highest vote, and gets a chosen.
    const c = new Cluster(5);
    c.addProposer(1, { initialRound: 1n });
    c.addProposer(2, { initialRound: 1n });
    c.addProposer(3, { initialRound: 3n });

    c.submit(1, 'a');
    const first = c.proposer(1).ballot;
    c.deliver(1, both(prepare, to(0, 3, 4)));
    expect(c.proposer(1).isLeader).toBe(true);
    c.drop(1, both(prepare, to(1, 2)));
    const late = c.hold(1, both(accept(0n), to(0, 4)));
    expect(late.map((a) => a.event.type)).toEqual(['accepted', 'accepted']);
    c.drop(1, both(accept(0n), to(1, 2)));

    c.submit(2, 'b');
    c.deliver(2, both(prepare, to(1, 2, 3)));
    expect(c.proposer(2).isLeader).toBe(true);
    c.deliver(2, both(accept(0n), to(2)));
    c.drop(2, all);

    // Proposer 1's accept reaches acceptor 3, which promised 1.2: rejected, it prepares again above.
    c.deliver(1, both(accept(0n), to(3)));
    expect(c.proposer(1).isLeader).toBe(false);
    preparesAgain(c, 1, first);
    c.deliver(1, both(prepare, to(1, 2, 3)));
    c.drop(1, prepare);
    expect(c.proposer(1).isLeader).toBe(true);
    expect(c.peek(1, accept(0n)).map((m) => m.type === 'accept' && describeValue(m.value))).toEqual(['b', 'b', 'b', 'b', 'b']);
    c.deliver(1, both(accept(0n), to(1)));

    // The answers for 1.1 arrive late.
    c.answer(late);
    expect(c.violations()).toEqual([]);
    expect(c.chosen(0n)).toBeUndefined();

    // Proposer 3 prepares on acceptors 0, 3, 4: their highest vote in slot 0 is a at 1.1.
    c.drop(1, all);
    c.submit(3, 'c');
    c.deliver(3, both(prepare, to(0, 3, 4)));
    c.drop(3, prepare);
    c.deliver(3, both(accept(0n), to(0, 3, 4)));
    expect(c.chosen(0n)).toBe('a');
    expect(c.violations()).toEqual([]);

    // Everything delivered from here: every command chosen once, one value per slot.
    c.settle();
    expect(c.violations()).toEqual([]);
    expect([0n, 1n, 2n].map((s) => c.chosen(s)).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a late Accepted from an earlier ballot, for the same value, is not a vote of the current round either', () => {
    // Proposer 1 proposes a at 1.1 in slot 0, acceptor 0 accepts (answer held back). Rejected by
    // 1.2 (promised by acceptor 1 and 2), it prepares 2.1 and sends a again. One vote at 2.1 and
    // the late one at 1.1 are two answers but not a quorum of one ballot: nothing is chosen yet.
    const c = new Cluster(3);
    c.addProposer(1, { initialRound: 1n });
    c.addProposer(2, { initialRound: 1n });
    c.submit(1, 'a');
    const first = c.proposer(1).ballot;
    c.deliver(1, both(prepare, to(0, 1)));
    c.drop(1, prepare);
    const late = c.hold(1, both(accept(0n), to(0)));
    c.drop(1, both(accept(0n), to(2)));
    c.submit(2, 'b');
    c.deliver(2, both(prepare, to(1, 2)));
    c.drop(2, all);
    // Proposer 1's accept reaches acceptor 1, which promised 1.2: rejected, it prepares again above.
    c.deliver(1, both(accept(0n), to(1)));
    preparesAgain(c, 1, first);
    c.deliver(1, both(prepare, to(1, 2)));
    c.drop(1, prepare);
    expect(slotsAndValues(c.peek(1, accept()))).toEqual(['0:a']);
    c.deliver(1, both(accept(0n), to(2)));
    c.answer(late);
    expect(c.violations()).toEqual([]);
    expect(c.chosen(0n)).toBeUndefined();
  });
});

describe('a truncated promise: the proposer knows nothing at or past its cut', () => {
  // 3 acceptors, quorum 2, at most 2 entries per promise. Proposer 2 got c0..c3 chosen in slots
  // 0-3 by acceptors 0 and 2 (no commit notice delivered, so nobody's committed index moved), and
  // acceptor 1 accepted c0 in slot 0 and c5, c6 in slots 5 and 6. Proposer 1 then prepares on
  // acceptors 0 and 1: acceptor 0 promises slots 0 and 1, cut at 2; acceptor 1 promises slots 0
  // and 5, cut at 6. Only slots below the lowest cut are known: proposing anything in slot 2, 3
  // or 4 (a no-op in a slot no promise reported) would contradict a chosen value.
  const limits: Limits = { ...DEFAULT_LIMITS, entriesPerPromiseMax: 2 };

  function history(): Cluster {
    const c = new Cluster(3, limits);
    c.addProposer(2, { initialRound: 1n, batchCommandsMax: 1 });
    c.addProposer(1, { initialRound: 2n, batchCommandsMax: 1 });
    c.submit(2, 'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6');
    c.deliver(2, both(prepare, to(0, 1)));
    c.drop(2, prepare);
    expect(c.proposer(2).inFlightSlots).toBe(7);
    for (const s of [0n, 1n, 2n, 3n]) c.deliver(2, both(accept(s), to(0, 2)));
    for (const s of [0n, 5n, 6n]) c.deliver(2, both(accept(s), to(1)));
    c.drop(2, all);
    expect([0n, 1n, 2n, 3n].map((s) => c.chosen(s))).toEqual(['c0', 'c1', 'c2', 'c3']);
    return c;
  }

  it.each([
    ['the shorter cut first', [0, 1]],
    ['the longer cut first', [1, 0]],
  ])('takes the lowest cut of all its promises (%s)', (_order, order) => {
    const c = history();
    c.submit(1, 'x');
    for (const from of order) c.deliver(1, both(prepare, to(from)));
    c.drop(1, prepare);
    expect(c.proposer(1).isLeader).toBe(true);
    // Only slots 0 and 1 are known: their adopted values go out, nothing above.
    expect(slotsAndValues(c.peek(1, accept()))).toEqual(['0:c0', '1:c1']);
    c.deliver(1, both(accept(), to(0, 1)));
    expect(c.violations()).toEqual([]);
    // Once they are chosen, it prepares again from slot 2 with a higher ballot.
    expect(c.peek(1, prepare).map((m) => m.type === 'prepare' && m.fromSlot)).toEqual([2n, 2n, 2n]);
    c.settle();
    expect(c.violations()).toEqual([]);
    expect([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].map((s) => c.chosen(s))).toEqual(['c0', 'c1', 'c2', 'c3', expect.any(String), 'c5', 'c6', expect.any(String)]);
  });

  it('does not send its own earlier plan for the slot at the cut', () => {
    // Proposer 1 planned x0..x2 in slots 0-2 at 1.1, none accepted. Proposer 2 got y0..y2 chosen
    // there at 1.2 (acceptors 1 and 2) and y3 accepted in slot 3 at acceptor 1. Proposer 1, rejected,
    // prepares 2.1 on acceptors 0 and 1: acceptor 1's promise reports slots 0 and 1, cut at 2.
    // Its own plan for slot 2 is past what it knows: x2 must not go out until a phase 1 covers it.
    const c = new Cluster(3, limits);
    c.addProposer(1, { initialRound: 1n, batchCommandsMax: 1 });
    c.addProposer(2, { initialRound: 1n, batchCommandsMax: 1 });
    c.submit(1, 'x0', 'x1', 'x2');
    const first = c.proposer(1).ballot;
    c.deliver(1, both(prepare, to(0, 1)));
    c.drop(1, prepare);
    expect(c.proposer(1).inFlightSlots).toBe(3);
    const stale = c.take(1, both(accept(), (m) => !(m.to === 1 && m.type === 'accept' && m.slot === 0n)));
    c.submit(2, 'y0', 'y1', 'y2', 'y3');
    c.deliver(2, both(prepare, to(1, 2)));
    c.drop(2, prepare);
    for (const s of [0n, 1n, 2n]) c.deliver(2, both(accept(s), to(1, 2)));
    c.deliver(2, both(accept(3n), to(1)));
    c.drop(2, all);
    expect([0n, 1n, 2n].map((s) => c.chosen(s))).toEqual(['y0', 'y1', 'y2']);
    // One of proposer 1's accepts reaches acceptor 1: rejected, it prepares again.
    expect(stale).toHaveLength(8);
    c.deliver(1, both(accept(0n), to(1)));
    preparesAgain(c, 1, first);
    c.deliver(1, both(prepare, to(0, 1)));
    c.drop(1, prepare);
    expect(c.proposer(1).isLeader).toBe(true);
    expect(slotsAndValues(c.peek(1, accept()))).toEqual(['0:y0', '1:y1']);
    c.settle();
    expect(c.violations()).toEqual([]);
    expect(c.chosen(2n)).toBe('y2');
    expect(c.chosen(3n)).toBe('y3');
    expect([4n, 5n, 6n].map((s) => c.chosen(s)).sort()).toEqual(['x0', 'x1', 'x2']);
  });
});
