import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { Consistency, type GetLeaderboardRequest, GetLeaderboardResponse, type ListProposalsRequest, ListProposalsResponse, ReadServiceService } from '@paxos/proto';
import { runRead } from './read';
import { wireJson } from './wire-json';

/** A ReadService holding proposals 1..count that answers `perPage` of them a page (a node cuts its pages at 4 MiB). */
async function proposalsServer(count: number, perPage: number, forgottenAt: (page: number) => { atOrBelow: bigint; count: bigint } | undefined = () => undefined) {
  let pages = 0;
  const running = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxReceiveBytes: 1 << 20,
    transport: INSECURE,
    logger: createLogger('read-proposals-spec'),
    services: [
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: {
          listProposals: (c: { request: ListProposalsRequest }, cb: (e: null, r: ListProposalsResponse) => void) => {
            const from = c.request.fromNumber < 1n ? 1n : c.request.fromNumber;
            const numbers: bigint[] = [];
            for (let n = from; n <= BigInt(count) && numbers.length < Math.min(perPage, c.request.maxEntries); n++) numbers.push(n);
            const after = (numbers.at(-1) ?? 0n) + 1n;
            const forgotten = forgottenAt(pages++);
            cb(
              null,
              ListProposalsResponse.fromPartial({
                forgotten: numbers.map((n) => ({ proposalNumber: n, slot: n })),
                appliedSlot: BigInt(count) + 1n,
                nextNumber: after <= BigInt(count) ? after : 0n,
                ...(forgotten === undefined ? {} : { forgottenAtOrBelow: forgotten.atOrBelow, forgottenCount: forgotten.count }),
              }),
            );
          },
        },
      },
    ],
  });
  return { address: `127.0.0.1:${running.port}`, stop: () => running.shutdown(1000) };
}

describe('npm run read -- proposals', () => {
  jest.setTimeout(60_000);

  it('reads on, page after page, up to --max however short the pages, and says where the rest starts', async () => {
    // Pages of one: a proposals read stopped after 1,000 pages, short of --max, and said nothing of the rest.
    const server = await proposalsServer(1100, 1);
    try {
      const lines: string[] = [];
      expect(await runRead(['proposals', '--address', server.address, '--dir', '/nonexistent', '--max', '1050'], (l) => lines.push(l))).toBe(0);
      expect(lines.filter((l) => l.startsWith('proposal '))).toHaveLength(1050);
      expect(lines.at(-2)).toBe('more proposals from number 1051 on: --from 1051');
      expect(lines.at(-1)).toBe(`consistency: the default of the node at ${server.address} (linearizable at a proposer, stale at an acceptor), after slot 1100 (1101 slots applied)`);
    } finally {
      await server.stop();
    }
  });

  it('says when the registry forgot numbers while its pages were read, and which numbers it no longer keeps', async () => {
    // Numbers forgotten between two pages are in neither: a reader is told, not left to miss them.
    const rising = await proposalsServer(5, 2, (page) => (page === 0 ? undefined : { atOrBelow: 9n, count: 2n }));
    const steady = await proposalsServer(5, 2, () => ({ atOrBelow: 3n, count: 1n }));
    try {
      const lines: string[] = [];
      expect(await runRead(['proposals', '--address', rising.address, '--dir', '/nonexistent'], (l) => lines.push(l))).toBe(0);
      expect(lines.slice(-3, -1)).toEqual([
        'the registry forgot 2 proposal numbers while these pages were read: a number listed nowhere above may be one of them; the chosen log holds them (read -- log)',
        'the registry has forgotten 2 proposal numbers (it keeps the newest 1,000,000, the oldest go first), the highest 9: a new proposal must be numbered above it; the chosen log holds them (read -- log)',
      ]);
      const json: string[] = [];
      expect(await runRead(['proposals', '--address', rising.address, '--dir', '/nonexistent', '--json'], (l) => json.push(l))).toBe(0);
      expect(JSON.parse(json.join('\n'))).toMatchObject({ forgottenAtOrBelow: '9', forgottenCount: '2' });
      const kept: string[] = [];
      expect(await runRead(['proposals', '--address', steady.address, '--dir', '/nonexistent'], (l) => kept.push(l))).toBe(0);
      expect(kept.at(-2)).toBe('the registry has forgotten 1 proposal number (it keeps the newest 1,000,000, the oldest go first), the highest 3: a new proposal must be numbered above it; the chosen log holds them (read -- log)');
    } finally {
      await rising.stop();
      await steady.stop();
    }
  });

  it('says nothing more when the last page is the last', async () => {
    const server = await proposalsServer(5, 2);
    try {
      const lines: string[] = [];
      expect(await runRead(['proposals', '--address', server.address, '--dir', '/nonexistent', '--max', '20'], (l) => lines.push(l))).toBe(0);
      expect(lines.map((l) => l.split(':')[0])).toEqual(['proposal 1', 'proposal 2', 'proposal 3', 'proposal 4', 'proposal 5', 'consistency']);
    } finally {
      await server.stop();
    }
  });
});

