// The window of delivered values the learner keeps for its agreement check is bounded in bytes,
// not only in slots: by its count alone (1,024 slots) a learner fed values of up to 1 MiB kept up
// to a GiB of them reachable (about 270 MB seen in a proposer after a minute of 60 KB values).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Learner } from './learner';
import type { SlotValue } from './value';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

describe('the learner', () => {
  it('keeps at most its bytes bound of delivered values, the newest', async () => {
    const l = new Learner({ recentBytesMax: 2 * MiB });
    const delivered: WeakRef<Uint8Array>[] = [];
    // Each value is made and handed over in a function of its own, so that only the learner can hold it.
    const learn = (slot: bigint): void => {
      const data = new Uint8Array(MiB - 1024).fill(Number(slot));
      delivered.push(new WeakRef(data));
      const value: SlotValue = { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 't', data }] };
      expect(l.learn({ slot, ballot: { round: 1n, proposerId: 1 }, value }).length).toBe(1);
    };
    for (let s = 0n; s < 8n; s++) learn(s);
    // A WeakRef keeps its target through the task that made it: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(delivered.map((w, i) => (w.deref() === undefined ? -1 : i)).filter((i) => i >= 0)).toEqual([6, 7]);
    // The window still checks what it holds, and no longer what it let go.
    const other: SlotValue = { kind: 'batch', commands: [{ clientRequestId: 'x', contentType: 't', data: new Uint8Array(1) }] };
    expect(() => l.learn({ slot: 7n, ballot: { round: 1n, proposerId: 1 }, value: other })).toThrow(/agreement/);
    expect(l.learn({ slot: 0n, ballot: { round: 1n, proposerId: 1 }, value: other })).toEqual([]);
  });

  it('keeps the last delivered value however large', () => {
    const l = new Learner({ recentBytesMax: 0 });
    const value: SlotValue = { kind: 'batch', commands: [{ clientRequestId: 'a', contentType: 't', data: new Uint8Array(10) }] };
    l.learn({ slot: 0n, ballot: { round: 1n, proposerId: 1 }, value });
    expect(l.contradiction({ slot: 0n, ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } })).toMatch(/slot 0/);
  });
});
