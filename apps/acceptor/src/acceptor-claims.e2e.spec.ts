import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { type Claim, type Command, RefusalKind, type SlotValue, Verdict } from '@paxos/proto';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { freePorts, type NodeProcess, spawnNode } from '@paxos/test-cluster';
import { AcceptorWireClient } from './testing/wire-client';

jest.setTimeout(60_000);

const SNAPSHOT = resolve(__dirname, '../../../data/lmfdb-snapshot');
const ballot = { round: 1n, proposerId: 1 };
const TRUE_CLAIM: Claim = { source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' };
const FALSE_CLAIM: Claim = { ...TRUE_CLAIM, claimedValue: '1/1' };

function command(claim: Claim, verifiedBy: number[] = []): Command {
  const value = encodeProposalValue(
    buildProposal({
      proposalNumber: 7n,
      proposerId: 1,
      leaderboard: [{ framework: 'f', score: '1.5', pricePerPoint: '0.01', bid: '1', ask: '2' }],
      claims: [claim],
    }),
  );
  return { clientRequestId: `c-${claim.source}-${claim.claimedValue}`, value, verifiedBy };
}

function batch(...commands: Command[]): SlotValue {
  return { kind: { $case: 'batch', value: { commands } } };
}

describe('LMFDB claims: an acceptor gives its verdict on its own source, and votes on the certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acceptor-claims-'));
  const nodes: NodeProcess[] = [];
  // A network of 23: source 0 is held by acceptors 0, 10 and 20, so a certificate needs two of them.
  const start = async (id: number, port: number, cache: string) => {
    const node = spawnNode({
      app: 'acceptor',
      name: `acceptor ${id}`,
      address: `127.0.0.1:${port}`,
      args: ['--id', String(id), '--port', String(port), '--cluster-size', '23', '--data-dir', join(dir, `node_${id}`), '--lmfdb-cache', cache, '--insecure', '--metrics-port', '0'],
    });
    nodes.push(node);
    await node.waitServing();
    const client = new AcceptorWireClient(`127.0.0.1:${port}`);
    await client.prepare({ ballot, fromSlot: 0n });
    return client;
  };
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies a true claim, refuses a false one with the reason, and says nothing of other sources', async () => {
    const [port] = await freePorts(1);
    const c = await start(0, port as number, SNAPSHOT); // node 0 holds source 0 (elliptic curves)
    expect(await c.verifyClaims({ command: command(TRUE_CLAIM) })).toEqual({ acceptorId: 0, source: 0, clusterSize: 23, verdict: Verdict.VERDICT_TRUE, reason: '' });
    expect(await c.verifyClaims({ command: command(FALSE_CLAIM) })).toEqual({
      acceptorId: 0,
      source: 0,
      clusterSize: 23,
      verdict: Verdict.VERDICT_FALSE,
      reason: expect.stringContaining('11.a2: jinv is -122023936/161051, the claim says 1/1'),
    });
    const other = await c.verifyClaims({ command: command({ source: 3, label: '2.0.15.1', field: 'degree', claimedValue: '9' }) });
    expect(other.verdict).toBe(Verdict.VERDICT_TRUE); // no claim on its source
    await expect(c.verifyClaims({ command: { clientRequestId: 'x', value: { contentType: 'text/plain', data: Buffer.from('hi') }, verifiedBy: [] } })).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
    await expect(c.verifyClaims({})).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, details: expect.stringContaining('command.value is missing') });
    const status = await c.status();
    expect(status.dataSource).toMatchObject({ source: 0, table: 'ec_curvedata', loaded: true, rowCount: 80n });
    c.close();
  });

  it('votes for a value whose certificate names a majority of each claimed source, and refuses any other', async () => {
    const [port] = await freePorts(1);
    const c = await start(20, port as number, SNAPSHOT);
    // The certificate is what it votes on: it does not check the claim again (these acceptors said it is true).
    const certified = await c.accept({ accept: { ballot, slot: 0n, value: batch(command(FALSE_CLAIM, [0, 10])) } });
    expect(certified.outcome?.$case).toBe('accepted');
    const refusals: Array<[number[], RegExp]> = [
      [[], /verified by 0 of that source's acceptors \(0, 10, 20\), 2 needed/],
      [[20], /verified by 1 of that source's acceptors \(0, 10, 20\), 2 needed/],
      [[0, 0], /names acceptor 0 twice/],
      [[0, 23], /names acceptor 23, not one of the 23/],
      [[1, 11, 21], /verified by 0 of that source's acceptors/],
    ];
    for (const [i, [verifiedBy, reason]] of refusals.entries()) {
      const r = await c.accept({ accept: { ballot, slot: BigInt(i + 1), value: batch(command(TRUE_CLAIM, verifiedBy)) } });
      expect(r.outcome).toEqual({ $case: 'refused', value: { reason: expect.stringMatching(reason), kind: RefusalKind.REFUSAL_KIND_VALUE_CHECK } });
    }
    // Source 9 is held by acceptors 9 and 19: both must have verified.
    const otherSource = await c.accept({ accept: { ballot, slot: 10n, value: batch(command({ source: 9, label: 'x', field: 'y', claimedValue: 'z' }, [9, 19])) } });
    expect(otherSource.outcome?.$case).toBe('accepted');
    expect((await c.status()).counters?.refusals).toBe(BigInt(refusals.length));
    c.close();
  });

  it('without its cache it still votes, answers its verdict as unknown, and says so in Status', async () => {
    const [port] = await freePorts(1);
    const c = await start(10, port as number, join(dir, 'no-cache')); // node 10 holds source 0 too
    const plain = await c.accept({ accept: { ballot, slot: 0n, value: { kind: { $case: 'noop', value: {} } } } });
    expect(plain.outcome?.$case).toBe('accepted');
    const verdict = await c.verifyClaims({ command: command(TRUE_CLAIM) });
    expect(verdict).toMatchObject({ acceptorId: 10, source: 0, verdict: Verdict.VERDICT_UNKNOWN, reason: expect.stringContaining('cannot be verified') });
    const certified = await c.accept({ accept: { ballot, slot: 1n, value: batch(command(TRUE_CLAIM, [0, 20])) } });
    expect(certified.outcome?.$case).toBe('accepted');
    const status = await c.status();
    expect(status.dataSource).toMatchObject({ source: 0, loaded: false });
    expect(status.dataSource?.error).toMatch(/missing/);
    c.close();
  });
});
