import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { describeSymbol, isServing, resolveByReflection } from '@paxos/grpc-kit';
import type { AcceptRequest, Ballot, PrepareRequest, SlotValue } from '@paxos/proto';
import { freePorts, type NodeProcess, releasePorts, spawnNode } from '@paxos/test-cluster';
import { HISTORY_DIR } from './storage';
import { FRAME_HEADER_BYTES } from './storage/framing';
import { AcceptorWireClient } from './testing/wire-client';

jest.setTimeout(60_000);

const b = (round: number | bigint, proposerId = 1): Ballot => ({ round: BigInt(round), proposerId });
const text = (t: string): SlotValue => ({
  kind: { $case: 'batch', value: { commands: [{ clientRequestId: t, value: { contentType: 'text/plain', data: Buffer.from(t) }, verifiedBy: [] }] } },
});

interface Node {
  proc: NodeProcess;
  address: string;
  dataDir: string;
  port: number;
}

async function startAcceptor(dir: string, port: number, extra: string[] = [], id = 0): Promise<Node> {
  const address = `127.0.0.1:${port}`;
  const dataDir = join(dir, `node_${id}.data`);
  const proc = spawnNode({
    app: 'acceptor',
    name: `acceptor ${id}`,
    address,
    args: ['--id', String(id), '--port', String(port), '--data-dir', dataDir, '--lmfdb-cache', join(dir, 'none'), '--insecure', '--metrics-port', '0', ...extra],
  });
  await proc.waitServing();
  return { proc, address, dataDir, port };
}

/** The slot after the last whole record in the chosen history's segment files (what a kill -9 leaves). */
function historyWrittenEnd(dataDir: string): bigint {
  const dir = join(dataDir, HISTORY_DIR);
  const last = readdirSync(dir)
    .map((f) => /^chosen-(\d{20})\.seg$/.exec(f)?.[1])
    .filter((first): first is string => first !== undefined)
    .sort()
    .at(-1);
  if (last === undefined) return 0n;
  const buf = readFileSync(join(dir, `chosen-${last}.seg`));
  let end = BigInt(last);
  // Bounded: every turn moves past one whole frame or stops.
  for (let at = 0; at + FRAME_HEADER_BYTES <= buf.length && at + FRAME_HEADER_BYTES + buf.readUInt32LE(at) <= buf.length; at += FRAME_HEADER_BYTES + buf.readUInt32LE(at)) end += 1n;
  return end;
}

function logSegments(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(dataDir, f));
}

