import { closeSync, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processState } from '@paxos/grpc-kit';

/** Every process launch starts carries this variable, set to its network dir. */
export const LAUNCH_MARKER_ENV = 'PAXOS_LAUNCHED_IN';
/** ... and this one, set to its name in the dir (node_<i>, proposer, status-page: its pid file's name). */
export const LAUNCH_NAME_ENV = 'PAXOS_LAUNCHED_AS';

/** Longest pid file read: a pid and a newline, with room to spare. */
const PID_FILE_BYTES_MAX = 64;

/**
 * The pid a pid file holds, or undefined when it holds none: missing, garbage, or not a file at all
 * (a directory of that name failed check, stop and launch with a bare EISDIR). At most 64 bytes are read.
 */
export function readPid(path: string): number | undefined {
  let text: string;
  try {
    if (!lstatSync(path).isFile()) return undefined;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(PID_FILE_BYTES_MAX);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const t = text.trim();
  // A pid is a positive int (Linux's pid_max is at most 2^22): "1e3" or 64 nines are garbage, not pids.
  return /^[1-9]\d{0,9}$/.test(t) && Number(t) <= 2 ** 31 - 1 ? Number(t) : undefined;
}

/**
 * Written beside and renamed into place: a reader never sees an empty or half-written pid file.
 * A write that fails (a full or read-only disk) leaves no temporary file, and says which file.
 */
export function writePid(path: string, pid: number): void {
  if (existsSync(path) && lstatSync(path).isDirectory()) throw new Error(`${path} is a directory, where launch keeps a pid file: move it away, then run npm run launch -- --restart-missing`);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${pid}\n`);
    renameSync(tmp, path);
  } catch (e) {
    removePid(tmp);
    throw new Error(`cannot write the pid file ${path} (${(e as Error).message}): is its disk full or read-only?`);
  }
}

/**
 * Removes a pid file; anything else at its path (a directory) is not launch's and is left alone.
 * Never throws: a pid file that cannot be removed (a read-only disk) names a process that is gone,
 * which every command takes for stale; returns why it stays, undefined when it is gone.
 */
export function removePid(path: string): string | undefined {
  try {
    if (lstatSync(path).isDirectory()) return undefined;
  } catch {
    return undefined; // gone already
  }
  try {
    rmSync(path, { force: true });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The temporary file writePid writes beside a pid file: "<name>.pid.<writer's pid>.tmp". */
const PID_TMP = /^(node_\d+|proposer|status-page)\.pid\.(\d+)\.tmp$/;

/**
 * Removes the temporary pid files in dir whose writer is gone (a launch killed, or its disk full,
 * between writing one and renaming it into place): nothing else reads or removes them.
 */
export function removeStaleTemporaries(dir: string): void {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  for (const f of files) {
    const m = PID_TMP.exec(f);
    if (m && !isAlive(Number(m[2]))) removePid(join(dir, f));
  }
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
  const state = processState(pid);
  return state === 'Z' || state === 'X';
}

/** Stopped by a signal (SIGSTOP, a debugger): it answers nothing until SIGCONT. */
export function isPaused(pid: number): boolean {
  const state = processState(pid);
  return state === 'T' || state === 't';
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
 * same network when stopped through its real path. With `name` (a pid file's), the process must
 * also have been started as that node: a pid file naming another node's process made
 * --restart-missing take the node for running and leave it down. A process started before
 * launch recorded names (no PAXOS_LAUNCHED_AS) is taken on its dir alone.
 */
export function isOurs(pid: number, dir: string, name?: string): boolean {
  if (!isAlive(pid)) return false;
  const env = processEnvironment(pid);
  const marker = env?.get(LAUNCH_MARKER_ENV);
  if (marker === undefined || canonicalDir(marker) !== canonicalDir(dir)) return false;
  const startedAs = env?.get(LAUNCH_NAME_ENV);
  return name === undefined || startedAs === undefined || startedAs === name;
}

/** A process's environment as it started (Linux /proc/<pid>/environ); undefined when it cannot be read. */
export function processEnvironment(pid: number | string): Map<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const e of text.split('\0')) {
    const eq = e.indexOf('=');
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return env;
}

/**
 * The live processes launch started for dir, found by their environment (Linux /proc; none
 * elsewhere): also those with no pid file, as a launch killed between starting a process and
 * writing its pid file leaves them. Bounded by the process table; processes of other users (than
 * this one and the dir's owner) are not ours, even where root can read their environment.
 */
export function markedProcesses(dir: string): Array<{ name: string; pid: number }> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((f) => /^\d+$/.test(f));
  } catch {
    return [];
  }
  const want = canonicalDir(dir);
  // Run as root, every process's environment is readable: one of another user that carries the
  // marker (anyone can set it) would be adopted, its pid written into the dir, and the node it
  // names counted as running. Only processes of this user or of the dir's owner are launch's.
  const owners = new Set<number>();
  if (process.getuid) owners.add(process.getuid());
  try {
    owners.add(statSync(dir).uid);
  } catch {
    // no dir: this user's processes only
  }
  const found: Array<{ name: string; pid: number }> = [];
  for (const p of pids) {
    try {
      if (owners.size > 0 && !owners.has(statSync(`/proc/${p}`).uid)) continue;
    } catch {
      continue; // gone meanwhile
    }
    const environ = processEnvironment(p);
    const marker = environ?.get(LAUNCH_MARKER_ENV);
    const name = environ?.get(LAUNCH_NAME_ENV);
    if (marker === undefined || name === undefined || canonicalDir(marker) !== want) continue;
    const pid = Number(p);
    if (isAlive(pid)) found.push({ name, pid });
  }
  return found;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** How long stop waits for a process to vanish after SIGKILL (one stuck in the kernel, state D, never does). */
const KILL_WAIT_MS = 5000;

/**
 * SIGTERM (and SIGCONT, so a paused process handles it), wait up to graceMs, then SIGKILL.
 * `stillOurs` is asked before each signal: a process that ended meanwhile may have left its pid
 * to an unrelated one. Resolves with how it ended; 'unkillable' when it outlived SIGKILL.
 */
export async function stopProcess(pid: number, graceMs: number, stillOurs: () => boolean = () => isAlive(pid)): Promise<'gone' | 'terminated' | 'killed' | 'unkillable'> {
  if (!stillOurs()) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
    // A paused process (SIGSTOP) would hold the SIGTERM until the SIGKILL: let it run to handle it.
    process.kill(pid, 'SIGCONT');
  } catch {
    return 'gone';
  }
  const until = performance.now() + graceMs;
  while (performance.now() < until) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(50);
  }
  if (!stillOurs()) return 'terminated';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  const killedBy = performance.now() + KILL_WAIT_MS;
  while (isAlive(pid)) {
    if (performance.now() > killedBy) return 'unkillable';
    await sleep(20);
  }
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

/** A log line that says why a process ended: an error's name, a tool's "program: message", a refusal. */
const CAUSE = /\b[A-Za-z]*Error\b|^[a-z][\w-]*: |\b(cannot|refused|in use|not found|denied)\b/i;
/** Lines of no use as a cause: blank, Node's version banner after an uncaught error, a stack frame. */
// Node's own warnings ("(node:12) [DEP0123] DeprecationWarning: ...", "(Use `node --trace-...")
// say nothing of why a process did not answer.
const NOISE = /^(\s*|Node\.js v\d.*|\s+at .*|\^+|\(node:\d+\) (\[\w+\] )?\w*Warning: .*|\(Use `node --trace-.*)$/;

/**
 * Why a process ended, from the end of its log (at most 300 characters): the last line that
 * names a cause (an error, a "program: message" line, a refusal) among its last 20 lines, else
 * its last line that is not noise; a JSON log line gives its message and error.
 */
export function lastLogLine(path: string): string | undefined {
  const lines = lastLines(path);
  const line = lines && ([...lines].reverse().find((l) => CAUSE.test(readable(l))) ?? lines.at(-1));
  return line === undefined ? undefined : readable(line).slice(0, 300);
}

/**
 * The line a process's log ends on when that line says why it ended (an error or fatal JSON line,
 * a cause as lastLogLine reads one), else undefined: a process killed by a signal ends on
 * whatever it logged last, which says nothing.
 */
export function endingCause(path: string): string | undefined {
  const last = lastLines(path)?.at(-1);
  if (last === undefined) return undefined;
  let level: unknown;
  try {
    level = (JSON.parse(last) as { level?: unknown }).level;
  } catch {
    // a plain line
  }
  const line = readable(last);
  return (typeof level === 'number' ? level >= 50 : CAUSE.test(line)) ? line.slice(0, 300) : undefined;
}

/**
 * The signal a running process said it is shutting down on ("SIGTERM"), from its log's last
 * lines: a JSON record "shutting down" that process `pid` wrote (a node logs it as its graceful
 * shutdown starts; it closes its port first, then may take up to 20 s to end its calls and flush
 * its storage). Undefined when its log says no such thing of that pid (an earlier process's
 * shutdown, before a restart, is not this one's).
 */
export function shutdownSignal(path: string, pid: number): string | undefined {
  for (const line of [...(lastLines(path) ?? [])].reverse()) {
    let j: { pid?: unknown; msg?: unknown; signal?: unknown };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      continue;
    }
    if (j.pid !== pid) continue;
    if (j.msg === 'shutting down') return typeof j.signal === 'string' ? j.signal : 'a signal';
  }
  return undefined;
}

/** The last 20 lines of a log that are not noise (undefined when it cannot be read). */
function lastLines(path: string): string[] | undefined {
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
  return text.split('\n').filter((l) => !NOISE.test(l)).slice(-20);
}

/** A log line as a person reads it: a JSON line's message and error, else the line. */
function readable(line: string): string {
  try {
    const j = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown }; error?: unknown };
    const parts = [j.msg, j.err?.message ?? j.error].filter((p): p is string => typeof p === 'string' && p.length > 0);
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // a plain line
  }
  return line.trim();
}
