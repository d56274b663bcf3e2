// The chosen log keeps --retain-chosen-bytes of values, in one copy: its learner's window of
// delivered values (kept for the agreement check, 1,024 slots) also held every value it delivered,
// as it arrived, so a proposer taking 60 KB values held about 270 MB of them past the bound, and up
// to a GiB at the 1 MiB value bound.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SlotValue } from '@paxos/consensus-core';
import { AgreedState } from '@paxos/state-machine';
import { ChosenLog } from './chosen-log';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

describe('the chosen log', () => {
  it('holds no value past its bytes bound, and one copy of those it keeps', async () => {
    const l = new ChosenLog({ retainedSlotsMax: 1000, retainedBytesMax: 4 * MiB, state: new AgreedState({ digest: () => 'd' }) });
    const arrived: WeakRef<Uint8Array>[] = [];
    const kept: WeakRef<Uint8Array>[] = [];
    // Each value is made and learned in a function of its own, so that only the log can hold it.
    const learn = (slot: bigint): void => {
      const data = new Uint8Array(MiB - 4096).fill(Number(slot));
      arrived.push(new WeakRef(data));
      const value: SlotValue = { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 't', data }] };
      expect(l.learn([{ slot, ballot: { round: 1n, proposerId: 1 }, value }]).length).toBe(1);
      const copy = l.entry(slot)?.value;
      if (copy?.kind !== 'batch') throw new Error(`slot ${slot} is not retained`);
      kept.push(new WeakRef(copy.commands[0]?.data as Uint8Array));
    };
    for (let s = 0n; s < 16n; s++) learn(s);
    // A WeakRef keeps its target through the task that made it: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    const reachable = (refs: WeakRef<Uint8Array>[]) => refs.map((w, i) => (w.deref() === undefined ? -1 : i)).filter((i) => i >= 0);
    const retained = [...Array(16).keys()].filter((s) => l.entry(BigInt(s)) !== undefined);
    expect(retained.length).toBeGreaterThan(0);
    expect(retained.length).toBeLessThanOrEqual(4);
    expect(reachable(kept)).toEqual(retained);
    expect(reachable(arrived)).toEqual([]);
  });
});
