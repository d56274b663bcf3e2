// A client that sends proposals on many ProposeStream streams and never reads the answers (an
// HTTP/2 client whose window is 0): the answers it does not take count against its share of the
// server's answer budget with its unary answers, and once it holds the share none of its streams
// reads another proposal, so what the proposer keeps for it stays near the share. Without this
// every stream read until its own bounds (4,096 in flight, the HTTP/2 window), each answer queued.
import * as http2 from 'node:http2';
import { createHash } from 'node:crypto';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { type Command, Quorum } from '@paxos/consensus-core';
import { answerBudgetFor, createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import { ProposerServiceClient, ProposerServiceService, ProposeStreamRequest } from '@paxos/proto';
import type { ChosenLog, ChosenResult } from './chosen-log';
import { ClientGateway } from './client-gateway';
import { proposerService, type ProposerServiceDeps } from './proposer-service';
import { ValueChecker } from './value-check';

jest.setTimeout(30_000);

const logger = createLogger('unread-answers');
logger.level = 'silent';

const SHARE = 1024 * 1024;
const STREAMS = 32;
/** Proposals per stream: about 60 KB, within the HTTP/2 window a stream gets before it is read. */
const PER_STREAM = 1500;

/** A stand-in core that chooses what it is given a turn later; a repeated id is answered from the log. */
function standIn() {
  const results = new Map<string, ChosenResult>();
  let nextSlot = 0n;
  const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
  const log = { result: (id: string) => results.get(id), get nextSlot() { return nextSlot; }, digest, harmonicRefusal: () => undefined } as unknown as ChosenLog;
  const gateway: ClientGateway = new ClientGateway({
    chosen: log,
    quorum: Quorum.majority(3),
    reachable: () => 3,
    submit: (commands: readonly Command[]) => {
      setImmediate(() => {
        const chosen = commands.filter((c) => !results.has(c.clientRequestId)).map((c) => {
          const r = { clientRequestId: c.clientRequestId, slot: nextSlot++, valueDigest: digest(c.data), data: c.data };
          results.set(c.clientRequestId, r);
          return r;
        });
        gateway.delivered(chosen, () => []);
      });
      return [];
    },
  });
  gateway.becomeReady();
  return gateway;
}

function grpcFrame(message: Uint8Array): Buffer {
  const f = Buffer.alloc(5 + message.length);
  f.writeUInt32BE(message.length, 1);
  f.set(message, 5);
  return f;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ProposeStream answers a client never reads', () => {
  let server: RunningServer;
  let proposalsRead = 0;
  const answers = answerBudgetFor({ maxPendingAnswerBytesPerPeer: SHARE, maxPendingAnswerBytes: 4 * SHARE });
  beforeAll(async () => {
    const gateway = standIn();
    const node = {
      quorum: Quorum.majority(3),
      reachable: () => 3,
      propose: (c: Command, token?: object) => {
        proposalsRead += 1;
        return gateway.propose(c, token);
      },
      abandon: (id: string, token: object) => gateway.abandon(id, token),
    };
    const deps = { node, links: [], checker: new ValueChecker(16 * 1024, () => undefined), proposeTimeoutMs: 10_000, logger, answers } as unknown as ProposerServiceDeps;
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 4 * 1024 * 1024,
      transport: INSECURE,
      logger,
      answers,
      services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: proposerService(deps) }],
    });
  });
  afterAll(() => server.shutdown(100));

  it('stops reading its streams at its share, serves other clients, and gives the bytes back when it goes', async () => {
    // Never reads: a window of 0 lets no answer leave the server.
    const session = http2.connect(`http://127.0.0.1:${server.port}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => undefined);
    for (let s = 0; s < STREAMS; s++) {
      const stream = session.request({ ':method': 'POST', ':path': '/paxos.v1.ProposerService/ProposeStream', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      const messages = Array.from({ length: PER_STREAM }, (_, i) =>
        grpcFrame(ProposeStreamRequest.encode({ proposal: { clientRequestId: `unread-${i % 50}`, value: { contentType: 'text/plain', data: Buffer.from('x') }, includeVotes: false } }).finish()),
      );
      stream.write(Buffer.concat(messages));
    }
    // Until the server has read what it will read.
    let last = -1;
    for (let quiet = 0; quiet < 4; ) {
      await sleep(250);
      quiet = proposalsRead === last && proposalsRead > 0 ? quiet + 1 : 0;
      last = proposalsRead;
    }
    // Each answer counts at least 256 bytes: the share is reached after SHARE / 256 proposals, and a
    // stream reads at most one more once it is (before: every stream read all it was sent).
    expect(proposalsRead).toBeLessThanOrEqual(SHARE / 256 + 2 * STREAMS);
    expect(proposalsRead).toBeLessThan(STREAMS * PER_STREAM);
    expect(answers.heldBytes).toBeGreaterThan(0);
    expect(answers.heldBytes).toBeLessThanOrEqual(3 * SHARE);

    // Another client (its own connection: its own share) is answered.
    const client = new ProposerServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const answer = await new Promise<{ code: number; slot?: bigint }>((resolve) =>
      client.propose({ clientRequestId: 'reader', value: { contentType: 'text/plain', data: Buffer.from('y') }, includeVotes: false }, new Metadata(), { deadline: Date.now() + 5000 }, (e, r) =>
        resolve({ code: e ? e.code : status.OK, slot: r?.slot }),
      ),
    );
    client.close();
    expect(answer.code).toBe(status.OK);

    // The client goes: what it never took is given back.
    session.destroy();
    // Up to 10 s for the server to see the connection gone (2 s is little for a loaded 2-core machine).
    for (let i = 0; i < 200 && answers.heldBytes > 0; i++) await sleep(50);
    expect(answers.heldBytes).toBe(0);
  });
});
