import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Every process launch starts carries this variable, set to its network dir. */
export const LAUNCH_MARKER_ENV = 'PAXOS_LAUNCHED_IN';

export function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const n = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export function writePid(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`);
}

export function removePid(path: string): void {
  rmSync(path, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A process that has exited but was not yet reaped by its parent still answers kill(pid, 0): it
 * is gone all the same (Linux: state Z or X in /proc/<pid>/stat; elsewhere, never).
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/** True when pid is alive and is a process launch started for this network dir (not a recycled pid). */
export function isOurs(pid: number, dir: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return environ.includes(`${LAUNCH_MARKER_ENV}=${dir}`);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with how it ended. */
export async function stopProcess(pid: number, graceMs: number): Promise<'gone' | 'terminated' | 'killed'> {
  if (!isAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  while (isAlive(pid)) await sleep(20);
  return 'killed';
}
