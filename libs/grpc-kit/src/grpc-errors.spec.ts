import { status } from '@grpc/grpc-js';
import { clientDeadlinePassed, deadlineNoticedLate } from './grpc-errors';

const passed = (seconds: string) => ({ code: status.DEADLINE_EXCEEDED, details: `Deadline exceeded after ${seconds}s,name resolution: 0.001s,metadata filters: 0.000s` });

describe("a client's own deadline", () => {
  it('is read from grpc-js text, and only from it', () => {
    expect(clientDeadlinePassed(passed('2.004'))).toBe('2.004');
    expect(clientDeadlinePassed({ code: status.DEADLINE_EXCEEDED, details: 'the read barrier timed out' })).toBeUndefined();
    expect(clientDeadlinePassed({ code: status.UNAVAILABLE, details: 'Deadline exceeded after 2.004s' })).toBeUndefined();
  });

  it('noticed more than a second late means the caller was held, not the server slow', () => {
    expect(deadlineNoticedLate(passed('2.004'), 2000)).toBeUndefined();
    expect(deadlineNoticedLate(passed('2.999'), 2000)).toBeUndefined();
    expect(deadlineNoticedLate(passed('5.028'), 2000)).toBe('5.028');
    expect(deadlineNoticedLate({ code: status.UNAVAILABLE, details: 'no connection' }, 2000)).toBeUndefined();
  });
});
