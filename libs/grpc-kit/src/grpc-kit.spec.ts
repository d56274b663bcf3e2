import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import {
  AcceptorServiceClient,
  AcceptorServiceService,
  type AcceptorServiceServer,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type PrepareRequest,
  type PrepareResponse,
  reflectionV1,
} from '@paxos/proto';
import { connectionFailure, describeGrpcError, describeStatusDetails, GrpcError, notConnected, STATUS_DETAILS_MAX, toServiceError } from './grpc-errors';
import { join } from 'node:path';
import { createLogger } from './logger';
import { describeSymbol, resolveByReflection } from './reflection-client';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('grpc-kit-test');
logger.level = 'silent';

// A test double of the acceptor that rejects every prepare with ballot (round+1): enough to show
// that a bidirectional stream built from the generated code carries many requests both ways.
const echoAcceptor: Partial<AcceptorServiceServer> = {
  prepare(call: grpc.ServerDuplexStream<PrepareRequest, PrepareResponse>) {
    call.on('data', (req: PrepareRequest) =>
      call.write({
        requestId: req.requestId,
        outcome: { $case: 'rejected', value: { promised: { round: (req.ballot?.round ?? 0n) + 1n, proposerId: 9 } } },
      }),
    );
    call.on('end', () => call.end());
  },
};

