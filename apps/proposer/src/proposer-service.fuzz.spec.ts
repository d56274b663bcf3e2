// Seeded fuzz of a proposer's client API as a hostile client reaches it: an in-process server (the
// real ProposerService, ValueChecker, ClientGateway and server bounds, plaintext on 127.0.0.1) over
// a stand-in core that chooses what it is given after a random delay (or refuses it). Propose,
// ProposeStream and ProposeBulk take random and extreme ids, content types, values and claims,
// empty and oversized bulk messages, thousands of proposals, streams that half-close, cancel
// mid-flight or stop. Checks: every call settles within its deadline with a documented status
// (never UNKNOWN or INTERNAL), every half-closed stream's proposals are each answered once, nothing
// is thrown unhandled, and the server still chooses a normal proposal after each sequence.
// FUZZ_SEED=<n> replays one seed; FUZZ_STEPS sets the sequences per seed.
import { type ClientDuplexStream, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type Command, Quorum, SeededRandom } from '@paxos/consensus-core';
import { createLogger, INSECURE, type RunningServer, startGrpcServer } from '@paxos/grpc-kit';
import { ProposerServiceClient, ProposerServiceService, ProposeBulkRequest, type ProposeBulkResponse, type ProposeRequest, type ProposeStreamRequest, type ProposeStreamResponse } from '@paxos/proto';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { createHash } from 'node:crypto';
import { AgreedState } from '@paxos/state-machine';
import { ChosenLog, type ChosenResult } from './chosen-log';
import { LogReader } from './log-reader';
import { ClientGateway } from './client-gateway';
import { proposerService, type ProposerServiceDeps } from './proposer-service';
import { ValueChecker } from './value-check';
import { recordUncaught } from '@paxos/test-cluster';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3];
const STEPS = Number(process.env['FUZZ_STEPS'] ?? 10);
const DEADLINE_MS = 3000;
const MAX_VALUE_BYTES = 16 * 1024;

const logger = createLogger('proposer-fuzz');
logger.level = 'silent';

const HARMONIC = 'application/x-protobuf; messageType=harmonic.v1.MonsterHarmonicProposal';

class Gen {
  constructor(readonly r: SeededRandom) {}
  pick<T>(xs: readonly T[]): T {
    return xs[this.r.int(0, xs.length)] as T;
  }
  id(n: number): string {
    if (this.r.chance(0.8)) return `id-${this.r.int(0, 1_000_000)}-${n}`;
    return this.pick(['', 'dup', 'dup', '\uFFFD', 'a\uD800b', '😀'.repeat(256), '😀'.repeat(257), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(5000), '\u0000', ' ', '\n']);
  }
  contentType(): string {
    return this.r.chance(0.6) ? 'text/plain' : this.pick(['', HARMONIC, `${HARMONIC}x`, 'application/x-protobuf', 'application/x-protobuf; messageType=', 'x'.repeat(257), 'TEXT/PLAIN', 'text/plain; charset=utf-8', '\u0000', '*/*']);
  }
  data(): Buffer {
    const n = this.r.chance(0.8) ? this.r.int(0, 64) : this.pick([0, MAX_VALUE_BYTES - 40, MAX_VALUE_BYTES, MAX_VALUE_BYTES + 1, 100_000]);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 61) b[i] = this.r.int(0, 256);
    return b;
  }
  /** A Monster Harmonic proposal, well formed or nearly, with claims on any source (none loaded here). */
  harmonic(): { contentType: string; data: Buffer } {
    const leaderboard = Array.from({ length: this.pick([0, 1, 2]) }, (_, i) => ({ framework: this.pick(['f', `f${i}`, '', 'x'.repeat(65)]), score: this.pick(['1', '-1', '0.5', '12345678901234567890']), pricePerPoint: '1', bid: '1', ask: '2' }));
    const claims = Array.from({ length: this.pick([0, 1, 3, 64, 65]) }, () => ({
      source: this.pick([0, 1, 9, 10, 0xffffffff]),
      label: this.pick(['11.a2', '', 'x'.repeat(257), '\uFFFD']),
      field: this.pick(['jinv', 'torsion', 'anlist:1000', 'ap:2', '', 'nope']),
      claimedValue: this.pick(['1', '', '[1,2]', 'x'.repeat(100)]),
    }));
    const p = buildProposal({ proposalNumber: this.pick([0n, 1n, 2n, (1n << 64n) - 1n]), proposerId: this.pick([0, 1, 0xffffffff]), leaderboard, claims });
    // Fields a careful client would not send, set after the hash.
    const first = p.leaderboard[0];
    if (first && this.r.chance(0.2)) first.score = this.pick(['1e400', 'NaN', '', '-0', '1'.repeat(40)]);
    if (this.r.chance(0.2)) p.leaderboardSha256 = this.pick(['', 'x', p.leaderboardSha256.toUpperCase()]);
    return encodeProposalValue(p);
  }
  proposal(n: number, small = false): ProposeRequest {
    const value = this.r.chance(0.15) ? this.harmonic() : { contentType: this.contentType(), data: small ? this.data().subarray(0, 100) : this.data() };
    return {
      clientRequestId: this.id(n),
      ...(this.r.chance(0.95) ? { value } : {}),
      includeVotes: this.r.chance(0.3),
    };
  }
}

