import { status } from '@grpc/grpc-js';
import { WAIT_FALLBACK_MS, WaitList } from './wait-list';

describe('WaitList', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('wakes a waiter on a poke, in the next turn, without waiting for the shared timer', async () => {
    const list = new WaitList(() => false);
    let delivered = 0;
    let settled = false;
    void list.wait(() => delivered >= 3, performance.now() + 60_000, 'delivery').then(() => (settled = true));
    delivered = 3;
    list.poke();
    list.poke(); // many pokes in one turn: one look
    await Promise.resolve();
    expect(settled).toBe(false);
    // The turn's immediates run (no time passes: the shared timer has not fired).
    await jest.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(list.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ends a waiter whose caller left with CANCELLED, one past its deadline with DEADLINE_EXCEEDED naming it, and one whose condition throws with that error', async () => {
    const list = new WaitList(() => false);
    let gone = false;
    const cancelled = list.wait(() => false, performance.now() + 60_000, 'delivery', () => gone).catch((e: { code: number }) => e.code);
    const late = list.wait(() => false, performance.now() + 5 * WAIT_FALLBACK_MS, 'slots below 7').catch((e: { code: number; message: string }) => [e.code, e.message]);
    let throws = false;
    const broken = list.wait(() => {
      if (throws) throw new Error('the node stopped leading');
      return false;
    }, performance.now() + 60_000, 'leading').catch((e: Error) => e.message);
    gone = true;
    throws = true;
    await jest.advanceTimersByTimeAsync(WAIT_FALLBACK_MS);
    expect(await cancelled).toBe(status.CANCELLED);
    expect(await broken).toBe('the node stopped leading');
    await jest.advanceTimersByTimeAsync(5 * WAIT_FALLBACK_MS);
    expect(await late).toEqual([status.DEADLINE_EXCEEDED, expect.stringContaining('slots below 7')]);
    // Nothing waits: the shared timer is gone too.
    expect(list.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ends every waiter once the proposer stopped', async () => {
    let stopped = false;
    const list = new WaitList(() => stopped);
    const outcome = list.wait(() => false, performance.now() + 60_000, 'ready').catch((e: { code: number }) => e.code);
    stopped = true;
    list.poke();
    await jest.advanceTimersByTimeAsync(0);
    expect(await outcome).toBe(status.DEADLINE_EXCEEDED);
  });

  it('takes no poke made while it looks (a waiter that asks the proposer to lead does not wake the list in every turn)', async () => {
    const list = new WaitList(() => false);
    let looks = 0;
    void list.wait(() => {
      looks += 1;
      list.poke(); // the proposer's state moved because this waiter asked it to lead
      return false;
    }, performance.now() + 60_000, 'leading').catch(() => undefined);
    expect(looks).toBe(1); // looked at once when it began waiting
    list.poke();
    await jest.advanceTimersByTimeAsync(0);
    expect(looks).toBe(2);
    // Its own poke scheduled nothing: only the shared timer looks again.
    await jest.advanceTimersByTimeAsync(0);
    expect(looks).toBe(2);
    await jest.advanceTimersByTimeAsync(WAIT_FALLBACK_MS);
    expect(looks).toBe(3);
    jest.clearAllTimers();
  });
});
