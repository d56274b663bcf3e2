import { AcceptorCore, type Ballot, type SlotValue } from '@paxos/consensus-core';
import { pino } from 'pino';
import { joinChosenHistory } from './join-history';
import { MemoryDisk, MemoryHistory } from './memory-storage';

const logger = pino({ level: 'silent' });
const ballot: Ballot = { round: 2n, proposerId: 1 };
const value = (slot: bigint): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: `r${slot}`, contentType: 't', data: new Uint8Array([Number(slot)]) }] });
const record = (slot: bigint) => ({ slot, ballot, value: value(slot) });

describe('joinChosenHistory', () => {
  it('ends the history at the committed index when the history taught slots the core lacked and the log holds chosen slots above them', () => {
    // A crash cut the history's unsynced end back to slot 5; slot 4 was learned by a notice (in
    // the history only), slot 5 by a logged commit (in the vote log, beside its vote).
    const disk = new MemoryDisk();
    disk.used = true;
    const history = new MemoryHistory(disk, false);
    history.append([0n, 1n, 2n, 3n, 4n].map(record));
    const core = new AcceptorCore({ restored: { promised: ballot, accepted: [], chosen: [0n, 1n, 2n, 3n].map(record), committedIndex: 4n } });
    core.apply({ accepted: record(5n) });
    core.apply({ chosen: record(5n) });
    joinChosenHistory(core, history, logger);
    expect(core.committedIndex).toBe(6n);
    expect(history.endSlot).toBe(6n);
    expect(history.read(5n, 10, 1 << 20)).toEqual([record(5n)]);
  });
});
