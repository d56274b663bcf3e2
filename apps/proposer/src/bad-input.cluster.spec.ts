// The bad-input suite: table-driven, against a real network (3 acceptors and a proposer, mutual
// TLS). Each case sends raw bytes or an absurd message to one method and names the status it
// expects; after each, every process is alive, health is SERVING, and the acceptors' durable
// state (promise, committed index, last vote) is what it was unless the case is one that may
// change it.
import { type ChannelCredentials, Client, Metadata, status } from '@grpc/grpc-js';
import { channelCredentials, isServing, loadTls, tlsFilesIn, type Transport } from '@paxos/grpc-kit';
import { encodeProposalValue, buildProposal } from '@paxos/proposal';
import {
  AcceptRequest,
  AcceptorServiceClient,
  ClusterStatusRequest,
  type Consistency,
  GetLeaderboardRequest,
  GetProposalRequest,
  InstallStateSnapshotRequest,
  LearnRequest,
  ListProposalsRequest,
  PrepareRequest,
  ProposeBulkRequest,
  ProposeRequest,
  ReadLogRequest,
  type StatusResponse,
  WatchChosenRequest,
} from '@paxos/proto';
import { TestCluster, textValue } from '@paxos/test-cluster';
import { connect as tcpConnect } from 'node:net';
import { crc32 } from 'node:zlib';

jest.setTimeout(300_000);

type Kind = 'unary' | 'server' | 'client' | 'bidi';
type Target = 'acceptor' | 'proposer';
type As = 'proposer-1' | 'client-test';

interface Method {
  readonly path: string;
  readonly kind: Kind;
  readonly on: Target;
  /** The certificate the call presents (acceptors take votes only from a proposer's). */
  readonly as: As;
  /** What an empty (all-default) message gets: the method's answer to "nothing said". */
  readonly empty: Outcome;
}

/** A status name, or OK for an answer (or a stream that sent data or ended cleanly). */
type Outcome = keyof typeof status;

const M = (path: string, kind: Kind, on: Target, as: As, empty: Outcome): Method => ({ path, kind, on, as, empty });
const METHODS: readonly Method[] = [
  M('/paxos.v1.AcceptorService/Prepare', 'bidi', 'acceptor', 'proposer-1', 'INVALID_ARGUMENT'),
  M('/paxos.v1.AcceptorService/Accept', 'bidi', 'acceptor', 'proposer-1', 'INVALID_ARGUMENT'),
  M('/paxos.v1.AcceptorService/Status', 'unary', 'acceptor', 'client-test', 'OK'),
  M('/paxos.v1.AcceptorService/Learn', 'unary', 'acceptor', 'client-test', 'OK'),
  M('/paxos.v1.AcceptorService/InstallStateSnapshot', 'client', 'acceptor', 'proposer-1', 'INVALID_ARGUMENT'),
  M('/paxos.v1.ReadService/ReadLog', 'unary', 'acceptor', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/GetLeaderboard', 'unary', 'acceptor', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/GetStateSnapshot', 'server', 'acceptor', 'client-test', 'FAILED_PRECONDITION'),
  M('/grpc.health.v1.Health/Check', 'unary', 'acceptor', 'client-test', 'OK'),
  M('/paxos.v1.ProposerService/Propose', 'unary', 'proposer', 'client-test', 'INVALID_ARGUMENT'),
  M('/paxos.v1.ProposerService/ProposeStream', 'bidi', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ProposerService/ProposeBulk', 'bidi', 'proposer', 'client-test', 'INVALID_ARGUMENT'),
  M('/paxos.v1.ProposerService/WatchChosen', 'server', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ProposerService/ClusterStatus', 'unary', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/ReadLog', 'unary', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/GetProposal', 'unary', 'proposer', 'client-test', 'NOT_FOUND'),
  M('/paxos.v1.ReadService/ListProposals', 'unary', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/GetLeaderboard', 'unary', 'proposer', 'client-test', 'OK'),
  M('/paxos.v1.ReadService/GetStateSnapshot', 'server', 'proposer', 'client-test', 'FAILED_PRECONDITION'),
  M('/grpc.health.v1.Health/Check', 'unary', 'proposer', 'client-test', 'OK'),
];

/** Bytes no protobuf decoder takes: each fails on every message type. */
const UNDECODABLE: ReadonlyArray<readonly [string, Buffer]> = [
  ['a varint cut short', Buffer.from([0x08, 0xff])],
  ['a length beyond the end', Buffer.from([0x12, 0x05, 0x01])],
  ['an overlong varint (11 bytes)', Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])],
  ['a group that never ends', Buffer.from([0x0b, 0x08, 0x01])],
  ['100,000 nested groups', Buffer.alloc(100_000, 0x0b)],
  ['wire type 6', Buffer.from([0x0e, 0x00])],
  ['wire type 7', Buffer.from([0x0f, 0x00])],
  ['a length of 2^35', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f])],
  ['field number 0', Buffer.from([0x00, 0x01])],
];

