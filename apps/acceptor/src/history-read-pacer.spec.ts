import { status } from '@grpc/grpc-js';
import { HistoryReadPacer, READS_WAITING_MAX } from './history-read-pacer';

const MIB = 1024 * 1024;

describe("clients' reads of the chosen history", () => {
  it('go one at a time, at the rate of bytes: a read after an overspend waits for the refill', async () => {
    let clock = 0;
    const slept: number[] = [];
    const pacer = new HistoryReadPacer(64 * MIB, 64 * MIB, () => clock, async (ms) => {
      slept.push(ms);
      clock += ms;
    });
    let running = 0;
    let most = 0;
    const read = (n: number) => () => {
      running++;
      most = Math.max(most, running);
      running--;
      return n;
    };
    const order = await Promise.all([1, 2, 3].map((n) => pacer.run(read(n), () => 40 * MIB)));
    expect(order).toEqual([1, 2, 3]);
    expect(most).toBe(1);
    // 64 MiB at once: two reads of 40 MiB go (the second overspends by 16 MiB), the third waits 250 ms.
    expect(slept).toEqual([250]);
  });

  it('refuses a read when too many wait already', async () => {
    const pacer = new HistoryReadPacer(1, 1, () => 0, () => new Promise<void>(() => undefined));
    // The first read overspends and the clock never moves: every later read waits.
    await pacer.run(() => 0, () => 10);
    const waiting = Array.from({ length: READS_WAITING_MAX + 1 }, () => pacer.run(() => 0, () => 0));
    void waiting;
    await expect(pacer.run(() => 0, () => 0)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });
});
