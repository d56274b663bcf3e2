import { createServer } from 'node:net';

/** Free loopback ports: each bound to port 0 at once, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
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
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = window.from + Math.floor(Math.random() * (window.to - window.from));
    const ports = [...Array.from({ length: count }, (_, i) => base + i), ...Array.from({ length: count }, (_, i) => base + 2000 + i)];
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports (and their metrics ports) found in 50 tries in [${window.from}, ${window.to})`);
}
