import { Metadata, status } from '@grpc/grpc-js';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { Consistency, type GetLeaderboardResponse, ReadServiceClient, type Value } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';

jest.setTimeout(120_000);

const row = (framework: string, score: string) => ({ framework, score, pricePerPoint: '1.25', bid: '1', ask: '2' });
const proposal = (n: number, rows: ReturnType<typeof row>[]): Value => encodeProposalValue(buildProposal({ proposalNumber: BigInt(n), proposerId: 1, leaderboard: rows }));

function call<Req, Res>(address: string, method: 'getLeaderboard' | 'getProposal' | 'listProposals' | 'readLog', request: Req): Promise<Res> {
  const client = new ReadServiceClient(address, TestCluster.credentialsFor(address));
  return new Promise<Res>((resolve, reject) =>
    (client[method] as unknown as (r: Req, m: Metadata, o: object, cb: (e: Error | null, r: Res) => void) => void)(
      request,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (e, r) => {
        client.close();
        if (e) reject(e);
        else resolve(r);
      },
    ),
  );
}
const leaderboard = (address: string, consistency = Consistency.CONSISTENCY_UNSPECIFIED) =>
  call<object, GetLeaderboardResponse>(address, 'getLeaderboard', { consistency, historyMax: 10 });
const rowsOf = (r: GetLeaderboardResponse) => r.rows.map((x) => [x.framework, x.score, x.proposalNumber]);

