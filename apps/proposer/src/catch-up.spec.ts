import { type ChosenEntry, Quorum } from '@paxos/consensus-core';
import { type AcceptRequest, type AcceptResponse, RefusalKind, type SlotValue } from '@paxos/proto';
import { Observable } from 'rxjs';
import type { AcceptorLink } from './acceptor-link';
import { AcceptorCatchUp, type CatchUpOptions } from './catch-up';
import { AgreedState } from '@paxos/state-machine';
import { ChosenLog } from './chosen-log';

const ballot = { round: 1n, proposerId: 1 };
const entry = (slot: number): ChosenEntry => ({
  slot: BigInt(slot),
  ballot,
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: new Uint8Array(100) }] },
});

/** A link that records the commit notices catch-up sends (a slot each) and answers each request with the given committed index. */
type Notices = { commits: Array<{ slot: bigint; value?: SlotValue }> };
function fakeLink(nodeId: number, answer: (batch: Notices) => bigint) {
  const sent: Notices[] = [];
  const link = {
    nodeId,
    up: true,
    breaks: 0,
    accept(request: Omit<AcceptRequest, 'requestId'>): Observable<AcceptResponse> {
      if (request.accept) throw new Error('catch-up sent an accept');
      // One notice per slot, as the acceptor reads them.
      const batch = { commits: request.commits.flatMap((c) => Array.from({ length: Number(c.toSlot - c.fromSlot) }, (_, i) => ({ slot: c.fromSlot + BigInt(i), value: c.values[i] }))) };
      sent.push(batch);
      return new Observable<AcceptResponse>((s) => {
        const committedIndex = answer(batch);
        s.next({ requestId: 1n, outcome: { $case: 'committed', value: { committedIndex, durableCommittedIndex: committedIndex } } });
        s.complete();
      });
    },
  };
  return { link: link as unknown as AcceptorLink, sent };
}

function chosenLog(slots: number, retained: number): ChosenLog {
  const log = new ChosenLog({ retainedSlotsMax: retained, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) });
  log.learn(Array.from({ length: slots }, (_, i) => entry(i)));
  return log;
}

const options = (o: Partial<CatchUpOptions> = {}): CatchUpOptions => ({ batchSlots: 64, windowSlots: 2, bytesPerPass: 1 << 20, quorum: new Quorum(3), ...o });

