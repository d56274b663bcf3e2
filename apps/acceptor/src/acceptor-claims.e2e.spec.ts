import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Claim, SlotValue } from '@paxos/proto';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { freePorts, type NodeProcess, spawnNode } from '@paxos/test-cluster';
import { AcceptorWireClient } from './testing/wire-client';

jest.setTimeout(60_000);

const SNAPSHOT = resolve(__dirname, '../../../data/lmfdb-snapshot');
const ballot = { round: 1n, proposerId: 1 };

function harmonic(claim: Claim): SlotValue {
  const value = encodeProposalValue(
    buildProposal({
      proposalNumber: 7n,
      proposerId: 1,
      leaderboard: [{ framework: 'f', score: '1.5', pricePerPoint: '0.01', bid: '1', ask: '2' }],
      claims: [claim],
    }),
  );
  return { kind: { $case: 'batch', value: { commands: [{ clientRequestId: `c-${claim.claimedValue}`, value }] } } };
}

describe('an acceptor checks the LMFDB claims on its own source before it votes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acceptor-claims-'));
  const nodes: NodeProcess[] = [];
  const start = async (id: number, port: number, cache: string) => {
    const node = spawnNode({
      app: 'acceptor',
      name: `acceptor ${id}`,
      address: `127.0.0.1:${port}`,
      args: ['--id', String(id), '--port', String(port), '--data-dir', join(dir, `node_${id}`), '--lmfdb-cache', cache, '--insecure', '--metrics-port', '0'],
    });
    nodes.push(node);
    await node.waitServing();
    const client = new AcceptorWireClient(`127.0.0.1:${port}`);
    await client.prepare({ ballot, fromSlot: 0n });
    return client;
  };
  afterAll(() => Promise.all(nodes.map((n) => n.kill('SIGTERM'))));

  it('votes for a true claim and refuses a false one with the reason, casting no vote', async () => {
    const [port] = await freePorts(1);
    const c = await start(0, port as number, SNAPSHOT); // node 0 holds source 0 (elliptic curves)
    const ok = await c.accept({ accept: { ballot, slot: 0n, value: harmonic({ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }) } });
    expect(ok.outcome?.$case).toBe('accepted');
    const bad = await c.accept({ accept: { ballot, slot: 1n, value: harmonic({ source: 0, label: '11.a2', field: 'jinv', claimedValue: '1/1' }) } });
    expect(bad.outcome).toEqual({ $case: 'refused', value: { reason: expect.stringContaining('11.a2: jinv is -122023936/161051, the claim says 1/1') } });
    const other = await c.accept({ accept: { ballot, slot: 2n, value: harmonic({ source: 3, label: '2.0.15.1', field: 'degree', claimedValue: '9' }) } });
    expect(other.outcome?.$case).toBe('accepted'); // a claim on another source is the proposer's to check
    const status = await c.status();
    expect(status.dataSource).toMatchObject({ source: 0, table: 'ec_curvedata', loaded: true, rowCount: 80n });
    expect(status.lastAccepted?.slot).toBe(2n);
    expect(status.counters?.refusals).toBe(1n);
    c.close();
  });

  it('without its cache it still votes, refuses claims on its source as unverifiable, and says so', async () => {
    const [port] = await freePorts(1);
    const c = await start(10, port as number, join(dir, 'no-cache')); // node 10 holds source 0 too
    const plain = await c.accept({ accept: { ballot, slot: 0n, value: { kind: { $case: 'noop', value: {} } } } });
    expect(plain.outcome?.$case).toBe('accepted');
    const claim = await c.accept({ accept: { ballot, slot: 1n, value: harmonic({ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }) } });
    expect(claim.outcome).toEqual({ $case: 'refused', value: { reason: expect.stringContaining('cannot be verified') } });
    const status = await c.status();
    expect(status.dataSource).toMatchObject({ source: 0, loaded: false });
    expect(status.dataSource?.error).toMatch(/missing/);
    c.close();
  });
});