describe('gRPC server kit', () => {
  let running: RunningServer;
  let address: string;

  beforeAll(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 4 * 1024 * 1024,
      transport: INSECURE,
      logger,
      services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: echoAcceptor }],
    });
    address = `127.0.0.1:${running.port}`;
  });
  afterAll(() => running.shutdown(1000));

  it('a client and server built from the generated code exchange a bidirectional stream', async () => {
    const client = new AcceptorServiceClient(address, grpc.credentials.createInsecure());
    const call = client.prepare({ deadline: Date.now() + 5000 });
    const replies: PrepareResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: PrepareResponse) => replies.push(r));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const big = 2n ** 60n;
    for (let i = 0n; i < 50n; i++) call.write({ requestId: i, ballot: { round: big + i, proposerId: 1 }, fromSlot: 0n });
    call.end();
    await done;
    client.close();
    expect(replies).toHaveLength(50);
    replies.forEach((r, i) => {
      expect(r.requestId).toBe(BigInt(i));
      expect(r.outcome).toEqual({ $case: 'rejected', value: { promised: { round: big + BigInt(i) + 1n, proposerId: 9 } } });
    });
  });

  it('reflection lists only the services this server serves, and resolves every message they use through a strict client', async () => {
    const resolved = await resolveByReflection(address);
    expect(resolved.version).toBe('v1');
    expect([...resolved.services].sort()).toEqual(
      ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'paxos.v1.AcceptorService'].sort(),
    );
    expect(resolved.files).toContain('paxos/v1/acceptor_service.proto');
    expect(resolved.files).toContain('lmfdb/v1/source.proto');
    const text = describeSymbol(resolved.registry, 'paxos.v1.AcceptorService');
    expect(text).toContain('rpc Prepare ( stream .paxos.v1.PrepareRequest ) returns ( stream .paxos.v1.PrepareResponse );');
    expect(describeSymbol(resolved.registry, 'paxos.v1.StatusResponse')).toContain('.lmfdb.v1.SourceStatus data_source = 9;');
    // Every message of every file resolves (describe walks each field's type).
    for (const type of resolved.registry) {
      if (type.kind === 'message') expect(describeSymbol(resolved.registry, type.typeName)).toContain(type.name);
    }
  });

  it('ends a reflection stream past its request bound with RESOURCE_EXHAUSTED, and sends long status messages cut short', async () => {
    const client = new reflectionV1.ServerReflectionClient(address, grpc.credentials.createInsecure());
    const call = client.serverReflectionInfo({ deadline: Date.now() + 60_000 });
    let answers = 0;
    call.on('data', () => answers++);
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    for (let i = 0; i < 10_001; i++) call.write({ host: '', messageRequest: { $case: 'listServices', value: '' } });
    const err = await ended;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/more than 10000 reflection requests on one stream/);
    expect(answers).toBeLessThanOrEqual(10_000);
    client.close();
    const long = toServiceError(new GrpcError(grpc.status.INVALID_ARGUMENT, `label ${'x'.repeat(100_000)} is unknown`));
    expect(long.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(long.details?.length).toBeLessThanOrEqual(STATUS_DETAILS_MAX);
    expect(long.details).toMatch(/^label x+\.\.\. \(\d+ more characters\)$/);
    // What the message says for people, trailers say for programs.
    const below = toServiceError(new GrpcError(grpc.status.OUT_OF_RANGE, 'slot 3 is below the history', { 'paxos-history-first-slot': '40' }));
    expect(below.metadata?.get('paxos-history-first-slot')).toEqual(['40']);
    // 10,001 requests take a second on an idle machine and far longer on a loaded one: the bound is
    // what is tested, within the stream's own deadline.
  }, 60_000);

  it('the strict client rejects descriptors served without their dependencies', async () => {
    // @grpc/reflection rebuilds descriptors with empty dependency lists; a strict client (and grpcurl) fails.
    const pkg = protoLoader.loadSync(
      ['paxos/v1/acceptor_service.proto'].map((f) => join(__dirname, '../../../proto', f)),
      { includeDirs: [join(__dirname, '../../../proto')], keepCase: true },
    );
    const server = new grpc.Server();
    new ReflectionService(pkg).addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      await expect(resolveByReflection(`127.0.0.1:${port}`)).rejects.toThrow(/not found|Cannot find/);
    } finally {
      server.forceShutdown();
    }
  });

  it('health answers SERVING, then NOT_SERVING when the node says so', async () => {
    const client = new HealthClient(address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<HealthCheckResponse_ServingStatus>((resolve, reject) =>
        client.check({ service }, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (e, r) => (e ? reject(e) : resolve(r.status))),
      );
    expect(await check('')).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await check('paxos.v1.AcceptorService')).toBe(HealthCheckResponse_ServingStatus.SERVING);
    running.health.setStatus('paxos.v1.AcceptorService', HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect(await check('paxos.v1.AcceptorService')).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    // A name of 100,000 characters is answered (its status message carries a bounded part of it),
    // and the connection serves the next call.
    await expect(check('x'.repeat(100_000))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringContaining('(cut)') });
    expect(await check('')).toBe(HealthCheckResponse_ServingStatus.SERVING);
    running.health.setStatus('paxos.v1.AcceptorService', HealthCheckResponse_ServingStatus.SERVING);
    client.close();
  });

  it('answers a request that is not protobuf with INVALID_ARGUMENT naming the method, on unary calls and streams', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const raw = (b: Buffer) => b;
    // Field 1 with wire type 7 (no such type), a truncated varint, a length past the end, and
    // lengths past the end in their high bits (2^32 + 3 read as 3 was the service "xyz", NOT_FOUND;
    // 2^62 read as 0 was an empty request, OK).
    const garbage = [
      Buffer.from([0x0f]),
      Buffer.from([0x08, 0xff, 0xff]),
      Buffer.from([0x12, 0x7f, 0x01]),
      Buffer.from([0x0a, 0x83, 0x80, 0x80, 0x80, 0x10, 0x78, 0x79, 0x7a]),
      Buffer.from([0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
    ];
    for (const bytes of garbage) {
      const unary = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest('/grpc.health.v1.Health/Check', raw, raw, bytes, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err)),
      );
      expect(unary?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(unary?.details).toMatch(/\/grpc\.health\.v1\.Health\/Check is not a valid protobuf message/);
      const stream = client.makeBidiStreamRequest('/paxos.v1.AcceptorService/Prepare', raw, raw, new grpc.Metadata(), { deadline: Date.now() + 5000 });
      const streamed = await new Promise<grpc.ServiceError>((resolve) => {
        stream.on('data', () => undefined);
        stream.on('error', resolve);
        stream.write(bytes);
      });
      expect(streamed.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(streamed.details).toMatch(/AcceptorService\/Prepare/);
    }
    client.close();
  });

  it('bounds the calls open at once on one connection: one more waits until a call ends', async () => {
    const bounded = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024 * 1024,
      maxConcurrentStreams: 1,
      transport: INSECURE,
      logger,
      services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: echoAcceptor }],
    });
    const client = new AcceptorServiceClient(`127.0.0.1:${bounded.port}`, grpc.credentials.createInsecure());
    const open = client.prepare({ deadline: Date.now() + 20_000 });
    open.on('error', () => undefined);
    open.write({ requestId: 1n, ballot: { round: 1n, proposerId: 1 }, fromSlot: 0n });
    await new Promise((resolve) => open.once('data', resolve)); // the first call holds the connection's only stream
    const second = (deadlineMs: number) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.prepare({ deadline: Date.now() + deadlineMs });
        call.on('data', () => {
          call.end();
        });
        call.on('error', resolve);
        call.on('end', () => resolve(null));
        call.write({ requestId: 2n, ballot: { round: 1n, proposerId: 1 }, fromSlot: 0n });
      });
    expect((await second(500))?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    open.end();
    await new Promise((resolve) => open.on('end', resolve).on('data', () => undefined));
    expect(await second(5000)).toBeNull();
    client.close();
    await bounded.shutdown(1000);
  });

  it('bounds the connections open at once: one more is closed as it arrives', async () => {
    const bounded = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024 * 1024,
      maxConnections: 1,
      transport: INSECURE,
      logger,
      services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: echoAcceptor }],
    });
    const clients = [0, 1].map((i) => new AcceptorServiceClient(`127.0.0.1:${bounded.port}`, grpc.credentials.createInsecure(), { 'grpc.channel_id_salt': i } as object));
    const ping = (c: InstanceType<typeof AcceptorServiceClient>) =>
      new Promise<number>((resolve) => {
        const call = c.prepare({ deadline: Date.now() + 2000 });
        call.on('data', () => {
          call.end();
          resolve(grpc.status.OK);
        });
        call.on('error', (e: grpc.ServiceError) => resolve(e.code));
        call.write({ requestId: 1n, ballot: { round: 1n, proposerId: 1 }, fromSlot: 0n });
      });
    expect(await ping(clients[0] as InstanceType<typeof AcceptorServiceClient>)).toBe(grpc.status.OK);
    expect(await ping(clients[1] as InstanceType<typeof AcceptorServiceClient>)).not.toBe(grpc.status.OK);
    for (const c of clients) c.close();
    await bounded.shutdown(1000);
  });

  it('refuses a port that is taken with a message that says what to do', async () => {
    await expect(
      startGrpcServer({ host: '127.0.0.1', port: running.port, maxReceiveBytes: 1024, transport: INSECURE, logger, services: [] }),
    ).rejects.toThrow(/already in use.*--port/);
  });
});