describe('acceptor catch-up bookkeeping', () => {
  it('tells of every committed answer, and ignores other answers', () => {
    const told: string[] = [];
    const catchUp = new AcceptorCatchUp([], new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: () => 'd' }) }), options({ onCommitted: (node, index) => told.push(`${node}:${index}`) }));
    catchUp.noteReply(3, { requestId: 1n, outcome: { $case: 'committed', value: { committedIndex: 7n, durableCommittedIndex: 7n } } });
    catchUp.noteReply(4, { requestId: 2n, outcome: { $case: 'refused', value: { reason: 'false claim', kind: RefusalKind.REFUSAL_KIND_VALUE_CHECK } } });
    expect(told).toEqual(['3:7']);
    expect(catchUp.anyAhead()).toBe(true); // acceptor 3 knows 7 chosen slots, nothing delivered here
  });

  it('knows the quorum committed index from the durable reports as of the last pass: the q-th highest, never lower', () => {
    const catchUp = new AcceptorCatchUp([], chosenLog(0, 4), options({ quorum: new Quorum(5) }));
    catchUp.note(0, 50n, 50n);
    catchUp.note(1, 40n, 40n);
    catchUp.pass();
    expect(catchUp.quorumCommittedIndex).toBe(0n); // two reports of the three a quorum needs
    catchUp.note(2, 10n, 10n);
    catchUp.note(3, 30n, 30n);
    catchUp.pass();
    expect(catchUp.quorumCommittedIndex).toBe(30n);
    // A restarted acceptor reports less: what a quorum once committed durably stays so.
    catchUp.note(0, 5n, 5n);
    catchUp.pass();
    expect(catchUp.quorumCommittedIndex).toBe(30n);
  });

  it('counts the quorum committed index from what the acceptors hold synced, not from what a power loss may take', () => {
    const catchUp = new AcceptorCatchUp([], chosenLog(0, 4), options({ quorum: new Quorum(5) }));
    // Three acceptors know slots up to 90 chosen, but their histories are synced only to 20, 25, 60.
    catchUp.note(0, 90n, 20n);
    catchUp.note(1, 90n, 25n);
    catchUp.note(2, 90n, 60n);
    catchUp.pass();
    expect(catchUp.quorumCommittedIndex).toBe(20n);
    // A report without the durable index (a promise) changes nothing; one above the committed index counts as the committed index.
    catchUp.note(0, 95n);
    catchUp.note(3, 40n, 1000n);
    catchUp.pass();
    expect(catchUp.quorumCommittedIndex).toBe(25n); // durable 60, 40, 25, 20: the third highest
  });

  it('brings an acceptor behind the kept values up with values read from the histories, back to back', async () => {
    const log = chosenLog(2000, 4); // slots 0..1999 delivered, 1996..1999 kept in memory
    const reads: string[] = [];
    const readHistory = async (from: bigint, max: number) => {
      reads.push(`${from}+${max}`);
      return Array.from({ length: Math.min(max, Number(1996n - from)) }, (_, i) => entry(Number(from) + i));
    };
    // A restarted acceptor at index 2 that takes whatever it is sent, in order.
    let at = 2n;
    const { link, sent } = fakeLink(0, (b) => {
      if (b.commits[0]?.slot === at) at += BigInt(b.commits.length);
      return at;
    });
    const catchUp = new AcceptorCatchUp([link], log, options({ readHistory }));
    catchUp.pass(); // first sight of this acceptor: the latest slot, to learn where it is
    expect(sent.map((b) => b.commits.map((c) => c.slot))).toEqual([[1999n]]);
    catchUp.pass(); // below the kept values: read from history, batch after batch without another pass
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(at).toBe(1996n);
    catchUp.pass(); // within reach of the slots in flight: the next pass sends the kept ones
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(at).toBe(2000n);
    expect(reads[0]).toMatch(/^2\+/);
    expect(sent.slice(1).every((b) => b.commits.every((c) => c.value !== undefined))).toBe(true);
    const before = sent.length;
    catchUp.pass();
    expect(sent).toHaveLength(before); // level: nothing more
  });

  it('an acceptor within the kept values gets them from memory', () => {
    const log = chosenLog(10, 8);
    const { link, sent } = fakeLink(0, (b) => (b.commits[0]?.slot === 9n ? 3n : 10n));
    const catchUp = new AcceptorCatchUp([link], log, options());
    catchUp.pass();
    catchUp.pass();
    expect(sent.map((b) => [b.commits[0]?.slot, b.commits.length])).toEqual([
      [9n, 1],
      [3n, 7],
    ]);
  });

  it('sends about bytesPerPass of values a pass, and next time starts with the laggards it left', () => {
    const log = chosenLog(10, 10);
    const order: string[] = [];
    const links = [0, 1, 2].map((n) =>
      fakeLink(n, (b) => {
        order.push(`${n}:${b.commits.length}`);
        return 0n;
      }),
    );
    // A value is 100 data bytes plus its id and content type (112): two fit in 300 bytes. The
    // first slot to an acceptor always goes, so a pass may overshoot by one value.
    const catchUp = new AcceptorCatchUp(
      links.map((l) => l.link),
      log,
      options({ bytesPerPass: 300 }),
    );
    catchUp.pass(); // the latest slot to each: 336 bytes
    expect(order).toEqual(['0:1', '1:1', '2:1']);
    order.length = 0;
    catchUp.pass();
    expect(order).toEqual(['0:2', '1:1']);
    order.length = 0;
    catchUp.pass();
    expect(order).toEqual(['2:2', '0:1']);
  });

  it('takes no committed index past the last slot as a report (network input)', () => {
    const catchUp = new AcceptorCatchUp([], chosenLog(0, 4), options());
    catchUp.note(1, (1n << 64n) - 1n);
    expect(catchUp.committedOf(1)).toBeUndefined();
    catchUp.note(1, 7n);
    expect(catchUp.committedOf(1)).toBe(7n);
  });
});
