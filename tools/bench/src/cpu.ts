import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU seconds from one /proc/<pid>/stat line. The command name (field 2) may
 * hold spaces and parentheses, so the fields are counted from the last ')': utime and stime are
 * fields 14 and 15.
 */
export function parseStatCpuSeconds(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU seconds a process has used so far; 0 when it is gone (or there is no /proc). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return parseStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

export interface CpuShares {
  /** Cores used on average over the run (CPU seconds / wall seconds). */
  readonly proposer: number;
  readonly acceptors: number;
  readonly loadGenerator: number;
}

/** CPU used by the network's processes and by this load generator between start() and the call it returns. */
export function startCpuMeter(proposerPid: () => number | undefined, acceptorPids: () => Array<number | undefined>): () => CpuShares {
  const proposer0 = cpuSeconds(proposerPid());
  const acceptors0 = acceptorPids().map(cpuSeconds);
  const self0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const self = process.cpuUsage(self0);
    // An acceptor restarted during the run counts from zero: its new process's CPU is what it used.
    const acceptors = acceptorPids().reduce((sum: number, pid, i) => {
      const now = cpuSeconds(pid);
      const before = acceptors0[i] ?? 0;
      return sum + (now >= before ? now - before : now);
    }, 0);
    return {
      proposer: Math.max(0, cpuSeconds(proposerPid()) - proposer0) / seconds,
      acceptors: acceptors / seconds,
      loadGenerator: (self.user + self.system) / 1e6 / seconds,
    };
  };
}
