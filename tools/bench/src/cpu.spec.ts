import { cpuSeconds, parseStatCpuSeconds, startCpuMeter } from './cpu';

describe('CPU accounting from /proc', () => {
  it('reads utime + stime past a command name with spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 12345 1000 100 18446744073709551615';
    expect(parseStatCpuSeconds(stat)).toBeCloseTo(3.25);
    expect(() => parseStatCpuSeconds('garbage')).toThrow(/not a \/proc/);
  });

  it('a process that is gone used nothing', () => {
    expect(cpuSeconds(undefined)).toBe(0);
    expect(cpuSeconds(2 ** 31 - 1)).toBe(0);
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