/** Bytes that decode to the default message (unknown or mistyped fields are skipped). */
const DEFAULT_LIKE: ReadonlyArray<readonly [string, Buffer]> = [
  ['an empty message', Buffer.alloc(0)],
  ['an unknown field only', Buffer.from([0xf8, 0x06, 0x01])],
  ['an unknown length-delimited field of 1 KiB', Buffer.concat([Buffer.from([0xfa, 0x06, 0x80, 0x08]), Buffer.alloc(1024, 7)])],
];

interface Case {
  readonly name: string;
  readonly method: Method;
  readonly bytes: Buffer | readonly Buffer[];
  readonly expect: Outcome | readonly Outcome[];
  /** The case may change the acceptors' durable state (a valid vote or commit). */
  readonly changes?: boolean;
  readonly deadlineMs?: number;
}

const method = (path: string, on: Target) => METHODS.find((m) => m.path === path && m.on === on) as Method;
const acceptorMethod = (name: string) => method(`/paxos.v1.AcceptorService/${name}`, 'acceptor');
const proposerMethod = (name: string) => method(`/paxos.v1.ProposerService/${name}`, 'proposer');
const readMethod = (name: string, on: Target) => method(`/paxos.v1.ReadService/${name}`, on);
const asClient = (m: Method): Method => ({ ...m, as: 'client-test' });

const U64_MAX = (1n << 64n) - 1n;
const ballot = (round: bigint, proposerId = 1) => ({ round, proposerId });
const prepare = (r: Partial<PrepareRequest>) => Buffer.from(PrepareRequest.encode(PrepareRequest.fromPartial({ requestId: 1n, ...r })).finish());
const accept = (request: Partial<AcceptRequest>) => Buffer.from(AcceptRequest.encode({ requestId: 1n, commits: [], quorumCommittedIndex: 0n, ...request }).finish());
const slotValue = (data: Buffer) => ({ kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: 'x', value: { contentType: 'text/plain', data }, verifiedBy: [] }] } } });
const harmonic = (contentType: string, data = Buffer.from([1, 2, 3])) => ({ contentType, data });

