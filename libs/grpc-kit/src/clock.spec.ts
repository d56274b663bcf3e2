import { callerOf } from './caller';
import { deadlineAfter, deadlineLeft } from './clock';

/** A server call as grpc-js hands it over: its deadline as wall-clock time. */
function serverCall(deadline: Date | number) {
  return { getDeadline: () => deadline, getAuthContext: () => null, getPeer: () => '127.0.0.1:5000', cancelled: false };
}

describe('the two clocks', () => {
  afterEach(() => jest.restoreAllMocks());

  it("measures what is left of a call's deadline on a clock the wall clock's steps do not move", () => {
    const left = deadlineLeft(serverCall(new Date(deadlineAfter(5000))));
    expect(left()).toBeGreaterThan(4000);
    const wall = Date.now();
    // NTP or an operator sets the wall clock a day forward, then an hour back.
    jest.spyOn(Date, 'now').mockReturnValue(wall + 86_400_000);
    expect(left()).toBeGreaterThan(4000);
    jest.spyOn(Date, 'now').mockReturnValue(wall - 3_600_000);
    expect(left()).toBeLessThanOrEqual(5000);
  });

  it('knows a call without a deadline', () => {
    expect(deadlineLeft(serverCall(Infinity))()).toBe(Infinity);
    expect(deadlineLeft(serverCall(new Date(NaN)))()).toBe(Infinity);
  });

  it("keeps a waiting caller until its deadline passed, whatever the wall clock says meanwhile", () => {
    const caller = callerOf(serverCall(deadlineAfter(5000)));
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 86_400_000);
    expect(caller.gone()).toBe(false);
    expect(callerOf(serverCall(deadlineAfter(-1))).gone()).toBe(true);
  });
});
