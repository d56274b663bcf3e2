// ReadService.ReadLog at an acceptor, below its kept history: the OUT_OF_RANGE answer names a
// snapshot as covering the slot only when it does. The services are served as main.ts assembles
// them (acceptorServices), over a stand-in history and snapshot files.
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { AcceptorNode, KeptStateSnapshots, StateApplier } from '@paxos/acceptor-node';
import { createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { ReadServiceClient } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { belowHistoryOf } from '@paxos/wire';
import { acceptorServices, type AcceptorServicesContext } from './acceptor-services';
import { historyReadPacer } from './history-read-pacer';
import type { AcceptorStorage } from './storage';

const logger = createLogger('read-log-below-history-spec');
logger.level = 'silent';

/** An acceptor whose history holds slots [firstSlot, 400), all applied, and which gives the snapshot at `slotToGive`. */
async function serve(firstSlot: bigint, slotToGive: bigint | undefined) {
  const state = new AgreedState({});
  for (let i = 0n; i < 400n; i++) state.advance({ slot: i, ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } });
  const history = { firstSlot, endSlot: 400n, read: () => [] };
  const ctx = {
    node: { storage: { history } } as unknown as AcceptorNode<AcceptorStorage>,
    applier: { state, settle: () => undefined } as unknown as StateApplier,
    snapshots: { slotToGive } as unknown as KeptStateSnapshots,
    stateContext: {},
    clientReads: historyReadPacer(),
    logger,
  } as unknown as AcceptorServicesContext;
  const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: acceptorServices(ctx) });
  return { server, client: new ReadServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure()) };
}

const readLog = (client: ReadServiceClient, fromSlot: bigint) =>
  new Promise<ServiceError | undefined>((resolve) => client.readLog({ fromSlot, maxEntries: 1 }, new Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e ?? undefined)));

describe('ReadLog below an acceptor kept history', () => {
  it('names the snapshot it gives when that covers the slot', async () => {
    const { server, client } = await serve(300n, 350n);
    try {
      const e = await readLog(client, 150n);
      expect(e?.code).toBe(status.OUT_OF_RANGE);
      expect(e?.details).toMatch(/the state snapshot at slot 350 covers it/);
      expect(belowHistoryOf(e?.metadata)).toEqual({ historyFirstSlot: 300n, stateSnapshotSlot: 350n });
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });

  it('does not name the snapshot it gives when that lies at or below the slot (its latest file damaged after an install)', async () => {
    // Its own snapshot at 100, then one installed at 300 (the history restarted there, the one at
    // 100 kept as the previous); the latest file then found damaged, the one this acceptor gives is
    // the previous, at 100: it covers the slots below 100 only.
    const { server, client } = await serve(300n, 100n);
    try {
      const e = await readLog(client, 150n);
      expect(e?.code).toBe(status.OUT_OF_RANGE);
      expect(e?.details).not.toMatch(/state snapshot at slot 100 covers it/);
      expect(e?.details).toMatch(/this acceptor has no whole state snapshot that covers it/);
      expect(belowHistoryOf(e?.metadata)).toEqual({ historyFirstSlot: 300n });
      // Below that snapshot, it covers the slot and is named.
      const lower = await readLog(client, 50n);
      expect(belowHistoryOf(lower?.metadata)).toEqual({ historyFirstSlot: 300n, stateSnapshotSlot: 100n });
    } finally {
      client.close();
      await server.shutdown(0);
    }
  });
});
