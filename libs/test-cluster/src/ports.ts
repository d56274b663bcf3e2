import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when nothing listens on 127.0.0.1:port now. */
function isFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Where freePorts draws from: below the kernel's ephemeral range, apart from freePortRange's windows. */
const DEFAULT_SINGLE_PORTS = { from: 24_000, to: 32_000 } as const;

/**
 * The range freePorts draws from: PAXOS_PORT_RANGE="from-to" (to exclusive) on a host where only
 * some ports may be used (chaos and bench start their nodes there), else 24000-32000.
 */
export function singlePortRange(env: NodeJS.ProcessEnv = process.env): { from: number; to: number } {
  const text = env['PAXOS_PORT_RANGE'];
  if (!text) return DEFAULT_SINGLE_PORTS;
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from < 1 || to > 65_536 || to <= from) throw new Error(`PAXOS_PORT_RANGE must be "from-to" with 1 <= from < to <= 65536, got "${text}"`);
  return { from, to };
}

/**
 * Where ports drawn by freePorts are reserved across processes (test runs of other projects, or of
 * another person, on the same machine): one file per port naming its owner's pid. A port is free
 * now when nothing listens on it, but its node may bind it much later; meanwhile another process
 * must not draw it. PAXOS_PORT_RESERVATIONS moves the directory (the spec of this file).
 */
export const portReservationDir = (env: NodeJS.ProcessEnv = process.env): string => env['PAXOS_PORT_RESERVATIONS'] || join(tmpdir(), 'paxos-test-ports');

/** The ports this process reserved (released by releasePorts, else at exit: a hook held while there are any). */
const reserved = new Map<number, string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseAll(): void {
  releasePorts([...reserved.keys()]);
}

/**
 * Reserves `port` for this process: a file made with its pid in full, then linked to the port's
 * name (link fails if the name exists, so only one process gets it, and no one reads a half-written
 * pid). A reservation whose owner is gone (a run killed before it exited) is removed and tried
 * again. False when a live process (this one included) holds it.
 */
function reserve(port: number): boolean {
  const dir = portReservationDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, String(port));
  const mine = join(dir, `.${process.pid}.${port}`);
  writeFileSync(mine, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(mine, file);
        if (reserved.size === 0) process.on('exit', releaseAll);
        reserved.set(port, file);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        // Released meanwhile: try again.
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        // Removed by another process meanwhile.
      }
    }
    return false;
  } finally {
    unlinkSync(mine);
  }
}

/** Gives back ports freePorts reserved for this process (a stopped cluster's); others' are left alone. */
export function releasePorts(ports: Iterable<number>): void {
  for (const port of ports) {
    const file = reserved.get(port);
    if (file === undefined) continue;
    reserved.delete(port);
    try {
      if (Number(readFileSync(file, 'utf8')) === process.pid) unlinkSync(file);
    } catch {
      // Gone already.
    }
    if (reserved.size === 0) process.off('exit', releaseAll);
  }
}

/**
 * `count` distinct ports free now, for nodes a test starts (some much later, as a node restarted
 * or started late). They come from below the kernel's ephemeral range (32768 on Linux): a port the
 * kernel handed out (listen on port 0) could be taken meanwhile as the local port of an outgoing
 * connection, and a node started late then failed with EADDRINUSE (seen in CI for an acceptor's
 * metrics port, 20 s after it was drawn). Each is reserved for this process until releasePorts or
 * its exit, so that no other test process draws it before its node binds it.
 */
export async function freePorts(count: number): Promise<number[]> {
  const SINGLE_PORTS = singlePortRange();
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < count && attempt < 50 * count; attempt++) {
    const port = SINGLE_PORTS.from + Math.floor(Math.random() * (SINGLE_PORTS.to - SINGLE_PORTS.from));
    if (chosen.has(port) || reserved.has(port) || !(await isFree(port))) continue;
    if (reserve(port)) chosen.add(port);
  }
  if (chosen.size < count) {
    releasePorts(chosen);
    throw new Error(`no ${count} free ports found in [${SINGLE_PORTS.from}, ${SINGLE_PORTS.to})`);
  }
  return [...chosen];
}

/** Where a launched test network's ports lie relative to its base port (launch's layout). */
export interface PortWindow {
  /** Bases are drawn from [from, to). */
  readonly from: number;
  readonly to: number;
}

/**
 * A base port for a network launched with --base-port: its `count` ports from the base, and the
 * metrics ports launch puts 2,000 above them (acceptors 9100 + id and the proposer 9201 move with
 * the base), all free now. Bases come from `window`, below the kernel's ephemeral range (32768 on
 * Linux), so outgoing connections never take a port the network is about to bind; two specs that
 * launch networks at once give disjoint windows.
 */
export async function freePortRange(count: number, window: PortWindow = { from: 10_000, to: 14_000 }): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = window.from + Math.floor(Math.random() * (window.to - window.from));
    const ports = [...Array.from({ length: count }, (_, i) => base + i), ...Array.from({ length: count }, (_, i) => base + 2000 + i)];
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports (and their metrics ports) found in 50 tries in [${window.from}, ${window.to})`);
}