/** A stand-in core: what it is given is chosen (or refused) after a random delay, slots in order. */
function standInCore(r: SeededRandom) {
  const results = new Map<string, ChosenResult>();
  let nextSlot = 0n;
  const digest = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
  const log = { result: (id: string) => results.get(id), get nextSlot() { return nextSlot; }, digest, harmonicRefusal: () => undefined } as unknown as ChosenLog;
  const submit = (commands: readonly Command[]) => {
    const refused = commands.filter((c) => !c.clientRequestId.startsWith('alive-') && r.chance(0.05));
    const taken = commands.filter((c) => !refused.includes(c));
    setTimeout(() => {
      const chosen = taken.filter((c) => !results.has(c.clientRequestId)).map((c) => {
        const res = { clientRequestId: c.clientRequestId, slot: nextSlot++, valueDigest: digest(c.data), data: c.data };
        results.set(c.clientRequestId, res);
        return res;
      });
      gateway.delivered(chosen, () => []);
    }, r.int(0, 30));
    return refused.map((command) => ({ command, reason: 'the core holds too many commands' }));
  };
  const gateway = new ClientGateway({ chosen: log, quorum: Quorum.majority(3), reachable: () => 3, submit });
  gateway.becomeReady();
  return { gateway, results };
}

async function startProposer(port: number, r: SeededRandom) {
  const { gateway } = standInCore(r);
  const node = {
    quorum: Quorum.majority(3),
    reachable: () => 3,
    propose: (c: Command, token?: object) => gateway.propose(c, token),
    abandon: (id: string, token: object) => gateway.abandon(id, token),
  };
  const deps = { node, links: [], checker: new ValueChecker(MAX_VALUE_BYTES, () => undefined), proposeTimeoutMs: 2000, logger, maxInFlightPerStream: 512, streamIdleMs: 500 } as unknown as ProposerServiceDeps;
  const server: RunningServer = await startGrpcServer({
    host: '127.0.0.1',
    port,
    maxReceiveBytes: 4 * 1024 * 1024,
    transport: INSECURE,
    logger,
    services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: proposerService(deps) }],
  });
  return { server, gateway };
}

type Outcome = { code: number; details: string; at: string; answers: Array<{ code: number; details: string }> };

const ALLOWED = new Set([
  status.OK,
  status.CANCELLED,
  status.INVALID_ARGUMENT,
  status.DEADLINE_EXCEEDED,
  status.ALREADY_EXISTS,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.UNAVAILABLE,
]);

