import { Quorum } from '@paxos/consensus-core';
import { StatusResponse, StorageStatus } from '@paxos/proto';
import type { AcceptorLink } from './acceptor-link';
import { clusterStatus } from './cluster-status';

/** A link whose Status answers `s`, or fails when s is undefined. */
const link = (address: string, s?: Partial<StatusResponse>): AcceptorLink =>
  ({ address, status: async () => (s ? StatusResponse.fromPartial({ committedIndex: 9n, ...s }) : Promise.reject(new Error('down'))) }) as unknown as AcceptorLink;

describe('ClusterStatus', () => {
  it('counts only voting acceptors toward the quorum: a failed storage or a rejoin is alive but no vote', async () => {
    const failed = { storage: StorageStatus.fromPartial({ healthy: false, error: 'fdatasync: EIO' }) };
    const links = [link('a:0', {}), link('a:1', { rejoining: true }), link('a:2', failed)];
    const r = await clusterStatus(links, Quorum.majority(3), 100);
    expect(r).toMatchObject({ alive: 3, voting: 1, quorumAlive: false, holdingLatest: 3, committedIndex: 9n });
    const healthy = await clusterStatus([link('a:0', {}), link('a:1', { rejoining: true }), link('a:2', {})], Quorum.majority(3), 100);
    expect(healthy).toMatchObject({ alive: 3, voting: 2, quorumAlive: true });
    const down = await clusterStatus([link('a:0', {}), link('a:1'), link('a:2')], Quorum.majority(3), 100);
    expect(down).toMatchObject({ alive: 1, voting: 1, quorumAlive: false });
  });
});