function semanticCases(): Case[] {
  const A = acceptorMethod;
  const P = proposerMethod;
  const cases: Case[] = [
    { name: 'Prepare with round 2^64-1', method: A('Prepare'), bytes: prepare({ ballot: ballot(U64_MAX) }), expect: 'INVALID_ARGUMENT' },
    { name: 'Prepare with round 2^62 + 1', method: A('Prepare'), bytes: prepare({ ballot: ballot((1n << 62n) + 1n) }), expect: 'INVALID_ARGUMENT' },
    { name: 'Prepare with proposer id 0', method: A('Prepare'), bytes: prepare({ ballot: ballot(5n, 0) }), expect: 'PERMISSION_DENIED' },
    { name: "Prepare under proposer 2's ballot on proposer 1's connection", method: A('Prepare'), bytes: prepare({ ballot: ballot(5n, 2) }), expect: 'PERMISSION_DENIED' },
    { name: 'Prepare from slot 2^64-1', method: A('Prepare'), bytes: prepare({ ballot: ballot(3n), fromSlot: U64_MAX }), expect: ['INVALID_ARGUMENT', 'OK'], changes: true },
    { name: 'Prepare from a client certificate', method: asClient(A('Prepare')), bytes: prepare({ ballot: ballot(9n) }), expect: 'PERMISSION_DENIED' },
    { name: 'Prepare without a ballot', method: A('Prepare'), bytes: prepare({}), expect: 'INVALID_ARGUMENT' },
    { name: 'Accept at slot 2^64-1', method: A('Accept'), bytes: accept({ accept: { ballot: ballot(1n), slot: U64_MAX, value: slotValue(Buffer.from('v')) } }), expect: ['INVALID_ARGUMENT', 'OK'] },
    { name: 'Accept at slot 2^62', method: A('Accept'), bytes: accept({ accept: { ballot: ballot(1n), slot: 1n << 62n, value: slotValue(Buffer.from('v')) } }), expect: ['INVALID_ARGUMENT', 'OK'] },
    { name: 'Accept without a value', method: A('Accept'), bytes: accept({ accept: { ballot: ballot(1n), slot: 1n } }), expect: 'INVALID_ARGUMENT' },
    { name: 'Accept without a ballot', method: A('Accept'), bytes: accept({ accept: { slot: 1n, value: slotValue(Buffer.from('v')) } }), expect: 'INVALID_ARGUMENT' },
    { name: 'Accept of 2 MiB (over the message bound)', method: A('Accept'), bytes: accept({ accept: { ballot: ballot(1n), slot: 1n, value: slotValue(Buffer.alloc(2 << 20)) } }), expect: 'RESOURCE_EXHAUSTED' },
    { name: "Accept under proposer 2's ballot", method: A('Accept'), bytes: accept({ accept: { ballot: ballot(1n, 2), slot: 1n, value: slotValue(Buffer.from('v')) } }), expect: 'PERMISSION_DENIED' },
    { name: 'Accept from a client certificate', method: asClient(A('Accept')), bytes: accept({ accept: { ballot: ballot(1n), slot: 1n, value: slotValue(Buffer.from('v')) } }), expect: 'PERMISSION_DENIED' },
    { name: 'a commit from a client certificate', method: asClient(A('Accept')), bytes: accept({ commits: [{ ballot: ballot(1n), fromSlot: 0n, toSlot: 1n, values: [] }] }), expect: 'PERMISSION_DENIED' },
    { name: 'a commit without a ballot', method: A('Accept'), bytes: accept({ commits: [{ fromSlot: 0n, toSlot: 1n, values: [] }] }), expect: 'INVALID_ARGUMENT' },
    { name: 'a commit for slot 2^64-1', method: A('Accept'), bytes: accept({ commits: [{ ballot: ballot(1n), fromSlot: U64_MAX - 1n, toSlot: U64_MAX, values: [] }] }), expect: ['INVALID_ARGUMENT', 'OK'] },
    { name: 'commit notices of 10,000 slots nobody voted for', method: A('Accept'), bytes: accept({ commits: [{ ballot: ballot(1n), fromSlot: 1000n, toSlot: 11_000n, values: [] }] }), expect: 'INVALID_ARGUMENT' },
    { name: 'commit notices of 2^64-1 slots', method: A('Accept'), bytes: accept({ commits: [{ ballot: ballot(1n), fromSlot: 0n, toSlot: U64_MAX, values: [] }] }), expect: 'INVALID_ARGUMENT' },
    { name: '10,000 commit notices of one slot each', method: A('Accept'), bytes: accept({ commits: Array.from({ length: 10_000 }, (_, i) => ({ ballot: ballot(1n), fromSlot: BigInt(1000 + i), toSlot: BigInt(1001 + i), values: [] })) }), expect: 'INVALID_ARGUMENT' },
    { name: 'an empty accept request', method: A('Accept'), bytes: accept({}), expect: 'INVALID_ARGUMENT' },
    { name: 'Learn from slot 2^64-1', method: A('Learn'), bytes: Buffer.from(LearnRequest.encode({ fromSlot: U64_MAX, maxEntries: 10 }).finish()), expect: 'OK' },
    { name: 'Learn of 2^32-1 entries', method: A('Learn'), bytes: Buffer.from(LearnRequest.encode({ fromSlot: 0n, maxEntries: 0xffffffff }).finish()), expect: 'OK' },
    { name: 'InstallStateSnapshot of garbage', method: A('InstallStateSnapshot'), bytes: install(ballot(1n), 1n << 40n, Buffer.from('not a snapshot')), expect: 'INVALID_ARGUMENT' },
    { name: 'InstallStateSnapshot of 2^40 bytes', method: A('InstallStateSnapshot'), bytes: Buffer.from(InstallStateSnapshotRequest.encode({ ballot: ballot(1n), chunk: { slot: 5n, totalBytes: 1n << 40n, crc32: 0, offset: 0n, data: Buffer.from('x') } }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'InstallStateSnapshot with a chunk at the wrong offset', method: A('InstallStateSnapshot'), bytes: Buffer.from(InstallStateSnapshotRequest.encode({ ballot: ballot(1n), chunk: { slot: 5n, totalBytes: 10n, crc32: 0, offset: 3n, data: Buffer.from('x') } }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'InstallStateSnapshot without a ballot', method: A('InstallStateSnapshot'), bytes: Buffer.from(InstallStateSnapshotRequest.encode({ chunk: { slot: 5n, totalBytes: 1n, crc32: 0, offset: 0n, data: Buffer.from('x') } }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'InstallStateSnapshot from a client certificate', method: asClient(A('InstallStateSnapshot')), bytes: install(ballot(1n), 9n, Buffer.from('x')), expect: 'PERMISSION_DENIED' },
    { name: 'InstallStateSnapshot of many empty chunks', method: A('InstallStateSnapshot'), bytes: Array.from({ length: 50 }, () => Buffer.from(InstallStateSnapshotRequest.encode({ ballot: ballot(1n), chunk: { slot: 5n, totalBytes: 10n, crc32: 0, offset: 0n, data: Buffer.alloc(0) } }).finish())), expect: 'INVALID_ARGUMENT' },
    { name: 'Propose without an id', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: '', value: textValue('v'), includeVotes: false }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'Propose with an id of 10 KiB', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'i'.repeat(10_240), value: textValue('v'), includeVotes: false }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'Propose without a value', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'no-value', includeVotes: false }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'Propose with an empty content type', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'no-type', value: { contentType: '', data: Buffer.from('x') }, includeVotes: false }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'Propose of exactly 1 MiB', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'mib', value: { contentType: 'text/plain', data: Buffer.alloc(1 << 20) }, includeVotes: false }).finish()), expect: ['RESOURCE_EXHAUSTED', 'INVALID_ARGUMENT'] },
    { name: 'Propose of 8 MiB (over the message bound)', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: '8mib', value: { contentType: 'text/plain', data: Buffer.alloc(8 << 20) }, includeVotes: false }).finish()), expect: 'RESOURCE_EXHAUSTED' },
    { name: 'a reused client_request_id with other bytes', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'first', value: textValue('another value'), includeVotes: false }).finish()), expect: 'ALREADY_EXISTS' },
    { name: 'a retry of a chosen id with the same bytes', method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: 'first', value: textValue('first value'), includeVotes: false }).finish()), expect: 'OK' },
    { name: 'ProposeBulk of 1,025 proposals', method: P('ProposeBulk'), bytes: Buffer.from(ProposeBulkRequest.encode({ proposals: Array.from({ length: 1025 }, (_, i) => ({ clientRequestId: `bulk-${i}`, value: textValue('v'), includeVotes: false })) }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'WatchChosen from slot 2^64-1 (above any slot a log reaches)', method: P('WatchChosen'), bytes: Buffer.from(WatchChosenRequest.encode({ fromSlot: U64_MAX }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'WatchChosen from slot 2^62, the highest a log reaches (nothing to send yet)', method: P('WatchChosen'), bytes: Buffer.from(WatchChosenRequest.encode({ fromSlot: 1n << 62n }).finish()), expect: 'DEADLINE_EXCEEDED', deadlineMs: 500 },
    { name: 'ClusterStatus with a deadline of 2^32-1 ms', method: P('ClusterStatus'), bytes: Buffer.from(ClusterStatusRequest.encode({ nodeDeadlineMs: 0xffffffff }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'GetLeaderboard with 1,001 history rows', method: readMethod('GetLeaderboard', 'proposer'), bytes: Buffer.from(GetLeaderboardRequest.encode({ consistency: 0, historyMax: 1001 }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'GetLeaderboard with consistency 99', method: readMethod('GetLeaderboard', 'proposer'), bytes: Buffer.from(GetLeaderboardRequest.encode({ consistency: 99 as Consistency, historyMax: 0 }).finish()), expect: 'INVALID_ARGUMENT' },
    { name: 'a linearizable read at an acceptor', method: readMethod('GetLeaderboard', 'acceptor'), bytes: Buffer.from(GetLeaderboardRequest.encode({ consistency: 1, historyMax: 0 }).finish()), expect: 'FAILED_PRECONDITION' },
    { name: 'GetProposal 2^64-1', method: readMethod('GetProposal', 'proposer'), bytes: Buffer.from(GetProposalRequest.encode({ proposalNumber: U64_MAX, consistency: 0 }).finish()), expect: 'NOT_FOUND' },
    { name: 'ListProposals of 2^32-1', method: readMethod('ListProposals', 'proposer'), bytes: Buffer.from(ListProposalsRequest.encode({ fromNumber: 0n, maxEntries: 0xffffffff, consistency: 0 }).finish()), expect: 'OK' },
    { name: 'ReadLog from slot 2^64-1', method: readMethod('ReadLog', 'proposer'), bytes: Buffer.from(ReadLogRequest.encode({ fromSlot: U64_MAX, maxEntries: 0xffffffff }).finish()), expect: 'OK' },
    { name: 'ReadLog from slot 2^64-1 at an acceptor', method: readMethod('ReadLog', 'acceptor'), bytes: Buffer.from(ReadLogRequest.encode({ fromSlot: U64_MAX, maxEntries: 5 }).finish()), expect: 'OK' },
  ];
  // A Monster Harmonic proposal is validated whatever the spelling of its content type.
  for (const ct of [
    'application/x-protobuf;messageType=harmonic.v1.MonsterHarmonicProposal',
    'APPLICATION/X-PROTOBUF; MESSAGETYPE=harmonic.v1.MonsterHarmonicProposal',
    'application/x-protobuf; messagetype="harmonic.v1.MonsterHarmonicProposal"',
    'application/x-protobuf ;  messageType=harmonic.v1.MonsterHarmonicProposal',
  ]) {
    cases.push({ name: `a broken proposal as "${ct}"`, method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: `ct-${ct.length}-${cases.length}`, value: harmonic(ct), includeVotes: false }).finish()), expect: 'INVALID_ARGUMENT' });
  }
  for (const ct of ['application/x-protobuf; messageType=harmonic.v1.Unknown', 'text/plain; charset', ';;', 'x'.repeat(300)]) {
    cases.push({ name: `a content type "${ct.slice(0, 40)}"`, method: P('Propose'), bytes: Buffer.from(ProposeRequest.encode({ clientRequestId: `odd-${cases.length}`, value: { contentType: ct, data: Buffer.from('x') }, includeVotes: false }).finish()), expect: ['INVALID_ARGUMENT', 'OK'], changes: true });
  }
  return cases;
}

function install(b: { round: bigint; proposerId: number }, slot: bigint, body: Buffer): Buffer {
  return Buffer.from(InstallStateSnapshotRequest.encode({ ballot: b, chunk: { slot, totalBytes: BigInt(body.length), crc32: crc32(body), offset: 0n, data: body } }).finish());
}

function allCases(): Case[] {
  const cases: Case[] = [];
  for (const m of METHODS) {
    for (const [what, bytes] of UNDECODABLE) cases.push({ name: `${what} to ${m.on} ${m.path}`, method: m, bytes, expect: 'INVALID_ARGUMENT' });
    for (const [what, bytes] of DEFAULT_LIKE) cases.push({ name: `${what} to ${m.on} ${m.path}`, method: m, bytes, expect: m.empty });
  }
  return [...cases, ...semanticCases()];
}

/** One call with raw bytes; the outcome as a status name. */
function rawCall(address: string, creds: ChannelCredentials, m: Method, bytes: Buffer | readonly Buffer[], deadlineMs: number): Promise<Outcome> {
  const client = new Client(address, creds, { 'grpc.max_send_message_length': 64 << 20, 'grpc.max_receive_message_length': 64 << 20 });
  const id = (b: Buffer) => b;
  const md = new Metadata();
  const opts = { deadline: Date.now() + deadlineMs };
  const messages = Array.isArray(bytes) ? bytes : [bytes as Buffer];
  const name = (code: number) => (status[code] ?? String(code)) as Outcome;
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const done = (o: Outcome) => {
      if (settled) return;
      settled = true;
      client.close();
      resolve(o);
    };
    if (m.kind === 'unary') {
      client.makeUnaryRequest(m.path, id, id, messages[0] as Buffer, md, opts, (e) => done(e ? name(e.code) : 'OK'));
      return;
    }
    if (m.kind === 'client') {
      const call = client.makeClientStreamRequest(m.path, id, id, md, opts, (e) => done(e ? name(e.code) : 'OK'));
      for (const b of messages) call.write(b);
      call.end();
      return;
    }
    const call = m.kind === 'server' ? client.makeServerStreamRequest(m.path, id, id, messages[0] as Buffer, md, opts) : client.makeBidiStreamRequest(m.path, id, id, md, opts);
    call.on('error', (e: { code: number }) => done(name(e.code)));
    call.on('end', () => done('OK'));
    // A stream that answers (a reply, a chunk, a chosen slot) has taken the request.
    call.on('data', () => {
      if (settled) return;
      done('OK');
      call.cancel();
    });
    if (m.kind === 'bidi') {
      const w = call as unknown as { write(b: Buffer): void; end(): void };
      for (const b of messages) w.write(b);
      w.end();
    }
  });
}

/** Raw bytes on a port, then close: the process must shrug them off. */
function tcpGarbage(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => {
      s.write(bytes);
      setTimeout(() => s.destroy(), 200);
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
}

interface Durable {
  readonly promised: string;
  readonly committed: bigint;
  readonly lastAccepted: string;
}

describe('the bad-input suite (3 acceptors and a proposer, mutual TLS)', () => {
  let cluster: TestCluster;
  const creds = new Map<As, ChannelCredentials>();
  let client: Transport;

  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 3 });
    await cluster.startProposer(1);
    client = cluster.transport;
    creds.set('client-test', cluster.credentials);
    creds.set('proposer-1', channelCredentials(loadTls(tlsFilesIn(cluster.tlsDir as string, 'proposer-1'))));
    // Something chosen, so that reads and commits have a log to talk about.
    await cluster.propose(1, 'first', textValue('first value'));
    await cluster.propose(1, 'proposal-1', encodeProposalValue(buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard: [{ framework: 'a', score: '1', pricePerPoint: '1', bid: '1', ask: '2' }] })));
    // A proposal returns once a quorum voted: the third acceptor's vote and the commit notices may
    // still be on their way, and would look like a case changing its state. Wait until all agree.
    const agreedBy = Date.now() + 20_000;
    for (;;) {
      const states = await durable();
      const first = states[0] as Durable;
      if (first.committed >= 2n && states.every((d) => d.promised === first.promised && d.lastAccepted === first.lastAccepted && d.committed === first.committed)) break;
      if (Date.now() > agreedBy) throw new Error(`the acceptors did not agree on their votes and committed index within 20 s: ${JSON.stringify(states, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => cluster.stop());

  const durable = async (): Promise<Durable[]> =>
    Promise.all(
      cluster.acceptorAddresses.map(
        (a) =>
          new Promise<Durable>((resolve, reject) => {
            const c = new AcceptorServiceClient(a, cluster.credentials);
            c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e, r: StatusResponse) => {
              c.close();
              if (e) reject(e);
              else resolve({ promised: `${r.promised?.round}.${r.promised?.proposerId}`, committed: r.committedIndex, lastAccepted: `${r.lastAccepted?.slot}:${r.lastAccepted?.valueDigest}` });
            });
          }),
      ),
    );

  const alive = async () => {
    for (const a of [...cluster.acceptorAddresses, cluster.proposerAddress(1)]) expect(await isServing(a, 5000, client)).toBe(true);
    expect(cluster.acceptors.every((n) => n?.running)).toBe(true);
    expect(cluster.proposers.get(1)?.running).toBe(true);
  };

  it('answers at least 200 hostile inputs with the status each names, and stays up with its state untouched', async () => {
    const cases = allCases();
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const wrong: string[] = [];
    for (const c of cases) {
      const address = c.method.on === 'acceptor' ? (cluster.acceptorAddresses[0] as string) : cluster.proposerAddress(1);
      const before = c.changes ? undefined : await durable();
      const got = await rawCall(address, creds.get(c.method.as) as ChannelCredentials, c.method, c.bytes, c.deadlineMs ?? 10_000);
      const expected = Array.isArray(c.expect) ? c.expect : [c.expect];
      if (!expected.includes(got)) wrong.push(`${c.name}: ${got}, expected ${expected.join(' or ')}`);
      if (before !== undefined) {
        const after = await durable();
        // The committed index may move on its own (commit notices of earlier slots); promises and votes may not.
        after.forEach((d, i) => {
          const b = before[i] as Durable;
          if (d.promised !== b.promised || d.lastAccepted !== b.lastAccepted || d.committed < b.committed) wrong.push(`${c.name}: acceptor ${i} changed (${JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? String(v) : v))} -> ${JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? String(v) : v))})`);
        });
      }
      await alive();
    }
    expect(wrong).toEqual([]);
  });

  it('shrugs off HTTP/1.1, plaintext HTTP/2 and TLS garbage, idle and half-closed connections, and still chooses values', async () => {
    const ports = [...cluster.acceptorAddresses, cluster.proposerAddress(1)].map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
    for (const port of ports) {
      await tcpGarbage(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await tcpGarbage(port, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      await tcpGarbage(port, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, ...Array(64).fill(0x41)])); // a TLS record that lies about its length
      await tcpGarbage(port, Buffer.alloc(0)); // connect, say nothing, leave
    }
    // A stream opened and closed at once, on every streaming method.
    for (const m of METHODS.filter((x) => x.kind === 'bidi' || x.kind === 'client')) {
      const address = m.on === 'acceptor' ? (cluster.acceptorAddresses[0] as string) : cluster.proposerAddress(1);
      await rawCall(address, creds.get(m.as) as ChannelCredentials, m, [], 2000);
    }
    await alive();
    const r = await cluster.propose(1, 'after-the-garbage', textValue('still chosen'));
    expect(r.slot).toBeGreaterThan(0n);
  });
});
