import { PacedTurns } from './paced-turns';

describe('PacedTurns', () => {
  it('gives turns round the clients that wait: one with many reads waiting does not put the others behind all of them', async () => {
    const turns = new PacedTurns({ subject: 'the test', atOnce: 1, waitingMax: 64, waitingPerClientMax: 8, bytesPerSecond: 1 << 30, burstBytes: 1 << 30 });
    const order: string[] = [];
    const finish: Array<() => void> = [];
    const read = (client: string, n: number) =>
      turns.run(
        { key: client, gone: () => false },
        () =>
          new Promise<number>((resolve) => {
            order.push(`${client}${n}`);
            finish.push(() => resolve(0));
          }),
        () => 0,
      );
    const all = [read('a', 0), ...Array.from({ length: 5 }, (_, i) => read('a', i + 1)), read('b', 0), read('c', 0), read('b', 1)];
    for (let i = 0; i < 20 && finish.length > 0; i++) {
      await new Promise((r) => setImmediate(r));
      finish.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'a4', 'a5']);
  });

  it('refuses a client past its share of the waiting places, and everyone past the bound', async () => {
    const turns = new PacedTurns({ subject: 'the test', atOnce: 1, waitingMax: 3, waitingPerClientMax: 2, bytesPerSecond: 1 << 30, burstBytes: 1 << 30 });
    const never = () => new Promise<number>(() => undefined);
    const run = (client: string) => turns.run({ key: client, gone: () => false }, never, () => 0).catch((e: { code?: number; message?: string }) => e.message);
    void run('a');
    void run('a');
    void run('a');
    await expect(run('a')).resolves.toMatch(/2 reads of a wait already/);
    void run('b');
    await expect(run('c')).resolves.toMatch(/3 reads wait already/);
  });

  it('charges a work that failed what it says it cost, so reads ended early by their callers still pay the rate', async () => {
    // A frozen clock: the bucket refills never, and a turn that must wait sleeps (counted).
    const slept: number[] = [];
    const turns = new PacedTurns({ subject: 'the test', atOnce: 1, waitingMax: 64, waitingPerClientMax: 8, bytesPerSecond: 1000, burstBytes: 1000, now: () => 0, sleep: async (ms) => void slept.push(ms) });
    const caller = { key: 'a', gone: () => slept.length > 0 };
    const failing = () => Promise.reject(new Error('the caller left half way'));
    await expect(turns.run(caller, failing, () => 0, () => 1500)).rejects.toThrow('half way');
    // More than the burst is spent: the next turn waits for the rate (and its caller, gone meanwhile, is dropped).
    await expect(turns.run(caller, () => 1, () => 1)).rejects.toBeDefined();
    expect(slept.length).toBe(1);
  });
});
