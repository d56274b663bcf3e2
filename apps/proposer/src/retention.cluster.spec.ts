import { type ChannelCredentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { channelCredentials, loadTls, tlsFilesIn } from '@paxos/grpc-kit';
import { AcceptorServiceClient, type LearnResponse, ProposerServiceClient, type ReadLogResponse, ReadServiceClient, type StatusResponse } from '@paxos/proto';
import { belowHistoryOf } from '@paxos/wire';
import { TestCluster, textValue } from '@paxos/test-cluster';
import { crc32 } from 'node:zlib';

jest.setTimeout(180_000);

const deadline = () => ({ deadline: Date.now() + 10_000 });

function learn(address: string, fromSlot = 0n): Promise<LearnResponse> {
  const client = new AcceptorServiceClient(address, TestCluster.credentialsFor(address));
  return new Promise((resolve, reject) =>
    client.learn({ fromSlot, maxEntries: 1 }, new Metadata(), deadline(), (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

function readLog(address: string, fromSlot: bigint, maxEntries = 1024): Promise<ReadLogResponse> {
  const client = new ReadServiceClient(address, TestCluster.credentialsFor(address));
  return new Promise((resolve, reject) =>
    client.readLog({ fromSlot, maxEntries }, new Metadata(), deadline(), (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

/** One InstallStateSnapshot call of one chunk under proposer `proposerId`'s ballot. */
function install(address: string, creds: ChannelCredentials, proposerId: number, slot: bigint, body: Buffer): Promise<unknown> {
  const client = new AcceptorServiceClient(address, creds);
  return new Promise((resolve, reject) => {
    const call = client.installStateSnapshot(new Metadata(), deadline(), (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    });
    call.write({ ballot: { round: 1n, proposerId }, chunk: { slot, totalBytes: BigInt(body.length), crc32: crc32(body), offset: 0n, data: body } });
    call.end();
  });
}

/** The first WatchChosen answer from slot 0, or its error. */
function acceptorStatus(address: string): Promise<StatusResponse> {
  const client = new AcceptorServiceClient(address, TestCluster.credentialsFor(address));
  return new Promise((resolve, reject) =>
    client.status({}, new Metadata(), deadline(), (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

function watchFromZero(address: string): Promise<unknown> {
  const client = new ProposerServiceClient(address, TestCluster.credentialsFor(address));
  const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), deadline());
  return new Promise((resolve, reject) => {
    call.on('data', (r) => {
      call.cancel();
      client.close();
      resolve(r);
    });
    call.on('error', (e) => {
      client.close();
      reject(e);
    });
  });
}

const waitFor = async (what: string, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
  const until = Date.now() + timeoutMs;
  // Bounded by the deadline.
  while (!(await ok().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

describe('history retention and state snapshots between nodes (real processes)', () => {
  let cluster: TestCluster;
  afterAll(() => cluster?.stop());

  it('drops old history under the flag, names the snapshot for slots below it, and brings a restarted proposer and a lagging acceptor past it', async () => {
    // Tiny segments and snapshots, so that a few hundred slots are enough.
    cluster = await TestCluster.start({ acceptors: 3, extraAcceptorArgs: ['--history-retain-slots', '20', '--state-snapshot-every', '30', '--history-segment-bytes', '4096'] });
    await cluster.killAcceptor(2);
    await cluster.startProposer(1);
    const [a0, a1, a2] = cluster.acceptorAddresses as [string, string, string];

    const first = await cluster.propose(1, 'c0', textValue('first command'));
    let n = 1;
    await waitFor('history dropped below slot 100 on both live acceptors', async () => {
      await Promise.all(Array.from({ length: 20 }, () => n++).map((i) => cluster.propose(1, `c${i}`, textValue(`command ${i} `.padEnd(120, '.')))));
      const [l0, l1] = await Promise.all([learn(a0), learn(a1)]);
      return l0.oldestKeptSlot >= 100n && l1.oldestKeptSlot >= 100n;
    });

    // Below the retained history: OUT_OF_RANGE naming the snapshot; from it on, the log reads.
    const below = await readLog(a0, 0n).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(below).toMatchObject({ code: status.OUT_OF_RANGE, details: expect.stringMatching(/state snapshot at slot \d+ covers it/) });
    // Its trailers say the same to a program: where the history goes on, and the snapshot's slot.
    const named = belowHistoryOf(below?.metadata);
    expect(named?.historyFirstSlot).toBeGreaterThanOrEqual(100n);
    expect(named?.stateSnapshotSlot).toBe(BigInt(/state snapshot at slot (\d+)/.exec(below?.details ?? '')?.[1] ?? -1));
    // Commit notices of the last proposals may still arrive, and a read applies what is held and may
    // start a snapshot whose write drops history: the range moves only forward, so a read between
    // two Learn answers that agree saw that range. A pass where it moved is tried again.
    let settled: { l0: LearnResponse; kept: ReadLogResponse } | undefined;
    for (let i = 0; i < 100 && settled === undefined; i++) {
      const l0 = await learn(a0);
      const kept = await readLog(a0, l0.oldestKeptSlot, 5).catch((e: Error) => e);
      const again = await learn(a0);
      if (again.oldestKeptSlot !== l0.oldestKeptSlot || again.snapshotSlot !== l0.snapshotSlot) {
        await new Promise((r) => setTimeout(r, 300));
        continue;
      }
      if (kept instanceof Error) throw kept; // the range stood still: its first slot must read
      settled = { l0, kept };
    }
    if (settled === undefined) throw new Error('the retained range of acceptor 0 moved during each of 100 reads');
    const { l0, kept } = settled;
    expect(l0.chosen).toEqual([]);
    expect(l0.snapshotSlot).toBeGreaterThanOrEqual(l0.oldestKeptSlot);
    expect(kept.entries[0]?.slot).toBe(l0.oldestKeptSlot);
    // Status names the snapshot it gives too (it may have written a newer one since).
    expect((await acceptorStatus(a0)).stateSnapshotSlot).toBeGreaterThanOrEqual(l0.snapshotSlot);

    // A restarted proposer installs the newest snapshot: it serves, answers a retry of the first
    // command with the slot it took effect in, and says the slots below the history are gone.
    await cluster.proposers.get(1)?.kill('SIGKILL');
    await cluster.startProposer(1);
    const retry = await cluster.propose(1, 'c0', textValue('first command'));
    expect([retry.slot, retry.duplicate]).toEqual([first.slot, true]);
    const next = await cluster.propose(1, 'after-restart', textValue('after the restart'));
    expect(next.duplicate).toBe(false);
    const watched = await watchFromZero(cluster.proposerAddress(1)).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(watched?.code).toBe(status.OUT_OF_RANGE);
    expect(belowHistoryOf(watched?.metadata)?.stateSnapshotSlot).toBeGreaterThan(0n);

    // The acceptor that was down the whole time is below every retained history: it is given a
    // snapshot, then the log from there, and answers the same reads as the others.
    await cluster.startAcceptor(2);
    await waitFor('the lagging acceptor caught up', async () => (await learn(a2)).committedIndex > next.slot);
    const l2 = await learn(a2);
    expect(l2.oldestKeptSlot).toBeGreaterThan(0n);
    await waitFor('the lagging acceptor applied the log', async () => (await readLog(a2, l2.oldestKeptSlot, 1)).appliedSlot > next.slot);
    const a0First = (await learn(a0)).oldestKeptSlot;
    const from = l2.oldestKeptSlot > a0First ? l2.oldestKeptSlot : a0First;
    const [mine, theirs] = await Promise.all([readLog(a2, from, 50), readLog(a0, from, 50)]);
    expect(mine.entries.length).toBeGreaterThan(0);
    expect(mine.entries.slice(0, theirs.entries.length)).toEqual(theirs.entries.slice(0, mine.entries.length));

    // It comes back after a restart where the snapshot left it (and is brought up again: commit
    // notices are not durable).
    await cluster.killAcceptor(2);
    await cluster.startAcceptor(2);
    const again = await learn(a2);
    expect(again.oldestKeptSlot).toBe(l2.oldestKeptSlot);
    expect(again.committedIndex).toBeGreaterThanOrEqual(l2.oldestKeptSlot);
    await waitFor('the restarted acceptor caught up', async () => (await learn(a2)).committedIndex > next.slot);
    expect((await readLog(a2, from, 50)).entries.slice(0, theirs.entries.length)).toEqual(theirs.entries.slice(0, mine.entries.length));

    // An install from a client's certificate, under another proposer's ballot, or of bytes that
    // are no snapshot, changes nothing.
    const before = (await learn(a0)).committedIndex;
    const proposer1 = channelCredentials(loadTls(tlsFilesIn(cluster.tlsDir as string, 'proposer-1')));
    await expect(install(a0, cluster.credentials, 1, 1n << 40n, Buffer.from('not a snapshot'))).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    await expect(install(a0, proposer1, 2, 1n << 40n, Buffer.from('not a snapshot'))).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    await expect(install(a0, proposer1, 1, 1n << 40n, Buffer.from('not a snapshot'))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/not a usable state snapshot/) });
    expect((await learn(a0)).committedIndex).toBeLessThan(before + 1000n);
  });
});
