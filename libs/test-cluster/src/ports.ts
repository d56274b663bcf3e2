import { createServer } from 'node:net';

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
 * `count` distinct ports free now, for nodes a test starts (some much later, as a node restarted
 * or started late). They come from below the kernel's ephemeral range (32768 on Linux): a port the
 * kernel handed out (listen on port 0) could be taken meanwhile as the local port of an outgoing
 * connection, and a node started late then failed with EADDRINUSE (seen in CI for an acceptor's
 * metrics port, 20 s after it was drawn).
 */
export async function freePorts(count: number): Promise<number[]> {
  const SINGLE_PORTS = singlePortRange();
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < count && attempt < 50 * count; attempt++) {
    const port = SINGLE_PORTS.from + Math.floor(Math.random() * (SINGLE_PORTS.to - SINGLE_PORTS.from));
    if (!chosen.has(port) && (await isFree(port))) chosen.add(port);
  }
  if (chosen.size < count) throw new Error(`no ${count} free ports found in [${SINGLE_PORTS.from}, ${SINGLE_PORTS.to})`);
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
