import type { ChosenEntry } from '@paxos/consensus-core';
import { AgreedState } from '@paxos/state-machine';
import { logEntryToWire } from './records-to-wire';

const ballot = { round: 1n, proposerId: 1 };
const cmd = (id: string) => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(id) });
const slot = (s: bigint, ...ids: string[]): ChosenEntry => ({ slot: s, ballot, value: { kind: 'batch', commands: ids.map(cmd) } });

describe('log entries on the wire', () => {
  it('mark a later copy of an id as a duplicate of the slot where it took effect, read back at any time', () => {
    const state = new AgreedState({ digest: () => 'd' });
    const log = [slot(0n, 'a', 'b'), slot(1n, 'c', 'a'), slot(2n, 'b')];
    for (const e of log) state.apply(e);
    expect(log.map((e) => logEntryToWire(e, state).outcomes.map((o) => [o.clientRequestId, o.duplicate, o.firstSlot]))).toEqual([
      [
        ['a', false, 0n],
        ['b', false, 0n],
      ],
      [
        ['c', false, 1n],
        ['a', true, 0n],
      ],
      [['b', true, 0n]],
    ]);
  });
});