describe('acceptor over gRPC', () => {
  let dir: string;
  let ports: number[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acceptor-e2e-'));
    ports = await freePorts(8);
  });
  // After every describe's own afterAll has stopped its nodes.
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    releasePorts(ports);
  });

  describe('Paxos rules through the wire', () => {
    let node: Node;
    let c: AcceptorWireClient;
    beforeAll(async () => {
      node = await startAcceptor(dir, ports[0] as number, [], 0);
      c = new AcceptorWireClient(node.address);
    });
    afterAll(async () => {
      c.close();
      await node.proc.kill('SIGTERM');
    });

    it('promises a ballot above its promise and reports no accepted values yet', async () => {
      const r = await c.prepare({ ballot: b(1), fromSlot: 0n });
      expect(r.outcome).toEqual({ $case: 'promised', value: { ballot: b(1), accepted: [], truncated: false, committedIndex: 0n } });
    });

    it('rejects a prepare whose ballot is not above its promise, carrying the promise', async () => {
      expect((await c.prepare({ ballot: b(1), fromSlot: 0n })).outcome).toEqual({ $case: 'rejected', value: { promised: b(1) } });
      expect((await c.prepare({ ballot: b(2), fromSlot: 0n })).outcome?.$case).toBe('promised');
    });

    it('rejects an accept below its promise and accepts one at it', async () => {
      const low = await c.accept({ accept: { ballot: b(1), slot: 0n, value: text('low') } });
      expect(low.outcome).toEqual({ $case: 'rejected', value: { promised: b(2) } });
      const ok = await c.accept({ accept: { ballot: b(2), slot: 0n, value: text('v0') } });
      expect(ok.outcome).toEqual({ $case: 'accepted', value: { ballot: b(2), slot: 0n, committedIndex: 0n, durableCommittedIndex: 0n } });
    });

    it('accepts above its promise and raises the promise', async () => {
      const ok = await c.accept({ accept: { ballot: b(3, 2), slot: 1n, value: text('v1') } });
      expect(ok.outcome?.$case).toBe('accepted');
      expect((await c.prepare({ ballot: b(3, 1), fromSlot: 0n })).outcome).toEqual({ $case: 'rejected', value: { promised: b(3, 2) } });
    });

    it('reports accepted values from from_slot on in its promise', async () => {
      const all = await c.prepare({ ballot: b(4), fromSlot: 0n });
      expect(all.outcome?.$case).toBe('promised');
      if (all.outcome?.$case !== 'promised') return;
      expect(all.outcome.value.accepted.map((e) => [e.slot, e.ballot])).toEqual([
        [0n, b(2)],
        [1n, b(3, 2)],
      ]);
      expect(all.outcome.value.accepted[0]?.value).toEqual(text('v0'));
      const later = await c.prepare({ ballot: b(5), fromSlot: 1n });
      if (later.outcome?.$case !== 'promised') throw new Error('expected a promise');
      expect(later.outcome.value.accepted.map((e) => e.slot)).toEqual([1n]);
    });

    it('advances the committed index on commit notices and shows it all in Status', async () => {
      const r = await c.accept({ commits: [{ ballot: b(2), fromSlot: 0n, toSlot: 1n, values: [] }] });
      expect(r.outcome).toEqual({ $case: 'committed', value: { committedIndex: 1n, durableCommittedIndex: 0n } });
      // A commit notice riding on an accept names its own ballot: slot 1 was chosen under 3.2, so
      // a notice that it was chosen under 5.1 (a forged one) teaches this acceptor nothing.
      const carried = await c.accept({ accept: { ballot: b(5), slot: 2n, value: text('v2') }, commits: [{ ballot: b(5), fromSlot: 1n, toSlot: 2n, values: [] }] });
      expect(carried.outcome).toEqual({ $case: 'accepted', value: { ballot: b(5), slot: 2n, committedIndex: 1n, durableCommittedIndex: 0n } });
      const range = await c.accept({ accept: { ballot: b(5), slot: 3n, value: text('v3') }, commits: [{ ballot: b(5), fromSlot: 2n, toSlot: 3n, values: [] }] });
      expect(range.outcome).toEqual({ $case: 'accepted', value: { ballot: b(5), slot: 3n, committedIndex: 1n, durableCommittedIndex: 0n } });
      const s = await c.status();
      expect(s).toMatchObject({
        nodeId: 0,
        promised: b(5),
        committedIndex: 1n,
        clusterSize: 23,
        quorumSize: 12,
        crashTolerance: 11,
        byzantineTolerance: 0,
        lastAccepted: { slot: 3n, ballot: b(5) },
        storage: { healthy: true, error: '' },
      });
      expect(s.lastAccepted?.valueDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(s.counters).toMatchObject({ promises: 4n, rejects: 3n, accepted: 4n, commits: 3n });
      expect(s.dataSource).toMatchObject({ source: 0, table: 'ec_curvedata', loaded: false });
      expect(s.dataSource?.error).toMatch(/missing/);
      expect(s.uptimeMs).toBeGreaterThan(0n);
    });

    it('applies commit notices alone, with values where given, in one message and answers once', async () => {
      // Slots 1..3 chosen under 5.1; this acceptor holds 2 and 3 but was spared slot 1.
      const r = await c.accept({
        commits: [
          { ballot: b(5), fromSlot: 1n, toSlot: 2n, values: [text('v1')] },
          { ballot: b(5), fromSlot: 2n, toSlot: 4n, values: [] },
        ],
      });
      expect(r.outcome).toEqual({ $case: 'committed', value: { committedIndex: 4n, durableCommittedIndex: 0n } });
      expect((await c.status()).counters).toMatchObject({ commits: 6n });
    });

    it('serves reflection that a strict client resolves, and health', async () => {
      const r = await resolveByReflection(node.address);
      expect(r.services).toEqual(expect.arrayContaining(['paxos.v1.AcceptorService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']));
      // Only what the acceptor serves: no ProposerService or RecordService to call and get UNIMPLEMENTED.
      expect(r.services).not.toContain('paxos.v1.ProposerService');
      expect(r.services).not.toContain('lmfdb.v1.RecordService');
      expect(describeSymbol(r.registry, 'paxos.v1.AcceptorService')).toContain('rpc Accept ( stream .paxos.v1.AcceptRequest ) returns ( stream .paxos.v1.AcceptResponse );');
      expect(describeSymbol(r.registry, 'paxos.v1.Promised')).toContain('truncated');
      expect(await isServing(node.address, 2000)).toBe(true);
    });
  });

  describe('bad input', () => {
    let node: Node;
    beforeAll(async () => {
      node = await startAcceptor(dir, ports[1] as number, ['--max-value-bytes', '2048'], 1);
    });
    afterAll(() => node.proc.kill('SIGTERM'));

    const prepareCases: Array<[string, Omit<PrepareRequest, 'requestId'>, RegExp]> = [
      ['a prepare without a ballot', { fromSlot: 0n } as Omit<PrepareRequest, 'requestId'>, /ballot is missing/],
      ['a prepare with ballot round 0', { ballot: b(0), fromSlot: 0n }, /round/],
      ['a prepare from a proposer outside the configured set', { ballot: b(1, 99), fromSlot: 0n }, /proposer id 99/],
    ];
    const acceptCases: Array<[string, Partial<AcceptRequest>, RegExp]> = [
      ['an empty accept request', {}, /set accept, commits or both/],
      ['a commit notice without a ballot', { commits: [{ fromSlot: 0n, toSlot: 1n, values: [] }] }, /commits\[0\]\.ballot is missing/],
      ['a commit notice of an empty range', { commits: [{ ballot: b(1), fromSlot: 4n, toSlot: 4n, values: [] }] }, /not above from_slot/],
      ['commit notices of 2^64 slots', { commits: [{ ballot: b(1), fromSlot: 0n, toSlot: (1n << 64n) - 1n, values: [] }] }, /more than 4096 slots/],
      ['a commit notice with values for some of its slots', { commits: [{ ballot: b(1), fromSlot: 0n, toSlot: 2n, values: [text('x')] }] }, /1 values for 2 slots/],
      ['an accept without a value', { accept: { ballot: b(1), slot: 0n } }, /value is missing/],
      ['an accept with ballot round 0', { accept: { ballot: b(0), slot: 0n, value: text('x') } }, /round/],
      ['an accept for a slot beyond the bound', { accept: { ballot: b(1), slot: (1n << 63n) + 5n, value: text('x') } }, /slot/],
      ['an accept of a value above the size limit', { accept: { ballot: b(1), slot: 0n, value: text('x'.repeat(4096)) } }, /bytes|size|limit/],
      ['an accept of a batch without commands', { accept: { ballot: b(1), slot: 0n, value: { kind: { $case: 'batch', value: { commands: [] } } } } }, /empty|command/],
      ['an accept with a commit notice without a ballot', { accept: { ballot: b(1), slot: 0n, value: text('x') }, commits: [{ fromSlot: 0n, toSlot: 1n, values: [] }] }, /commits\[0\]\.ballot is missing/],
    ];

    it.each(prepareCases)('%s ends its stream with INVALID_ARGUMENT and persists nothing', async (_name, req, message) => {
      const c = new AcceptorWireClient(node.address);
      await expect(c.prepare(req)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
      c.close();
    });

    it.each(acceptCases)('%s ends its stream with INVALID_ARGUMENT and persists nothing', async (_name, request, message) => {
      const c = new AcceptorWireClient(node.address);
      await expect(c.accept(request)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
      c.close();
    });

    it('refuses a message above the gRPC receive limit with RESOURCE_EXHAUSTED', async () => {
      const c = new AcceptorWireClient(node.address);
      await expect(c.accept({ accept: { ballot: b(1), slot: 0n, value: text('y'.repeat(200_000)) } })).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
      });
      c.close();
    });

    it('stays healthy, with nothing persisted, and other streams keep working', async () => {
      const c = new AcceptorWireClient(node.address);
      const s = await c.status();
      expect(s.promised).toEqual(b(0, 0));
      expect(s.lastAccepted).toBeUndefined();
      expect(s.counters?.invalidRequests).toBe(BigInt(prepareCases.length + acceptCases.length));
      expect(await isServing(node.address, 2000)).toBe(true);
      expect((await c.prepare({ ballot: b(1), fromSlot: 0n })).outcome?.$case).toBe('promised');
      c.close();
    });
  });

  describe('durable chosen history', () => {
    const value = (i: number, size = 200): SlotValue => ({
      kind: { $case: 'batch', value: { commands: [{ clientRequestId: `id-${i}`, value: { contentType: 'text/plain', data: Buffer.alloc(size, 46) }, verifiedBy: [] }] } },
    });
    const learn = (c: AcceptorWireClient, fromSlot: bigint, maxEntries = 100) =>
      new Promise<{ chosen: Array<{ slot: bigint; value?: SlotValue }>; committedIndex: bigint; oldestKeptSlot: bigint }>((resolve, reject) =>
        c.client.learn({ fromSlot, maxEntries }, new Metadata(), { deadline: Date.now() + 5000 }, (e, res) => (e || !res ? reject(e) : resolve(res))),
      );

    it('keeps every chosen value on disk and comes back after kill -9 at its committed index, readable from slot 0', async () => {
      let node = await startAcceptor(dir, ports[6] as number, [], 6);
      let c = new AcceptorWireClient(node.address);
      const slots = 3000;
      for (let from = 0; from < slots; from += 250) {
        const values = Array.from({ length: 250 }, (_, i) => value(from + i));
        await c.accept({ commits: [{ ballot: b(1), fromSlot: BigInt(from), toSlot: BigInt(from + 250), values }] });
      }
      expect((await c.status()).committedIndex).toBe(BigInt(slots));
      // The history writes commit notices in batches (on a quiet node, after an idle timer), and
      // answers reads from those not written yet too: what survives a kill -9 is what its segment
      // files hold, so wait until they hold every slot.
      const writtenBy = Date.now() + 20_000;
      while (historyWrittenEnd(node.dataDir) < BigInt(slots)) {
        if (Date.now() > writtenBy) throw new Error(`the chosen history's files reach slot ${historyWrittenEnd(node.dataDir)}, not ${slots}, after 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      c.close();
      await node.proc.kill('SIGKILL');
      node = await startAcceptor(dir, ports[6] as number, [], 6);
      c = new AcceptorWireClient(node.address);
      expect((await c.status()).committedIndex).toBe(BigInt(slots));
      const first = await learn(c, 0n, 10);
      expect(first.oldestKeptSlot).toBe(0n);
      expect(first.chosen.map((e) => e.slot)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
      expect(first.chosen[0]?.value).toEqual(value(0));
      const last = await learn(c, BigInt(slots - 5));
      expect(last.chosen.map((e) => e.slot)).toEqual([2995n, 2996n, 2997n, 2998n, 2999n]);
      expect((await learn(c, BigInt(slots))).chosen).toEqual([]);
      c.close();
      await node.proc.kill('SIGTERM');
    });

    it('does not move its committed index past slots whose values it lacks', async () => {
      const node = await startAcceptor(dir, ports[7] as number, [], 7);
      const c = new AcceptorWireClient(node.address);
      // Slots 10 and 11 are chosen, but this acceptor holds nothing of 0..9.
      const chosen = [{ ballot: b(1), fromSlot: 10n, toSlot: 12n, values: [value(10), value(11)] }];
      expect((await c.accept({ commits: chosen })).outcome).toEqual({ $case: 'committed', value: { committedIndex: 0n, durableCommittedIndex: 0n } });
      const filled = [{ ballot: b(1), fromSlot: 0n, toSlot: 10n, values: Array.from({ length: 10 }, (_, i) => value(i)) }];
      expect((await c.accept({ commits: filled })).outcome).toEqual({ $case: 'committed', value: { committedIndex: 12n, durableCommittedIndex: 0n } });
      expect((await learn(c, 0n)).chosen).toHaveLength(12);
      c.close();
      await node.proc.kill('SIGTERM');
    });

    it('locks its data dir for as long as its process lives, and no longer: a restart right after kill -9 starts', async () => {
      const node = await startAcceptor(dir, ports[5] as number, [], 8);
      const second = spawnNode({
        app: 'acceptor',
        name: 'acceptor 8 again',
        address: `127.0.0.1:${ports[4]}`,
        args: ['--id', '8', '--port', String(ports[4]), '--data-dir', node.dataDir, '--lmfdb-cache', join(dir, 'none'), '--insecure', '--metrics-port', '0'],
      });
      expect((await second.waitExit()).code).toBe(2);
      expect(second.stderrText).toMatch(/in use by another process/);
      await node.proc.kill('SIGKILL');
      const again = await startAcceptor(dir, ports[5] as number, [], 8);
      expect(await isServing(again.address, 2000)).toBe(true);
      await again.proc.kill('SIGTERM');
    });
  });

  describe('durability', () => {
    it('keeps every accepted reply the client received through kill -9 in the middle of a stream', async () => {
      let node = await startAcceptor(dir, ports[2] as number, [], 2);
      const c = new AcceptorWireClient(node.address);
      expect((await c.prepare({ ballot: b(7), fromSlot: 0n })).outcome?.$case).toBe('promised');
      const acknowledged: bigint[] = [];
      const sends: Array<Promise<unknown>> = [];
      let killed = false;
      for (let slot = 0n; slot < 3000n; slot++) {
        sends.push(
          c.accept({ accept: { ballot: b(7), slot, value: text(`value-${slot}`) } }).then(
            (r) => {
              if (r.outcome?.$case === 'accepted') acknowledged.push(r.outcome.value.slot);
              if (acknowledged.length === 500 && !killed) {
                killed = true;
                node.proc.child.kill('SIGKILL');
              }
            },
            () => undefined,
          ),
        );
        if (slot % 100n === 99n) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(sends);
      c.close();
      await node.proc.waitExit();
      expect(acknowledged.length).toBeGreaterThanOrEqual(500);
      expect(acknowledged.length).toBeLessThan(3000);

      node = await startAcceptor(dir, ports[2] as number, [], 2);
      const after = new AcceptorWireClient(node.address);
      // A promise stops at 1,024 entries (truncated): read on from past the last one, as a proposer does.
      const held = new Set<bigint>();
      for (let round = 8, fromSlot = 0n, more = true; more; round++) {
        const promise = await after.prepare({ ballot: b(round), fromSlot });
        if (promise.outcome?.$case !== 'promised') throw new Error('expected a promise after restart');
        for (const e of promise.outcome.value.accepted) held.add(e.slot);
        more = promise.outcome.value.truncated;
        const last = promise.outcome.value.accepted.at(-1);
        fromSlot = last ? last.slot + 1n : fromSlot;
      }
      const lost = acknowledged.filter((s) => !held.has(s));
      expect(lost).toEqual([]);
      after.close();
      await node.proc.kill('SIGTERM');
    });

    it('recovers from a log truncated mid-record, and refuses a corrupted record in the middle naming file and offset', async () => {
      let node = await startAcceptor(dir, ports[3] as number, [], 3);
      const c = new AcceptorWireClient(node.address);
      await c.prepare({ ballot: b(1), fromSlot: 0n });
      for (let slot = 0n; slot < 5n; slot++) await c.accept({ accept: { ballot: b(1), slot, value: text(`v${slot}`) } });
      c.close();
      await node.proc.kill('SIGTERM');
      expect(node.proc.running).toBe(false);

      const [segment] = logSegments(node.dataDir).slice(-1);
      if (!segment) throw new Error('no log segment');
      truncateSync(segment, statSync(segment).size - 7); // cut the last record in half
      node = await startAcceptor(dir, ports[3] as number, [], 3);
      expect(node.proc.stderrText).toMatch(/torn/i);
      const again = new AcceptorWireClient(node.address);
      const p = await again.prepare({ ballot: b(2), fromSlot: 0n });
      if (p.outcome?.$case !== 'promised') throw new Error('expected a promise');
      expect(p.outcome.value.accepted.map((e) => e.slot)).toEqual([0n, 1n, 2n, 3n]);
      again.close();
      await node.proc.kill('SIGTERM');

      const bytes = readFileSync(segment);
      const middle = 32 + 8 + 2; // file header, then the first frame's length and CRC, then its payload
      bytes[middle] = (bytes[middle] as number) ^ 0xff;
      writeFileSync(segment, bytes);
      const refused = spawnNode({
        app: 'acceptor',
        name: 'acceptor 3 (corrupt)',
        args: ['--id', '3', '--port', String(ports[3]), '--data-dir', node.dataDir, '--lmfdb-cache', join(dir, 'none'), '--insecure', '--metrics-port', '0'],
      });
      const exit = await refused.waitExit();
      expect(exit.code).toBe(2);
      expect(refused.stderrText).toContain(segment);
      expect(refused.stderrText).toMatch(/offset \d+/);
    });
  });

  describe('configuration', () => {
    const run = async (args: string[]) => {
      const p = spawnNode({ app: 'acceptor', name: 'acceptor (bad config)', args: [...args, '--insecure', '--metrics-port', '0'] });
      const exit = await p.waitExit();
      return { code: exit.code, stderr: p.stderrText };
    };

    it('refuses an id outside 0..22', async () => {
      const r = await run(['--id', '23', '--data-dir', join(dir, 'x')]);
      expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/--id 23 is outside 0\.\.22/) });
    });

    it('refuses a port that is taken', async () => {
      const node = await startAcceptor(dir, ports[4] as number, [], 4);
      const r = await run(['--id', '5', '--port', String(ports[4]), '--data-dir', join(dir, 'node_5.data'), '--lmfdb-cache', join(dir, 'none')]);
      expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/already in use/) });
      await node.proc.kill('SIGTERM');
    });

    it('refuses a data dir that belongs to another node id', async () => {
      const r = await run(['--id', '6', '--port', String(ports[5]), '--data-dir', join(dir, 'node_4.data'), '--lmfdb-cache', join(dir, 'none')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/node 4|node id 4|belongs/);
    });

    it('refuses a data dir that cannot be written', async () => {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'x');
      const r = await run(['--id', '7', '--port', String(ports[5]), '--data-dir', join(file, 'sub'), '--lmfdb-cache', join(dir, 'none')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/data/i);
    });

    it('refuses to start without certificates unless --insecure is given', async () => {
      const p = spawnNode({ app: 'acceptor', name: 'acceptor (no tls)', args: ['--id', '9', '--port', String(ports[5]), '--data-dir', join(dir, 'node_9.data'), '--lmfdb-cache', join(dir, 'none'), '--tls-dir', join(dir, 'no-tls'), '--metrics-port', '0'] });
      const exit = await p.waitExit();
      expect(exit.code).toBe(2);
      expect(p.stderrText).toMatch(/no-tls\/ca\.crt does not exist.*--insecure/);
    });

    it('exits 0 on SIGTERM', async () => {
      const node = await startAcceptor(dir, ports[5] as number, [], 8);
      node.proc.child.kill('SIGTERM');
      expect((await node.proc.waitExit()).code).toBe(0);
    });
  });
});
