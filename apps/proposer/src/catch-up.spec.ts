import type { ChosenEntry } from '@paxos/consensus-core';
import type { AcceptRequest, AcceptResponse } from '@paxos/proto';
import { Observable } from 'rxjs';
import type { AcceptorLink } from './acceptor-link';
import { AcceptorCatchUp, type CatchUpOptions } from './catch-up';
import { ChosenLog } from './chosen-log';

const ballot = { round: 1n, proposerId: 1 };
const entry = (slot: number): ChosenEntry => ({
  slot: BigInt(slot),
  ballot,
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: new Uint8Array(100) }] },
});

/** A link that records what catch-up sends and answers each CommitBatch with the given committed index. */
function fakeLink(nodeId: number, answer: (batch: Extract<AcceptRequest['kind'], { $case: 'commits' }>['value']) => bigint) {
  const sent: Array<Extract<AcceptRequest['kind'], { $case: 'commits' }>['value']> = [];
  const link = {
    nodeId,
    up: true,
    breaks: 0,
    accept(kind: NonNullable<AcceptRequest['kind']>): Observable<AcceptResponse> {
      if (kind.$case !== 'commits') throw new Error(`unexpected ${kind.$case}`);
      sent.push(kind.value);
      return new Observable<AcceptResponse>((s) => {
        s.next({ requestId: 1n, outcome: { $case: 'committed', value: { committedIndex: answer(kind.value) } } });
        s.complete();
      });
    },
  };
  return { link: link as unknown as AcceptorLink, sent };
}

function chosenLog(slots: number, retained: number): ChosenLog {
  const log = new ChosenLog({ retainedSlotsMax: retained, retainedBytesMax: 1 << 20, rememberedIdsMax: 1024, digest: () => 'd' });
  log.learn(Array.from({ length: slots }, (_, i) => entry(i)));
  return log;
}

const options = (o: Partial<CatchUpOptions> = {}): CatchUpOptions => ({ batchSlots: 64, windowSlots: 2, bytesPerPass: 1 << 20, ...o });

describe('acceptor catch-up bookkeeping', () => {
  it('tells of every committed answer, and ignores other answers', () => {
    const told: string[] = [];
    const catchUp = new AcceptorCatchUp([], new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, rememberedIdsMax: 16, digest: () => 'd' }), options({ onCommitted: (node, index) => told.push(`${node}:${index}`) }));
    catchUp.noteReply(3, { requestId: 1n, outcome: { $case: 'committed', value: { committedIndex: 7n } } });
    catchUp.noteReply(4, { requestId: 2n, outcome: { $case: 'refused', value: { reason: 'false claim' } } });
    expect(told).toEqual(['3:7']);
    expect(catchUp.anyAhead()).toBe(true); // acceptor 3 knows 7 chosen slots, nothing delivered here
  });

  it('moves an acceptor that is behind the kept values past them (chosen_below) and sends the values it keeps', () => {
    const log = chosenLog(10, 4); // slots 0..9 delivered, 6..9 kept
    expect(log.oldestSlot).toBe(6n);
    // Like a restarted acceptor at index 2: chosen_below moves it, then the values carry it to the end.
    const { link, sent } = fakeLink(0, (b) => (b.chosenBelow > 0n ? b.chosenBelow + BigInt(b.commits.length) : 2n));
    const catchUp = new AcceptorCatchUp([link], log, options());
    catchUp.pass(); // first sight of this acceptor: the latest slot, to learn where it is
    expect(sent.map((b) => [b.chosenBelow, b.commits.map((c) => c.slot)])).toEqual([[0n, [9n]]]);
    catchUp.pass();
    expect(sent).toHaveLength(2);
    expect(sent[1]?.chosenBelow).toBe(6n);
    expect(sent[1]?.commits.map((c) => [c.slot, c.value !== undefined])).toEqual([
      [6n, true],
      [7n, true],
      [8n, true],
      [9n, true],
    ]);
    catchUp.pass();
    catchUp.pass();
    expect(sent).toHaveLength(2); // it answered 10: caught up
  });

  it('an acceptor within the kept values gets them without chosen_below', () => {
    const log = chosenLog(10, 8);
    const { link, sent } = fakeLink(0, (b) => (b.commits[0]?.slot === 9n ? 3n : 10n));
    const catchUp = new AcceptorCatchUp([link], log, options());
    catchUp.pass();
    catchUp.pass();
    expect(sent.map((b) => [b.chosenBelow, b.commits[0]?.slot, b.commits.length])).toEqual([
      [0n, 9n, 1],
      [0n, 3n, 7],
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
});
