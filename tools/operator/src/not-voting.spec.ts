import { createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import { AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { notVotingReason } from './launch-network';

const logger = createLogger('not-voting-spec');

/** An acceptor stand-in whose Status answers with `storage`. */
function standIn(storage: StatusResponse['storage']): Promise<RunningServer> {
  const status = (_call: unknown, cb: (e: null, r: StatusResponse) => void) => cb(null, StatusResponse.fromPartial({ nodeId: 0, storage }));
  return startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: { status } }] });
}

describe('a launched acceptor that never became ready', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => Promise.all(servers.splice(0).map((s) => s.shutdown(100))));

  it('is reported with its failed storage when its Status says so', async () => {
    const s = await standIn({ healthy: false, error: 'fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device', dataDir: '/d', logBytes: 0n, snapshotSlot: 0n, fsyncs: 0n, historyFirstSlot: 0n, historyBytes: 0n });
    servers.push(s);
    expect(await notVotingReason(`127.0.0.1:${s.port}`, INSECURE)).toBe(
      'it runs but does not vote: its storage failed (fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device); README: "A damaged acceptor"',
    );
  });

  it('has nothing more to say when its storage is healthy or it does not answer', async () => {
    const s = await standIn({ healthy: true, error: '', dataDir: '/d', logBytes: 0n, snapshotSlot: 0n, fsyncs: 0n, historyFirstSlot: 0n, historyBytes: 0n });
    servers.push(s);
    expect(await notVotingReason(`127.0.0.1:${s.port}`, INSECURE)).toBeUndefined();
    expect(await notVotingReason('127.0.0.1:1', INSECURE)).toBeUndefined();
  });
});