describe('read --json', () => {
  it('writes 64-bit numbers as decimal strings and bytes as base64, as protobuf JSON does', () => {
    const doc = JSON.parse(wireJson({ entries: [{ slot: 2n ** 63n, commands: [{ data: Buffer.from('hello'), bare: new Uint8Array([0, 255]) }] }] })) as unknown;
    expect(doc).toEqual({ entries: [{ slot: '9223372036854775808', commands: [{ data: 'aGVsbG8=', bare: 'AP8=' }] }] });
  });

  it("writes a slot's value under the name of its oneof member, as protobuf JSON does: {batch: ...} or {noop: {}}, not the generated code's union", () => {
    const commands = [{ clientRequestId: 'r1', value: { contentType: 'text/plain', data: Buffer.from('hello') }, verifiedBy: [] }];
    const doc = JSON.parse(
      wireJson({
        entries: [
          { slot: 1n, ballot: { round: 2n, proposerId: 1 }, value: { kind: { $case: 'batch', value: { commands, origin: 5n } } }, outcomes: [] },
          { slot: 2n, ballot: { round: 2n, proposerId: 1 }, value: { kind: { $case: 'noop', value: {} } }, outcomes: [] },
        ],
        appliedSlot: 3n,
      }),
    ) as unknown;
    expect(doc).toEqual({
      entries: [
        { slot: '1', ballot: { round: '2', proposerId: 1 }, value: { batch: { commands: [{ clientRequestId: 'r1', value: { contentType: 'text/plain', data: 'aGVsbG8=' }, verifiedBy: [] }], origin: '5' } }, outcomes: [] },
        { slot: '2', ballot: { round: '2', proposerId: 1 }, value: { noop: {} }, outcomes: [] },
      ],
      appliedSlot: '3',
    });
  });
});

describe('read --json enums', () => {
  it('writes an enum as its value\'s name given the message, at any depth, and keeps a number the contract does not name', () => {
    const doc = JSON.parse(wireJson({ slot: 1n, votes: [{ phase: 1, outcome: 3 }, { phase: 9, outcome: 0 }] }, 'paxos.v1.ProposeResponse')) as unknown;
    expect(doc).toEqual({ slot: '1', votes: [{ phase: 'VOTE_PHASE_PREPARE', outcome: 'VOTE_OUTCOME_REJECTED' }, { phase: 9, outcome: 'VOTE_OUTCOME_UNSPECIFIED' }] });
    expect(() => wireJson({}, 'paxos.v1.NoSuchMessage')).toThrow(/not a message of the wire contract/);
  });
});

describe('npm run read says the consistency of its answer and the slot it reflects', () => {
  jest.setTimeout(60_000);
  let dir: string;
  let server: { port: number; shutdown: (ms: number) => Promise<void> };
  const asked: Consistency[] = [];
  beforeAll(async () => {
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      transport: INSECURE,
      logger: createLogger('read-consistency-spec'),
      services: [
        {
          name: 'paxos.v1.ReadService',
          definition: ReadServiceService,
          implementation: {
            getLeaderboard: (c: { request: GetLeaderboardRequest }, cb: (e: null, r: GetLeaderboardResponse) => void) => {
              asked.push(c.request.consistency);
              cb(null, GetLeaderboardResponse.fromPartial({ appliedSlot: 42n, proposals: 1n }));
            },
          },
        },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'paxos-read-'));
    // Acceptor 2 and the proposer of this network both answer on the stand-in's port (each read asks one).
    const address = `127.0.0.1:${server.port}`;
    const acceptor = (i: number) => ({ name: `node_${i}`, role: 'acceptor', id: i, address: i === 2 ? address : `127.0.0.1:${1 + i}` });
    const proposer = { name: 'proposer', role: 'proposer', id: 1, address };
    writeFileSync(join(dir, 'network.json'), JSON.stringify({ createdAt: '', nodes: [acceptor(0), acceptor(1), acceptor(2), proposer], proposer: address, lmfdbCacheDir: '/tmp/lmfdb', tls: false }));
  });
  afterAll(async () => {
    await server.shutdown(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--node N: a stale read of that acceptor\'s applied state, and how to read linearizably instead', async () => {
    const lines: string[] = [];
    expect(await runRead(['leaderboard', '--node', '2', '--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(asked.at(-1)).toBe(Consistency.CONSISTENCY_STALE);
    expect(lines.at(-1)).toBe("consistency: stale: acceptor 2's applied state after slot 41 (42 slots applied); slots chosen since are not in it (drop --node for a linearizable read)");
    const json: string[] = [];
    expect(await runRead(['leaderboard', '--node', '2', '--dir', dir, '--json'], (l) => json.push(l))).toBe(0);
    expect(JSON.parse(json.join('\n'))).toMatchObject({ appliedSlot: '42', consistency: 'CONSISTENCY_STALE' });
  });

  it('the proposer: linearizable; an --address the dir names as an acceptor\'s reads stale, as that acceptor answers', async () => {
    const lines: string[] = [];
    expect(await runRead(['leaderboard', '--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(lines.at(-1)).toBe('consistency: linearizable: the proposer confirmed with a quorum that it leads and answered after slot 41 (42 slots applied)');
    const json: string[] = [];
    expect(await runRead(['leaderboard', '--dir', dir, '--address', `127.0.0.1:${server.port}`, '--json'], (l) => json.push(l))).toBe(0);
    expect(JSON.parse(json.join('\n'))).toMatchObject({ consistency: 'CONSISTENCY_STALE' });
  });
});