/** Writes the messages (a few at a time), then half-closes, cancels mid-flight or leaves the stream open; settles with its status and answers. */
function drive<Q, A>(at: string, call: ClientDuplexStream<Q, A>, messages: readonly Q[], end: 'half-close' | 'cancel' | 'leave', answersOf: (a: A) => Array<{ code: number; details: string }>, r: SeededRandom): Promise<Outcome> {
  return new Promise((resolve) => {
    const answers: Array<{ code: number; details: string }> = [];
    call.on('data', (a: A) => answers.push(...answersOf(a)));
    call.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details, at, answers }));
    call.on('status', (s: { code: number; details: string }) => {
      if (s.code === status.OK) setImmediate(() => resolve({ code: s.code, details: s.details, at, answers }));
    });
    let i = 0;
    const writeSome = () => {
      for (let k = r.int(1, 200); k > 0 && i < messages.length; k--) call.write(messages[i++] as Q);
      if (i < messages.length) setTimeout(writeSome, r.int(0, 3));
      else if (end === 'half-close') call.end();
    };
    writeSome();
    if (end === 'cancel') setTimeout(() => call.cancel(), r.int(0, 40));
  });
}

const streamAnswers = (a: ProposeStreamResponse) => [a.result?.$case === 'failure' ? { code: a.result.value.code, details: a.result.value.message } : { code: status.OK, details: '' }];

