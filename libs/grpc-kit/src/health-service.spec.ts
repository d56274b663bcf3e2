import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { HEALTH_WATCHERS_PER_CLIENT_MAX, HealthRegistry, ServingStatus } from './health-service';

/** A Watch call from `peer`: what it was written, and the error it ended with, if any. */
function watchCall(peer: string) {
  const call = Object.assign(new EventEmitter(), {
    request: { service: '' },
    written: [] as unknown[],
    failed: undefined as { code?: number; details?: string } | undefined,
    getPeer: () => peer,
    getAuthContext: () => null,
    write(m: unknown) {
      this.written.push(m);
      return true;
    },
    end: () => undefined,
  });
  call.on('error', (e: { code?: number; details?: string }) => (call.failed = e));
  return call;
}

describe('health Watch streams', () => {
  it('one client holds at most its share of them; a closed one frees its place', () => {
    const health = new HealthRegistry([]);
    const watch = health.service.implementation.watch as unknown as (call: ReturnType<typeof watchCall>) => void;
    const mine = Array.from({ length: HEALTH_WATCHERS_PER_CLIENT_MAX }, () => watchCall('127.0.0.1:5000'));
    for (const c of mine) watch(c);
    expect(mine.every((c) => c.failed === undefined && c.written.length === 1)).toBe(true);
    const over = watchCall('127.0.0.1:5000');
    watch(over);
    expect(over.failed).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining(`already holds ${HEALTH_WATCHERS_PER_CLIENT_MAX} health Watch streams`) });
    // Another client (another host, without TLS) is not held back by this one.
    const other = watchCall('10.0.0.7:6000');
    watch(other);
    expect(other.failed).toBeUndefined();
    // A stream that ends gives its place back, once however many events say so.
    mine[0]?.emit('cancelled');
    mine[0]?.emit('close');
    const again = watchCall('127.0.0.1:5000');
    watch(again);
    expect(again.failed).toBeUndefined();
    const twice = watchCall('127.0.0.1:5000');
    watch(twice);
    expect(twice.failed?.code).toBe(status.RESOURCE_EXHAUSTED);
  });
});

describe('a health watcher that never reads', () => {
  it('holds its current status and the latest change, however often the status changes', () => {
    const health = new HealthRegistry([]);
    const watch = health.service.implementation.watch as unknown as (call: object) => void;
    // Its client takes nothing: no write completes until `take` is called.
    const written: unknown[] = [];
    const pending: Array<() => void> = [];
    const call = Object.assign(new EventEmitter(), {
      request: { service: '' },
      getPeer: () => '127.0.0.1:5000',
      getAuthContext: () => null,
      write(m: unknown, taken?: () => void) {
        written.push(m);
        if (taken) pending.push(taken);
        return true;
      },
      end: () => undefined,
    });
    watch(call);
    for (let i = 0; i < 10_000; i++) health.setAll(i % 2 === 0 ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
    // Before: 10,001 messages queued for a client that reads nothing.
    expect(written).toEqual([{ status: ServingStatus.SERVING }]);
    // It takes the first: the latest status follows, and nothing else.
    pending.shift()?.();
    expect(written).toEqual([{ status: ServingStatus.SERVING }, { status: ServingStatus.SERVING }]);
    health.setStatus('', ServingStatus.NOT_SERVING);
    pending.shift()?.();
    expect(written.at(-1)).toEqual({ status: ServingStatus.NOT_SERVING });
    expect(written).toHaveLength(3);
  });
});
