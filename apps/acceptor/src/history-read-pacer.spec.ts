import { status } from '@grpc/grpc-js';
import { historyReadPacer, READS_WAITING_MAX, READS_WAITING_PER_CLIENT_MAX } from './history-read-pacer';

const MIB = 1024 * 1024;
const caller = (key: string, gone = () => false) => ({ key, gone });

/** A pacer on a test clock: sleeping moves the clock; `stuck` sleeps for ever. */
function pacerOnClock(stuck = false) {
  const clock = { now: 0, slept: [] as number[] };
  const pacer = historyReadPacer({ now: () => clock.now, sleep: (ms) => {
    clock.slept.push(ms);
    if (stuck) return new Promise<void>(() => undefined);
    clock.now += ms;
    return Promise.resolve();
  } });
  return { pacer, clock };
}

describe("clients' reads of the chosen history", () => {
  it('go one at a time, at the rate of bytes: a read after an overspend waits for the refill', async () => {
    const { pacer, clock } = pacerOnClock();
    let running = 0;
    let most = 0;
    const read = (n: number) => () => {
      running++;
      most = Math.max(most, running);
      running--;
      return n;
    };
    const order = await Promise.all([1, 2, 3].map((n) => pacer.run(caller(`c${n}`), read(n), () => 40 * MIB)));
    expect(order).toEqual([1, 2, 3]);
    expect(most).toBe(1);
    // 64 MiB at once: two reads of 40 MiB go (the second overspends by 16 MiB), the third waits 250 ms.
    expect(clock.slept).toEqual([250]);
  });

  it('refuses a read when too many wait, or too many of one client: one client cannot take every place', async () => {
    const { pacer } = pacerOnClock(true);
    // The first read overspends and the clock never moves: every later read waits.
    await pacer.run(caller('first'), () => 0, () => 100 * MIB);
    void pacer.run(caller('first'), () => 0, () => 0);
    const greedy = Array.from({ length: READS_WAITING_PER_CLIENT_MAX }, () => pacer.run(caller('greedy'), () => 0, () => 0));
    void greedy;
    await expect(pacer.run(caller('greedy'), () => 0, () => 0)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringContaining('reads of greedy') });
    // Others still get a place, up to the bound for all.
    const others = Array.from({ length: READS_WAITING_MAX - READS_WAITING_PER_CLIENT_MAX }, (_, i) => pacer.run(caller(`other-${i % 50}`), () => 0, () => 0));
    void others;
    await expect(pacer.run(caller('late'), () => 0, () => 0)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('gives the places of callers that left while waiting back when a new read wants one', async () => {
    const { pacer } = pacerOnClock(true);
    await pacer.run(caller('first'), () => 0, () => 100 * MIB);
    void pacer.run(caller('first'), () => 0, () => 0);
    let left = false;
    const gone = Array.from({ length: READS_WAITING_PER_CLIENT_MAX }, () => pacer.run(caller('greedy', () => left), () => 0, () => 0));
    await expect(pacer.run(caller('greedy'), () => 0, () => 0)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    left = true;
    // Its places are free again at once, not when each gone read's turn comes.
    const again = pacer.run(caller('greedy'), () => 0, () => 0);
    for (const g of gone) await expect(g).rejects.toMatchObject({ code: status.CANCELLED });
    // The second read of 'first' holds the turn (the clock never moves): 'again' and these wait.
    const others = Array.from({ length: READS_WAITING_MAX - 1 }, (_, i) => pacer.run(caller(`other-${i % 50}`), () => 0, () => 0));
    void again;
    void others;
    await expect(pacer.run(caller('late'), () => 0, () => 0)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringContaining(`${READS_WAITING_MAX} reads`) });
  });

  it('does not read for a caller that left before its turn, and passes the turn on', async () => {
    const { pacer } = pacerOnClock();
    let reads = 0;
    const read = () => ++reads;
    await pacer.run(caller('a'), read, () => 100 * MIB);
    let left = false;
    const leaving = pacer.run(caller('b', () => left), read, () => 0);
    const staying = pacer.run(caller('c'), read, () => 0);
    left = true;
    await expect(leaving).rejects.toMatchObject({ code: status.CANCELLED });
    await expect(staying).resolves.toBe(2);
    expect(reads).toBe(2);
  });
});
