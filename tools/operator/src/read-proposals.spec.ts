import { createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { type ListProposalsRequest, ListProposalsResponse, ReadServiceService } from '@paxos/proto';
import { readJson, runRead } from './read';

/** A ReadService holding proposals 1..count that answers `perPage` of them a page (a node cuts its pages at 4 MiB). */
async function proposalsServer(count: number, perPage: number) {
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
            cb(null, ListProposalsResponse.fromPartial({ forgotten: numbers.map((n) => ({ proposalNumber: n, slot: n })), appliedSlot: BigInt(count) + 1n, nextNumber: after <= BigInt(count) ? after : 0n }));
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
      expect(lines.at(-1)).toBe('more proposals from number 1051 on: --from 1051');
    } finally {
      await server.stop();
    }
  });

  it('says nothing more when the last page is the last', async () => {
    const server = await proposalsServer(5, 2);
    try {
      const lines: string[] = [];
      expect(await runRead(['proposals', '--address', server.address, '--dir', '/nonexistent', '--max', '20'], (l) => lines.push(l))).toBe(0);
      expect(lines.map((l) => l.split(':')[0])).toEqual(['proposal 1', 'proposal 2', 'proposal 3', 'proposal 4', 'proposal 5']);
    } finally {
      await server.stop();
    }
  });
});

describe('read --json', () => {
  it('writes 64-bit numbers as decimal strings and bytes as base64, as protobuf JSON does', () => {
    const doc = JSON.parse(readJson({ entries: [{ slot: 2n ** 63n, commands: [{ data: Buffer.from('hello'), bare: new Uint8Array([0, 255]) }] }] })) as unknown;
    expect(doc).toEqual({ entries: [{ slot: '9223372036854775808', commands: [{ data: 'aGVsbG8=', bare: 'AP8=' }] }] });
  });

  it("writes a slot's value under the name of its oneof member, as protobuf JSON does: {batch: ...} or {noop: {}}, not the generated code's union", () => {
    const commands = [{ clientRequestId: 'r1', value: { contentType: 'text/plain', data: Buffer.from('hello') }, verifiedBy: [] }];
    const doc = JSON.parse(
      readJson({
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
    const doc = JSON.parse(readJson({ slot: 1n, votes: [{ phase: 1, outcome: 3 }, { phase: 9, outcome: 0 }] }, 'paxos.v1.ProposeResponse')) as unknown;
    expect(doc).toEqual({ slot: '1', votes: [{ phase: 'VOTE_PHASE_PREPARE', outcome: 'VOTE_OUTCOME_REJECTED' }, { phase: 9, outcome: 'VOTE_OUTCOME_UNSPECIFIED' }] });
    expect(() => readJson({}, 'paxos.v1.NoSuchMessage')).toThrow(/not a message of the wire contract/);
  });
});
