// A command the queue has handed out in a batch is no longer its to keep: the queue held every
// taken command until more than 1,024 had passed through it, so a proposer taking values of up to
// 1 MiB kept hundreds of MB of commands already proposed reachable.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from '../value';
import { CommandQueue } from './command-queue';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('the command queue', () => {
  it('keeps no command it has handed out, whether it drained or not', async () => {
    const queue = new CommandQueue();
    const taken: WeakRef<Uint8Array>[] = [];
    // Each command is made in a function of its own, so that only the queue can hold its data.
    const push = (i: number): void => {
      const data = new Uint8Array(1024).fill(i);
      taken.push(new WeakRef(data));
      queue.push({ clientRequestId: `id-${i}`, contentType: 'text/plain', data } satisfies Command);
    };
    // One at a time, as under light load (the queue drains each time)...
    for (let i = 0; i < 8; i++) {
      push(i);
      expect(queue.takeBatch(4, 1 << 20)).toHaveLength(1);
    }
    // ...then batches taken from a queue that still holds more.
    for (let i = 8; i < 20; i++) push(i);
    expect(queue.takeBatch(4, 1 << 20)).toHaveLength(4);
    expect(queue.takeBatch(4, 1 << 20)).toHaveLength(4);
    expect(queue.length).toBe(4);
    // A WeakRef keeps its target through the task that made it: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    const held = taken.map((w, i) => (w.deref() === undefined ? -1 : i)).filter((i) => i >= 0);
    // Only the four still queued.
    expect(held).toEqual([16, 17, 18, 19]);
    expect(queue.takeBatch(8, 1 << 20).map((c) => c.clientRequestId)).toEqual(['id-16', 'id-17', 'id-18', 'id-19']);
  });
});