describe('describing a failed call for a person', () => {
  it("says a deadline passed without grpc-js's internal stages, and keeps a server's own message", () => {
    const err = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
    expect(describeGrpcError(err(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 10.000s,name resolution: 0.015s,metadata filters: 0.001s,Waiting for LB pick'))).toBe(
      'DEADLINE_EXCEEDED: no answer within 10.000 s (the node paused or overloaded?)',
    );
    expect(describeGrpcError(err(grpc.status.DEADLINE_EXCEEDED, 'read not answered in time: x'))).toBe('DEADLINE_EXCEEDED: read not answered in time: x');
    expect(describeGrpcError(err(grpc.status.UNAVAILABLE, '1 of 3 acceptors answered, 2 needed'))).toBe('UNAVAILABLE: 1 of 3 acceptors answered, 2 needed');
    // grpc-js's connection text names its internals; the errno is what a person acts on.
    expect(describeGrpcError(err(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7122. Resolution note: '))).toBe(
      'UNAVAILABLE: connection refused: nothing listens on 127.0.0.1:7122 (ECONNREFUSED)',
    );
  });

  it('names the address a connection failed at when the text gives it, and the cause alone when not', () => {
    expect(describeStatusDetails(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED [::1]:7100. Resolution note: ')).toBe(
      'connection refused: nothing listens on [::1]:7100 (ECONNREFUSED)',
    );
    expect(connectionFailure('ECONNREFUSED')).toBe('connection refused: nothing listens on the port (ECONNREFUSED)');
    expect(connectionFailure('No connection established. Last error: Error: read ECONNRESET')).toBe('connection reset (ECONNRESET)');
    expect(connectionFailure('1 of 3 acceptors answered, 2 needed')).toBeUndefined();
    // A server's own UNAVAILABLE keeps its message; only a call that never connected is "not connected".
    expect(describeStatusDetails(grpc.status.UNAVAILABLE, '1 of 3 acceptors answered, 2 needed')).toBe('1 of 3 acceptors answered, 2 needed');
    expect(notConnected(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7100. Resolution note: ')).toBe(true);
    expect(notConnected(grpc.status.UNAVAILABLE, '1 of 3 acceptors answered, 2 needed')).toBe(false);
    // A host name that resolves to nothing: nothing was sent, and the address is to blame, not a stopped node.
    const unresolved = 'Name resolution failed for target dns:no-such-host.invalid:7200';
    expect(notConnected(grpc.status.UNAVAILABLE, unresolved)).toBe(true);
    expect(describeStatusDetails(grpc.status.UNAVAILABLE, unresolved)).toBe('no such host: the name in no-such-host.invalid:7200 resolves to no address (a typo in the address?)');
  });
});
