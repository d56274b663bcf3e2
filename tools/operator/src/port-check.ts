// Before a launch starts anything: every port the network's layout names must be free, and
// named once. A node that finds its port taken exits on its own, but by then the others run:
// a launch beside another network (a status page on a port this one's metrics use) came up with
// one acceptor short, or answered another network's page as its own.
import { createServer } from 'node:net';
import type { NetworkLayout } from './network-dir';
import { portOf } from './network-dir';

/** Each host:port the layout listens on, with what listens there. */
export function listeningPlaces(layout: NetworkLayout): Array<{ address: string; what: string }> {
  const places: Array<{ address: string; what: string }> = [];
  for (const n of layout.nodes) {
    places.push({ address: n.address, what: n.role === 'acceptor' ? `acceptor ${n.id}` : 'the proposer' });
    if (n.metricsAddress) places.push({ address: n.metricsAddress, what: `${n.role === 'acceptor' ? `acceptor ${n.id}` : 'the proposer'}'s metrics` });
  }
  if (layout.statusPage) places.push({ address: layout.statusPage, what: 'the status page' });
  return places;
}

/** True when something already listens on host:port (or it cannot be listened on). */
export function portTaken(address: string): Promise<boolean> {
  const port = portOf(address);
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** Why the layout cannot listen where it says (two of its places on one port, or a port taken), or undefined. */
export async function portProblem(layout: NetworkLayout): Promise<string | undefined> {
  const places = listeningPlaces(layout);
  const byAddress = new Map<string, string[]>();
  for (const p of places) byAddress.set(p.address, [...(byAddress.get(p.address) ?? []), p.what]);
  const shared = [...byAddress].filter(([, whats]) => whats.length > 1);
  if (shared.length > 0) return `${shared.map(([a, whats]) => `${whats.join(' and ')} would share ${a}`).join('; ')}: choose other ports (--base-port, --proposer-port, --status-port, --metrics-port)`;
  const taken = (await Promise.all(places.map(async (p) => ((await portTaken(p.address)) ? p : undefined)))).filter((p) => p !== undefined);
  if (taken.length === 0) return undefined;
  const named = taken.slice(0, 5).map((p) => `${p.address} (${p.what})`).join(', ');
  return `${taken.length === 1 ? 'a port' : `${taken.length} ports`} of this network ${taken.length === 1 ? 'is' : 'are'} already in use: ${named}${taken.length > 5 ? ', ...' : ''}. Is another network running on them (npm run check -- --dir <its dir>)? Stop it, or launch on other ports (--base-port, --proposer-port, --status-port, --metrics-port)`;
}
