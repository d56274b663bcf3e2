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
      const until = Date.now() + 300;
      let x = 0;
      while (Date.now() < until) x += Math.sqrt(x + 1);
      const shares = stop();
      expect(x).toBeGreaterThan(0);
      expect(shares.loadGenerator).toBeGreaterThan(0.3);
      expect(shares.proposer).toBeGreaterThan(0.3); // the "proposer" here is this process too
      expect(shares.acceptors).toBe(0);
    });
  }
});
