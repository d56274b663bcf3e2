import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second when `getconf CLK_TCK` gives nothing usable (USER_HZ is 100 on Linux). */
export const DEFAULT_TICKS_PER_SECOND = 100;

/** `getconf CLK_TCK`'s output as ticks per second: a positive whole number, else the default. */
export function parseClockTicks(text: string | null | undefined): number {
  const t = (text ?? '').trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_TICKS_PER_SECOND;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times, asked of `getconf CLK_TCK` once (a few ms). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 });
    ticksPerSecond = parseClockTicks(r.status === 0 ? r.stdout : undefined);
  }
  return ticksPerSecond;
}

/**
 * User plus system CPU seconds from one /proc/<pid>/stat line. The command name (field 2) may
 * hold spaces and parentheses, so the fields are counted from the last ')': utime and stime are
 * fields 14 and 15.
 */
export function parseStatCpuSeconds(stat: string, ticks = clockTicksPerSecond()): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return (utime + stime) / ticks;
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

/** A process's CPU seconds so far, and which process that was. */
export interface CpuReading {
  readonly pid: number | undefined;
  readonly seconds: number;
}

export function readCpu(pid: number | undefined): CpuReading {
  return { pid, seconds: cpuSeconds(pid) };
}

/**
 * CPU seconds a role (the proposer, an acceptor) used between two readings. The same process: the
 * difference. Another process (restarted in between, as a supervisor does, or started only now):
 * all the new one used, which it used within the span; what the old one used before it exited is
 * lost with it. None now: nothing to read.
 */
export function cpuUsedSince(before: CpuReading, now: CpuReading): number {
  if (now.pid === undefined) return 0;
  if (now.pid !== before.pid) return now.seconds;
  return Math.max(0, now.seconds - before.seconds);
}

/** CPU used by the network's processes and by this load generator between start() and the call it returns. */
export function startCpuMeter(proposerPid: () => number | undefined, acceptorPids: () => Array<number | undefined>): () => CpuShares {
  const proposer0 = readCpu(proposerPid());
  const acceptors0 = acceptorPids().map(readCpu);
  const self0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const self = process.cpuUsage(self0);
    const acceptors = acceptorPids().reduce((sum: number, pid, i) => sum + cpuUsedSince(acceptors0[i] ?? { pid: undefined, seconds: 0 }, readCpu(pid)), 0);
    return {
      proposer: cpuUsedSince(proposer0, readCpu(proposerPid())) / seconds,
      acceptors: acceptors / seconds,
      loadGenerator: (self.user + self.system) / 1e6 / seconds,
    };
  };
}