describe('reads of the agreed state (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 3 });
    await cluster.startProposer(1);
  });
  afterAll(() => cluster.stop());

  it('the proposer answers the registry and the leaderboard linearizably, right after each write', async () => {
    await cluster.propose(1, 'p1', proposal(1, [row('alpha', '10'), row('beta', '5')]));
    expect(rowsOf(await leaderboard(cluster.proposerAddress(1)))).toEqual([
      ['alpha', '10', 1n],
      ['beta', '5', 1n],
    ]);
    const second = await cluster.propose(1, 'p2', proposal(2, [row('beta', '7')]));
    const after = await leaderboard(cluster.proposerAddress(1));
    expect(rowsOf(after)).toEqual([
      ['alpha', '10', 1n],
      ['beta', '7', 2n],
    ]);
    expect(after.appliedSlot).toBeGreaterThan(second.slot);
    // Another proposal with number 1 would be refused by the registry once chosen: the proposer
    // refuses it first, naming where number 1 took effect (the registry's own refusal, for a
    // proposal that passes a proposer whose state lags, is the state machine's tests').
    await expect(cluster.propose(1, 'p1-other', proposal(1, [row('alpha', '99')]))).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining('proposal 1 already took effect in slot'),
    });
    const refused = await leaderboard(cluster.proposerAddress(1));
    expect([refused.proposals, refused.refused, refused.rows[0]?.score]).toEqual([2n, 0n, '10']);

    const p2 = await call<object, { proposal?: { slot: bigint; clientRequestId: string }; appliedSlot: bigint }>(cluster.proposerAddress(1), 'getProposal', { proposalNumber: 2n, consistency: 0 });
    expect(p2.proposal).toMatchObject({ slot: second.slot, clientRequestId: 'p2' });
    await expect(call(cluster.proposerAddress(1), 'getProposal', { proposalNumber: 99n, consistency: 0 })).rejects.toMatchObject({ code: status.NOT_FOUND });
    const list = await call<object, { proposals: Array<{ proposalNumber: bigint }>; nextNumber: bigint }>(cluster.proposerAddress(1), 'listProposals', { fromNumber: 0n, maxEntries: 1, consistency: 0 });
    expect([list.proposals.map((p) => p.proposalNumber), list.nextNumber]).toEqual([[1n], 2n]);
  });

  it('a reused client_request_id with another value is refused with ALREADY_EXISTS naming its slot', async () => {
    await expect(cluster.propose(1, 'p2', proposal(3, [row('gamma', '1')]))).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
      details: expect.stringMatching(/already took effect in slot \d+ with another value/),
    });
  });

  it('a proposal is validated by what its content type says, however it is spelled', async () => {
    const spelled = 'APPLICATION/x-protobuf;messagetype=harmonic.v1.MonsterHarmonicProposal';
    const wrongHash = { ...buildProposal({ proposalNumber: 5n, proposerId: 1, leaderboard: [row('eps', '1')] }), leaderboardSha256: 'ab'.repeat(32) };
    await expect(cluster.propose(1, 'odd-bad', { contentType: spelled, data: encodeProposalValue(wrongHash).data })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringMatching(/leaderboard_sha256/),
    });
    await expect(cluster.propose(1, 'odd-type', { contentType: 'application/x-protobuf; messageType=harmonic.v1.monsterharmonicproposal', data: Buffer.from('x') })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    const ok = await cluster.propose(1, 'odd-good', { contentType: spelled, data: proposal(5, [row('eps', '1')]).data });
    const p5 = await call<object, { proposal?: { slot: bigint } }>(cluster.proposerAddress(1), 'getProposal', { proposalNumber: 5n, consistency: 0 });
    expect(p5.proposal?.slot).toBe(ok.slot);
  });

  it('acceptors answer stale reads with the slot they reflect, and send linearizable reads to a proposer', async () => {
    const target = (await leaderboard(cluster.proposerAddress(1))).appliedSlot;
    for (const address of cluster.acceptorAddresses) {
      let r = await leaderboard(address);
      for (let i = 0; i < 100 && r.appliedSlot < target; i++) {
        await new Promise((res) => setTimeout(res, 50));
        r = await leaderboard(address);
      }
      expect(r.appliedSlot).toBe(target);
      expect(rowsOf(r)).toEqual([
        ['alpha', '10', 1n],
        ['beta', '7', 2n],
        ['eps', '1', 5n],
      ]);
      await expect(leaderboard(address, Consistency.CONSISTENCY_LINEARIZABLE)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    }
    const log = await call<object, { entries: Array<{ slot: bigint; outcomes: Array<{ clientRequestId: string; duplicate: boolean }> }> }>(
      cluster.acceptorAddresses[0] as string,
      'readLog',
      { fromSlot: 0n, maxEntries: 0 },
    );
    expect(log.entries.flatMap((e) => e.outcomes.map((o) => o.clientRequestId))).toEqual(['p1', 'p2', 'odd-good']);
  });

  it('a linearizable read through a new proposer, after the old one was killed, sees every acknowledged write', async () => {
    await cluster.propose(1, 'p4', proposal(4, [row('delta', '4')]));
    await cluster.proposers.get(1)?.kill('SIGKILL');
    await cluster.startProposer(2);
    const r = await leaderboard(cluster.proposerAddress(2));
    expect(rowsOf(r)).toContainEqual(['delta', '4', 4n]);
    // And a retry of a write made through the dead proposer is answered with its first slot.
    const retry = await cluster.propose(2, 'p4', proposal(4, [row('delta', '4')]));
    expect(retry.duplicate).toBe(true);
  });

  it('a retry through a second live proposer that has not learned the first answer yet is a duplicate there too, at the same slot', async () => {
    await cluster.startProposer(3);
    for (let i = 0; i < 3; i++) {
      const first = await cluster.propose(2, `twice-${i}`, proposal(10 + i, [row(`twice-${i}`, '1')]));
      expect(first.duplicate).toBe(false);
      const retry = await cluster.propose(3, `twice-${i}`, proposal(10 + i, [row(`twice-${i}`, '1')]));
      expect([retry.slot, retry.duplicate]).toEqual([first.slot, true]);
    }
  });

  it('an id that took effect, sent again with a number another id took since, is ALREADY_EXISTS at its own slot at every proposer', async () => {
    const own = await cluster.propose(3, 'own-40', proposal(40, [row('own', '1')]));
    await cluster.propose(2, 'other-41', proposal(41, [row('other', '1')]));
    // Proposer 2 has applied number 41; proposer 3 may not have yet: the same request, the same answer.
    for (const p of [2, 3]) {
      await expect(cluster.propose(p, 'own-40', proposal(41, [row('own', '2')]))).rejects.toMatchObject({
        code: status.ALREADY_EXISTS,
        details: expect.stringContaining(`client_request_id "own-40" already took effect in slot ${own.slot} with another value`),
      });
    }
  });
});
