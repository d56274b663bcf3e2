import { clockTicksPerSecond, cpuSeconds, cpuUsedSince, DEFAULT_TICKS_PER_SECOND, parseClockTicks, parseStatCpuSeconds, startCpuMeter } from './cpu';

describe('CPU accounting from /proc', () => {
  it('reads utime + stime past a command name with spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 12345 1000 100 18446744073709551615';
    expect(parseStatCpuSeconds(stat, 100)).toBeCloseTo(3.25);
    expect(() => parseStatCpuSeconds('garbage')).toThrow(/not a \/proc/);
  });

  it('counts the ticks at the rate getconf CLK_TCK gives, 100 when it gives nothing usable', () => {
    expect(parseClockTicks('100\n')).toBe(100);
    expect(parseClockTicks(' 250 ')).toBe(250);
    expect(parseClockTicks('1000')).toBe(1000);
    for (const bad of ['', 'undefined\n', '0', '-100', '1e2', '12.5', 'abc', '99999999999999999999', null, undefined]) expect(parseClockTicks(bad)).toBe(DEFAULT_TICKS_PER_SECOND);
    const stat = '7 (acceptor) S 1 7 7 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 12345 1000 100 1';
    expect(parseStatCpuSeconds(stat, 250)).toBeCloseTo(1.3);
    // This machine's rate, asked once: a positive whole number.
    expect(Number.isSafeInteger(clockTicksPerSecond()) && clockTicksPerSecond() > 0).toBe(true);
  });

  it('a process that is gone used nothing', () => {
    expect(cpuSeconds(undefined)).toBe(0);
    expect(cpuSeconds(2 ** 31 - 1)).toBe(0);
  });

  it('counts a role by its process: a restarted one is counted from its start, not against the old one\'s total', () => {
    expect(cpuUsedSince({ pid: 10, seconds: 5 }, { pid: 10, seconds: 7.5 })).toBeCloseTo(2.5);
    // Restarted during the run with a new pid: its 7 s were all used in the run (not 7 - 5).
    expect(cpuUsedSince({ pid: 10, seconds: 5 }, { pid: 11, seconds: 7 })).toBe(7);
    // Restarted and not yet past the old one's total: still its own CPU, not 0.
    expect(cpuUsedSince({ pid: 10, seconds: 5 }, { pid: 11, seconds: 0.3 })).toBeCloseTo(0.3);
    // Started only during the run.
    expect(cpuUsedSince({ pid: undefined, seconds: 0 }, { pid: 12, seconds: 1.5 })).toBe(1.5);
    // Gone now, or its /proc entry gone (read as 0): nothing to count, never a negative share.
    expect(cpuUsedSince({ pid: 10, seconds: 5 }, { pid: undefined, seconds: 0 })).toBe(0);
    expect(cpuUsedSince({ pid: 10, seconds: 5 }, { pid: 10, seconds: 0 })).toBe(0);
  });

  if (process.platform === 'linux') {
    it('counts the CPU this process burns', () => {
      const stop = startCpuMeter(() => process.pid, () => []);
      // Burn 0.2 s of CPU, however long a busy machine takes to give it: the shares are then
      // positive, and /proc (the "proposer" here is this process too) agrees with cpuUsage.
      const start = process.cpuUsage();
      let x = 0;
      for (let used = 0; used < 200_000; ) {
        for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
        const u = process.cpuUsage(start);
        used = u.user + u.system;
      }
      const shares = stop();
      expect(x).toBeGreaterThan(0);
      expect(shares.loadGenerator).toBeGreaterThan(0);
      expect(shares.proposer).toBeGreaterThan(0);
      // /proc counts in clock ticks (10 ms, 20 of them here): the two readings agree to a few.
      expect(shares.proposer / shares.loadGenerator).toBeGreaterThan(0.5);
      expect(shares.proposer / shares.loadGenerator).toBeLessThan(2);
      expect(shares.acceptors).toBe(0);
    });
  }
});