describe('a proposer as a hostile client reaches it', () => {
  let uncaught: ReturnType<typeof recordUncaught>;
  beforeAll(() => {
    uncaught = recordUncaught();
  });
  afterAll(() => uncaught.stop());

  for (const seed of SEEDS) {
    it(`answers every proposal with a documented status and keeps choosing (seed ${seed})`, async () => {
      const r = new SeededRandom(seed);
      const g = new Gen(r);
      // Port 0: the OS picks a free one (specs of other projects run beside this one).
      const { server, gateway } = await startProposer(0, r);
      const client = new ProposerServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
      const bad: Array<Partial<Outcome> & { why: string }> = [];
      let n = 0;
      /** A stream's deadline grows with its proposals (a loaded 2-core machine takes a few ms each). */
      let allowedMs = DEADLINE_MS;
      const deadline = (proposals = 0) => new Date(Date.now() + (allowedMs = DEADLINE_MS + 4 * proposals));
      const unary = (req: ProposeRequest, at: string) =>
        new Promise<Outcome>((resolve) => client.propose(req, new Metadata(), { deadline: deadline() }, (e) => resolve({ code: e ? e.code : status.OK, details: e?.details ?? '', at, answers: [] })));
      try {
        for (let step = 0; step < STEPS; step++) {
          const op = r.int(0, 3);
          let o: Outcome;
          let started = Date.now();
          allowedMs = DEADLINE_MS;
          let sent = 0;
          let end: 'half-close' | 'cancel' | 'leave' = 'half-close';
          if (op === 0) {
            const calls = Array.from({ length: g.pick([1, 5, 50]) }, () => g.proposal(n++));
            const outs = await Promise.all(calls.map((p) => unary(p, `propose ${JSON.stringify(p.clientRequestId.slice(0, 20))} ${p.value?.contentType.slice(0, 30)} ${p.value?.data.length}`)));
            for (const x of outs.slice(1)) if (!ALLOWED.has(x.code) || (x.code !== status.OK && !x.details.trim())) bad.push({ ...x, why: 'status' });
            o = outs[0] as Outcome;
          } else if (op === 1) {
            end = g.pick(['half-close', 'half-close', 'cancel', 'leave'] as const);
            const msgs: ProposeStreamRequest[] = Array.from({ length: (r.chance(0.1) ? 2000 : g.pick([0, 1, 10, 300])) }, () => (r.chance(0.03) ? {} : { proposal: g.proposal(n++) }));
            sent = msgs.length;
            started = Date.now();
            o = await drive(`proposeStream x${msgs.length} ${end}`, client.proposeStream({ deadline: deadline(msgs.length) }), msgs, end, streamAnswers, r);
          } else {
            end = g.pick(['half-close', 'half-close', 'cancel', 'leave'] as const);
            const msgs: ProposeBulkRequest[] = Array.from({ length: g.pick([1, 2, 5]) }, () => ({ proposals: Array.from({ length: r.chance(0.1) ? g.pick([0, 1025]) : (r.chance(0.15) ? 1024 : g.pick([1, 10, 100])) }, () => g.proposal(n++, true)) }));
            // A message past the server's receive bound (4 MiB) is RESOURCE_EXHAUSTED by grpc-js itself: not a well-formed stream.
            sent = msgs.every((m) => m.proposals.length >= 1 && m.proposals.length <= 1024 && ProposeBulkRequest.encode(m).finish().length < 4 * 1024 * 1024 - 1024) ? msgs.reduce((s, m) => s + m.proposals.length, 0) : -1;
            started = Date.now();
            o = await drive(`proposeBulk ${msgs.map((m) => m.proposals.length).join('+')} ${end}`, client.proposeBulk({ deadline: deadline(msgs.reduce((k, m) => k + m.proposals.length, 0)) }), msgs, end, (a: ProposeBulkResponse) => a.answers.flatMap(streamAnswers), r);
          }
          const took = Date.now() - started;
          if (process.env['FUZZ_VERBOSE']) process.stdout.write(`${o.at} -> ${status[o.code]} ${o.details.slice(0, 120)} answers ${o.answers.length} in ${took} ms ${[...new Set(o.answers.map((a) => `${status[a.code]} ${a.details.slice(0, 80)}`))].join(' | ')}\n`);
          if (took > allowedMs + 2000) bad.push({ ...o, why: `settled after ${took} ms` });
          if (!ALLOWED.has(o.code) || (o.code !== status.OK && !o.details.trim())) bad.push({ ...o, why: 'status' });
          for (const a of o.answers) if (!ALLOWED.has(a.code) || (a.code !== status.OK && !a.details.trim())) bad.push({ ...a, at: o.at, why: 'answer status' });
          // A half-closed stream of well-formed messages is answered in full, each proposal once.
          if (op !== 0 && end === 'half-close' && sent >= 0 && o.code === status.OK && o.answers.length !== sent) bad.push({ at: o.at, why: `${o.answers.length} answers to ${sent} proposals` });
          if (op !== 0 && end === 'half-close' && sent >= 0 && o.code !== status.OK) bad.push({ ...o, answers: [], why: 'a half-closed stream of well-formed messages ended with an error' });
          // Still choosing a normal proposal.
          const alive = await unary({ clientRequestId: `alive-${seed}-${step}`, value: { contentType: 'text/plain', data: Buffer.from('ok') }, includeVotes: false }, 'alive');
          if (alive.code !== status.OK) bad.push({ ...alive, why: `no normal proposal chosen after ${o.at}` });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (gateway.waitingIds().length > 0) bad.push({ why: `${gateway.waitingIds().length} ids still waited for after every call settled` });
        if (bad.length > 0 || uncaught.seen.length > 0) throw new Error(`seed ${seed} (FUZZ_SEED=${seed} replays it): ${JSON.stringify(bad.slice(0, 5))} ${uncaught.seen.map(String).join('; ')}`);
      } finally {
        client.close();
        gateway.stop();
        await server.shutdown(0);
      }
    }, 120_000);
  }
});

describe('WatchChosen as a hostile client reaches it', () => {
  for (const seed of SEEDS) {
    it(`ends every watch with a documented status, frees its place, and keeps serving (seed ${seed})`, async () => {
      const r = new SeededRandom(seed);
      // 40 slots chosen, the newest 16 kept in memory; older ones would come from acceptors (none here: UNAVAILABLE).
      const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: (d) => createHash('sha256').update(d).digest('hex') }) });
      const ballot = { round: 1n, proposerId: 1 };
      log.learn(Array.from({ length: 40 }, (_, i) => ({ slot: BigInt(i), ballot, value: { kind: 'batch' as const, commands: [{ clientRequestId: `w${i}`, contentType: 'text/plain', data: Buffer.from(`v${i}`) }] } })));
      const node = { quorum: Quorum.majority(3), reachable: () => 3, chosen: log, reader: new LogReader([], log, () => undefined) };
      const deps = { node, links: [], checker: new ValueChecker(MAX_VALUE_BYTES, () => undefined), proposeTimeoutMs: 2000, logger, maxWatchers: 8, maxWatchersPerClient: 4, watcherStallMs: 300 } as unknown as ProposerServiceDeps;
      const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [{ name: 'paxos.v1.ProposerService', definition: ProposerServiceService, implementation: proposerService(deps) }] });
      const client = new ProposerServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
      const SLOTS = [0n, 1n, 23n, 24n, 25n, 39n, 40n, 41n, 1000n, (1n << 63n) - 1n, (1n << 64n) - 1n];
      const watch = (fromSlot: bigint, cancelAfterMs: number | undefined, deadlineMs: number) =>
        new Promise<{ code: number; details: string; slots: bigint[]; at: string }>((resolve) => {
          const slots: bigint[] = [];
          const at = `watch from ${fromSlot}${cancelAfterMs !== undefined ? ` cancelled after ${cancelAfterMs} ms` : ''}`;
          const call = client.watchChosen({ fromSlot }, { deadline: new Date(Date.now() + deadlineMs) });
          call.on('data', (e: { slot: bigint }) => slots.push(e.slot));
          call.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details, slots, at }));
          call.on('status', (st: { code: number; details: string }) => {
            if (st.code === status.OK) resolve({ code: st.code, details: st.details, slots, at });
          });
          if (cancelAfterMs !== undefined) setTimeout(() => call.cancel(), cancelAfterMs);
        });
      const bad: unknown[] = [];
      try {
        for (let round = 0; round < 4; round++) {
          // More watchers at once than the per-client bound: the extra ones are RESOURCE_EXHAUSTED at once.
          const n = r.int(1, 8);
          const outs = await Promise.all(Array.from({ length: n }, () => watch(SLOTS[r.int(0, SLOTS.length)] as bigint, r.chance(0.4) ? r.int(0, 50) : undefined, 400)));
          for (const o of outs) {
            if (process.env["FUZZ_VERBOSE"]) process.stdout.write(`${o.at} -> ${status[o.code]} ${o.slots.length} slots ${o.details.slice(0, 100)}\n`);
            const from = BigInt(o.at.split(' ')[2] as string);
            const ok =
              o.code === status.CANCELLED ||
              o.code === status.RESOURCE_EXHAUSTED ||
              (o.code === status.UNAVAILABLE && from < 24n) ||
              (o.code === status.INVALID_ARGUMENT && from > 1n << 62n) ||
              (o.code === status.DEADLINE_EXCEEDED && (from >= 24n || o.slots.length === 0));
            if (!ok || (o.code !== status.CANCELLED && o.code !== status.DEADLINE_EXCEEDED && !o.details.trim())) bad.push(o);
            // What was sent is the log from its from_slot, in order, without gaps.
            o.slots.forEach((slot, i) => {
              if (slot !== from + BigInt(i)) bad.push({ ...o, why: `slot ${slot} at ${i}` });
            });
          }
          if (outs.filter((o) => o.code === status.RESOURCE_EXHAUSTED).length > Math.max(0, n - 4)) bad.push({ why: `${n} watchers, too many refused`, outs });
        }
        // Every place was freed: the full number of watchers is served again.
        const again = await Promise.all(Array.from({ length: 4 }, () => watch(30n, undefined, 300)));
        for (const o of again) if (o.code !== status.DEADLINE_EXCEEDED || o.slots.length !== 10) bad.push({ ...o, why: 'not served after the hostile watchers left' });
        if (bad.length > 0) throw new Error(`seed ${seed} (FUZZ_SEED=${seed} replays it): ${JSON.stringify(bad.slice(0, 4), (_k, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
      } finally {
        client.close();
        await server.shutdown(0);
      }
    }, 60_000);
  }
});
