import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

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

/** The form of a network dir that launch records in its processes: symlinks resolved, so every path to the dir names it alike. */
export function canonicalDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

/**
 * True when pid is alive and is a process launch started for this network dir (not a recycled
 * pid). The dirs compare with symlinks resolved: a network launched through a symlink is the
 * same network when stopped through its real path.
 */
export function isOurs(pid: number, dir: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const prefix = `${LAUNCH_MARKER_ENV}=`;
    const marker = environ.find((e) => e.startsWith(prefix));
    return marker !== undefined && canonicalDir(marker.slice(prefix.length)) === canonicalDir(dir);
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
    // A paused process (SIGSTOP) would hold the SIGTERM until the SIGKILL: let it run to handle it.
    process.kill(pid, 'SIGCONT');
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

/**
 * Whether process pid holds the listening socket of TCP port (Linux: the socket's inode in
 * /proc/net/tcp{,6} among pid's open files). A health answer on the port may come from another
 * process (another network launched on these ports): launch counts a node ready only when it is
 * its own process that listens. Undefined where /proc cannot tell.
 */
export function listensOn(pid: number, port: number): boolean | undefined {
  const inodes = new Set<string>();
  let tables = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    tables++;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; st 0A is LISTEN; the inode is the tenth column.
      const local = f[1];
      if (!local || f[3] !== '0A' || Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue;
      if (f[9]) inodes.add(f[9]);
    }
  }
  if (tables === 0) return undefined;
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return isAlive(pid) ? undefined : false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1] as string)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** The last line a process wrote to its log (its message when it is a JSON log line), at most 300 characters. */
export function lastLogLine(path: string): string | undefined {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 8192));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const line = text.trimEnd().split('\n').at(-1)?.trim();
  if (!line) return undefined;
  try {
    const j = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown }; error?: unknown };
    const parts = [j.msg, j.err?.message ?? j.error].filter((p): p is string => typeof p === 'string' && p.length > 0);
    if (parts.length > 0) return parts.join(': ').slice(0, 300);
  } catch {
    // a plain line
  }
  return line.slice(0, 300);
}
