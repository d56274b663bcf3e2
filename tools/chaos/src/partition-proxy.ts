// TCP proxies the chaos run puts between each proposer and each acceptor (--partitions), so that
// the nemesis can cut a proposer off from some acceptors: both ways, or one way only (its
// requests arrive and go unanswered, or its requests wait while the acceptor's answers flow).
// A cut direction stops reading, so bytes wait in the sockets as they would while a real network
// drops packets and TCP retransmits; on heal they are delivered late, or the connections are
// reset (a partition that outlasted TCP).
import { createServer, type Server, type Socket, connect } from 'node:net';

export type CutDirection = 'both' | 'to-acceptor' | 'to-proposer';

interface Pair {
  readonly client: Socket; // the proposer's side
  readonly upstream: Socket; // the acceptor's side
}

/** One proposer-to-acceptor link through a proxy. */
class Link {
  readonly pairs = new Set<Pair>();
  toAcceptorCut = false;
  toProposerCut = false;

  constructor(readonly server: Server) {}

  apply(): void {
    for (const p of this.pairs) {
      if (this.toAcceptorCut) p.client.pause();
      else p.client.resume();
      if (this.toProposerCut) p.upstream.pause();
      else p.upstream.resume();
    }
  }
}

/** Forwards `from` to `to`, reading only while the direction is open and `to` takes more. */
function forward(from: Socket, to: Socket, cut: () => boolean): void {
  from.on('data', (b: Buffer) => {
    if (!to.write(b)) {
      from.pause();
      to.once('drain', () => {
        if (!cut()) from.resume();
      });
    }
  });
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
  from.on('close', () => to.destroy());
}

export class PartitionProxies {
  private readonly links = new Map<string, Link>();
  /** Addresses per proposer key, in acceptor order, to give that proposer as --acceptors. */
  private readonly addresses = new Map<number, string[]>();

  static async start(proposerKeys: readonly number[], acceptorPorts: readonly number[], ports: () => Promise<number>): Promise<PartitionProxies> {
    const proxies = new PartitionProxies();
    for (const key of proposerKeys) {
      const list: string[] = [];
      for (const [i, target] of acceptorPorts.entries()) {
        const port = await ports();
        const link: Link = new Link(
          createServer((client) => {
            const upstream = connect(target, '127.0.0.1');
            const pair = { client, upstream };
            link.pairs.add(pair);
            client.on('close', () => link.pairs.delete(pair));
            forward(client, upstream, () => link.toAcceptorCut);
            forward(upstream, client, () => link.toProposerCut);
            link.apply();
          }),
        );
        await new Promise<void>((resolve, reject) => {
          link.server.once('error', reject);
          link.server.listen(port, '127.0.0.1', () => resolve());
        });
        proxies.links.set(`${key}/${i}`, link);
        list.push(`127.0.0.1:${port}`);
      }
      proxies.addresses.set(key, list);
    }
    return proxies;
  }

  acceptorsFor(proposerKey: number): string[] {
    const a = this.addresses.get(proposerKey);
    if (a === undefined) throw new Error(`no proxies for proposer ${proposerKey}`);
    return a;
  }

  cut(proposerKey: number, acceptor: number, direction: CutDirection): void {
    const link = this.links.get(`${proposerKey}/${acceptor}`);
    if (link === undefined) return;
    link.toAcceptorCut = direction !== 'to-proposer';
    link.toProposerCut = direction !== 'to-acceptor';
    link.apply();
  }

  /** Opens the link again; `reset` destroys its connections (the proposer reconnects) instead of delivering what waited. */
  heal(proposerKey: number, acceptor: number, reset: boolean): void {
    const link = this.links.get(`${proposerKey}/${acceptor}`);
    if (link === undefined) return;
    link.toAcceptorCut = false;
    link.toProposerCut = false;
    if (reset) for (const p of link.pairs) p.client.destroy();
    link.apply();
  }

  healAll(): void {
    for (const link of this.links.values()) {
      link.toAcceptorCut = false;
      link.toProposerCut = false;
      link.apply();
    }
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) {
      for (const p of link.pairs) p.client.destroy();
      await new Promise<void>((resolve) => link.server.close(() => resolve()));
    }
  }
}
