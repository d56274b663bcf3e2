// Who holds a lock file: the pid in /proc/locks (Linux), its command line, and whether it is
// stopped. A refusal for a lock then names the process a person must wait for, resume or end.
import { readFileSync, statSync } from 'node:fs';
import { printable } from './printable';

/** The state letter of a process in /proc/<pid>/stat (R, S, D, T, Z, ...), or undefined where /proc cannot tell. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** A device number as /proc/locks prints it: major and minor in hex (Linux's dev_t split). */
function deviceText(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/** The pid holding a POSIX lock on `file`; undefined where /proc/locks cannot tell (another OS, another pid namespace). */
export function lockHolderPid(file: string): number | undefined {
  let want: string;
  let table: string;
  try {
    const st = statSync(file, { bigint: true });
    want = `${deviceText(st.dev)}:${st.ino}`;
    table = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 17652 fe:00:2533219 1073741824 1073742335"; a waiter's line has
    // "->" after the number.
    const f = line.trim().split(/\s+/);
    if (f[1] === '->' || f[5] !== want) continue;
    const pid = Number(f[4]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid) return pid;
  }
  return undefined;
}

const COMMAND_CHARS_SHOWN = 160;

/** "pid 123 (node dist/apps/...)", with what to do when it is stopped; "another process" when unknown. */
export function describeLockHolder(file: string): string {
  const pid = lockHolderPid(file);
  if (pid === undefined) return 'another process';
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    command = '';
  }
  if (command.length > COMMAND_CHARS_SHOWN) command = `${command.slice(0, COMMAND_CHARS_SHOWN)}...`;
  const state = processState(pid);
  const stopped = state === 'T' || state === 't' ? `, stopped by a signal: resume it (kill -CONT ${pid}) or end it` : '';
  return `pid ${pid}${command ? ` (${printable(command)})` : ''}${stopped}`;
}
