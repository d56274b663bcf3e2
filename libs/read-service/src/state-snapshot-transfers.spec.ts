import { EventEmitter } from 'node:events';
import { type ServerWritableStream, type ServiceError, status } from '@grpc/grpc-js';
import { Consistency, type GetStateSnapshotRequest, type GetStateSnapshotResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { readService, SNAPSHOT_TRANSFERS_MAX, SNAPSHOT_TRANSFERS_TO_PROPOSERS_MAX } from './read-service';

/** A GetStateSnapshot call from `peer` (holding certificate `name`) whose client never reads: every write reports a full buffer. */
function stalledCall(peer: string, name = `client-${peer.split(':').at(-1)}`): { call: ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>; errors: ServiceError[]; cancel(): void } {
  const errors: ServiceError[] = [];
  const call = Object.assign(new EventEmitter(), {
    request: {},
    cancelled: false,
    getDeadline: () => Infinity,
    getPeer: () => peer,
    getAuthContext: () => ({ sslPeerCertificate: { subject: { CN: name } } }),
    write: () => false,
    end: () => undefined,
  });
  call.on('error', (e: ServiceError) => errors.push(e));
  return {
    call: call as unknown as ServerWritableStream<GetStateSnapshotRequest, GetStateSnapshotResponse>,
    errors,
    cancel: () => {
      call.cancelled = true;
      call.emit('cancelled');
    },
  };
}

describe('GetStateSnapshot transfers', () => {
  const service = readService({
    state: new AgreedState({}),
    defaultConsistency: Consistency.CONSISTENCY_STALE,
    readLog: async () => [],
    stateSnapshot: () => ({ slot: 10n, body: Buffer.alloc(1 << 20) }),
  });

  it('give one client one transfer at a time, so that a client that never reads cannot hold every place', async () => {
    const first = stalledCall('ipv4:127.0.0.1:5001');
    service.getStateSnapshot(first.call);
    expect(first.errors).toEqual([]);
    // The same client again: refused, and the place it did not take is still there for another.
    const again = stalledCall('ipv4:127.0.0.1:5001');
    service.getStateSnapshot(again.call);
    expect(again.errors.map((e) => e.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    expect(again.errors[0]?.details).toMatch(/already sends you a state snapshot/);
    const other = stalledCall('ipv4:127.0.0.1:5002');
    service.getStateSnapshot(other.call);
    expect(other.errors).toEqual([]);
    // Every place taken: a third client waits its turn.
    expect(SNAPSHOT_TRANSFERS_MAX).toBe(2);
    const third = stalledCall('ipv4:127.0.0.1:5003');
    service.getStateSnapshot(third.call);
    expect(third.errors.map((e) => e.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    // A cancelled transfer gives its client its place back.
    first.cancel();
    await new Promise((r) => setImmediate(r));
    const later = stalledCall('ipv4:127.0.0.1:5001');
    service.getStateSnapshot(later.call);
    expect(later.errors).toEqual([]);
    later.cancel();
    other.cancel();
  });

  it("count a certificate the CA signed with a name not of ours as one client's, not as a proposer's, on every connection", async () => {
    // Before, such a certificate ("billing", no client- prefix) took the proposers' places, one
    // per connection: four fetches that never read kept every proposer from catching up an acceptor.
    const first = stalledCall('ipv4:127.0.0.1:8001', 'billing');
    service.getStateSnapshot(first.call);
    expect(first.errors).toEqual([]);
    const again = stalledCall('ipv4:127.0.0.1:8002', 'billing');
    service.getStateSnapshot(again.call);
    expect(again.errors.map((e) => e.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    expect(again.errors[0]?.details).toMatch(/already sends you a state snapshot/);
    const fetches = Array.from({ length: SNAPSHOT_TRANSFERS_TO_PROPOSERS_MAX }, () => stalledCall('ipv4:127.0.0.1:6001', 'proposer-1'));
    for (const f of fetches) service.getStateSnapshot(f.call);
    expect(fetches.flatMap((f) => f.errors)).toEqual([]);
    for (const c of [first, again, ...fetches]) c.cancel();
    await new Promise((r) => setImmediate(r));
  });

  it('take a proposer\'s transfers at once (it may fetch for two lagging acceptors and itself), whatever clients hold', async () => {
    // Two clients that never read hold every client's place.
    const clients = [stalledCall('ipv4:127.0.0.1:7001'), stalledCall('ipv4:127.0.0.1:7002')];
    for (const c of clients) service.getStateSnapshot(c.call);
    expect(clients.flatMap((c) => c.errors)).toEqual([]);
    const fetches = Array.from({ length: SNAPSHOT_TRANSFERS_TO_PROPOSERS_MAX }, () => stalledCall('ipv4:127.0.0.1:6001', 'proposer-1'));
    for (const f of fetches) service.getStateSnapshot(f.call);
    expect(fetches.flatMap((f) => f.errors)).toEqual([]);
    // The proposers' places are bounded too.
    const past = stalledCall('ipv4:127.0.0.1:6002', 'proposer-2');
    service.getStateSnapshot(past.call);
    expect(past.errors.map((e) => e.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    for (const c of [...clients, ...fetches]) c.cancel();
    await new Promise((r) => setImmediate(r));
  });
});
