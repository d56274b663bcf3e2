import { status } from '@grpc/grpc-js';
import { type Command, Quorum } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { AgreedState } from '@paxos/state-machine';
import { ChosenLog, type ChosenResult } from './chosen-log';
import { type Certifier, ClientGateway, IN_FLIGHT_BYTES_MAX } from './client-gateway';

const command = (id: string): Command => ({ clientRequestId: id, contentType: 'application/x-test-claims', data: Buffer.from(id) });

/** A gateway over a chosen log the test fills in, a certifier the test settles, and a core that records what it was given. */
function setUp(learnChosen?: () => Promise<void>) {
  const chosen = new Map<string, ChosenResult>();
  const certifications: Array<{ command: Command; resolve: (c: Command) => void; reject: (e: unknown) => void }> = [];
  const submitted: Command[] = [];
  const certifier: Certifier = {
    sourcesOf: (c) => (c.contentType === 'application/x-test-claims' ? [0] : []),
    certify: (c) => new Promise<Command>((resolve, reject) => certifications.push({ command: c, resolve, reject })),
  };
  const log = {
    result: (id: string) => chosen.get(id),
    nextSlot: 0n,
    digest: () => 'digest',
    harmonicRefusal: () => undefined,
  } as unknown as ChosenLog;
  const gateway = new ClientGateway({
    chosen: log,
    quorum: Quorum.majority(3),
    reachable: () => 3,
    certifier,
    ...(learnChosen ? { learnChosen } : {}),
    submit: (commands) => {
      submitted.push(...commands);
      return [];
    },
  });
  return { gateway, chosen, certifications, submitted };
}

/** Lets settled promises run and the gateway hand what arrived in that turn to the core. */
const turn = async () => {
  await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};

describe('the same client_request_id under another content type', () => {
  const plain = (id: string, contentType: string): Command => ({ clientRequestId: id, contentType, data: Buffer.from('{"amount":100}') });

  it('sent while the first is in flight, is ALREADY_EXISTS once the first takes effect (the same bytes are another value)', async () => {
    const { gateway, submitted } = setUp();
    gateway.becomeReady();
    const first = gateway.propose(plain('t', 'text/plain'));
    const other = gateway.propose(plain('t', 'application/json'));
    await turn();
    expect(submitted.map((c) => c.contentType)).toEqual(['text/plain']);
    gateway.delivered([{ clientRequestId: 't', slot: 6n, valueDigest: 'digest', data: plain('t', 'text/plain').data, contentType: 'text/plain' }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 6n, duplicate: false });
    await expect(other).rejects.toMatchObject({ code: status.ALREADY_EXISTS, message: expect.stringContaining('already took effect in slot 6 with these bytes under another content type ("text/plain")') });
  });

  it('sent after the first took effect, is ALREADY_EXISTS, and a duplicate under its own content type', async () => {
    const { gateway, chosen, submitted } = setUp();
    gateway.becomeReady();
    chosen.set('k', { clientRequestId: 'k', slot: 7n, ballot: { round: 1n, proposerId: 1 }, valueDigest: 'digest', contentType: 'text/plain' });
    await expect(gateway.propose(plain('k', 'application/json'))).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
    await expect(gateway.propose(plain('k', 'text/plain'))).resolves.toMatchObject({ slot: 7n, duplicate: true });
    expect(submitted).toEqual([]);
  });

  it('with the same bytes, is told so with the content type it took effect under, not pointed at a digest that is its own', async () => {
    const { gateway, chosen } = setUp();
    gateway.becomeReady();
    // The log's digest is the same for any bytes here, as it is for the caller's own bytes.
    chosen.set('k', { clientRequestId: 'k', slot: 7n, ballot: { round: 1n, proposerId: 1 }, valueDigest: 'digest', contentType: 'text/plain' });
    const refused = gateway.propose(plain('k', 'application/json'));
    await expect(refused).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
      message: expect.stringContaining('already took effect in slot 7 with these bytes under another content type ("text/plain")'),
    });
    await expect(refused).rejects.toMatchObject({ message: expect.not.stringContaining('sha256 digest') });
  });
});

describe('the client gateway with claim certificates', () => {
  it('certifies once per id, hands the certified command to the core, and attaches retries to it', async () => {
    const { gateway, certifications, submitted } = setUp();
    gateway.becomeReady();
    const first = gateway.propose(command('a'));
    const retry = gateway.propose(command('a'));
    expect(certifications.map((c) => c.command.clientRequestId)).toEqual(['a']);
    certifications[0]?.resolve({ ...command('a'), verifiedBy: [0] });
    await turn();
    expect(submitted).toEqual([{ ...command('a'), verifiedBy: [0] }]);
    gateway.delivered([{ clientRequestId: 'a', slot: 4n, valueDigest: 'digest' }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 4n, duplicate: false });
    await expect(retry).resolves.toMatchObject({ slot: 4n, duplicate: true });
  });

  it('answers the same id with other bytes, sent while the first is in flight, once one takes effect: ALREADY_EXISTS for the bytes that did not', async () => {
    const { gateway, certifications } = setUp();
    gateway.becomeReady();
    const first = gateway.propose(command('z'));
    // Not refused at once: its own bytes may be in flight at another proposer and take effect first.
    const other = gateway.propose({ ...command('z'), data: Buffer.from('other bytes') });
    const retry = gateway.propose(command('z'));
    expect(certifications).toHaveLength(1);
    certifications[0]?.resolve({ ...command('z'), verifiedBy: [0] });
    await turn();
    gateway.delivered([{ clientRequestId: 'z', slot: 5n, valueDigest: 'digest', data: command('z').data }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 5n, duplicate: false });
    await expect(retry).resolves.toMatchObject({ slot: 5n, duplicate: true });
    await expect(other).rejects.toMatchObject({ code: status.ALREADY_EXISTS, message: expect.stringContaining('already took effect in slot 5 with another value') });
  });

  it('a caller whose other bytes waited on a value in flight that is refused hears UNAVAILABLE (retry), not the refusal of claims it did not make', async () => {
    const { gateway, certifications } = setUp();
    gateway.becomeReady();
    const first = gateway.propose(command('q'));
    const other = gateway.propose({ ...command('q'), data: Buffer.from('other bytes') });
    certifications[0]?.reject(new GrpcError(status.FAILED_PRECONDITION, 'claims[0] (source 0, 11.a2, torsion) is false'));
    await expect(first).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(other).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringContaining('another value under client_request_id "q" was in flight here and was not chosen (claims[0]') });
  });

  it('a waiter whose id took effect with another proposer\'s other bytes hears ALREADY_EXISTS, not that its value was chosen', async () => {
    const chosen = new Map<string, ChosenResult>();
    const log = { result: (id: string) => chosen.get(id), nextSlot: 0n, digest: (d: Uint8Array) => `sha(${Buffer.from(d).toString()})`, harmonicRefusal: () => undefined } as unknown as ChosenLog;
    const gateway = new ClientGateway({ chosen: log, quorum: Quorum.majority(3), reachable: () => 3, submit: () => [] });
    gateway.becomeReady();
    const plain = (id: string, data: string): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(data) });
    // Both proposers took the id at once; the other one's value took effect first (this one's was adopted away or became its duplicate).
    const mine = gateway.propose(plain('x', 'bytes-one'));
    const again = gateway.propose(plain('x', 'bytes-one'));
    await turn();
    gateway.delivered([{ clientRequestId: 'x', slot: 12n, ballot: { round: 1n, proposerId: 2 }, valueDigest: 'sha(bytes-two)', data: Buffer.from('bytes-two') }], () => []);
    for (const answer of [mine, again]) {
      await expect(answer).rejects.toMatchObject({ code: status.ALREADY_EXISTS, message: expect.stringContaining('already took effect in slot 12 with another value (sha256 sha(bytes-two))') });
    }
    // The same bytes through either proposer: chosen.
    const same = gateway.propose(plain('y', 'bytes-y'));
    await turn();
    gateway.delivered([{ clientRequestId: 'y', slot: 13n, ballot: { round: 1n, proposerId: 2 }, valueDigest: 'sha(bytes-y)', data: Buffer.from('bytes-y') }], () => []);
    await expect(same).resolves.toMatchObject({ slot: 13n, duplicate: false });
    // Known only once a state snapshot is installed: the same rule.
    const late = gateway.propose(plain('w', 'bytes-one'));
    await turn();
    chosen.set('w', { clientRequestId: 'w', slot: 14n, valueDigest: 'sha(bytes-two)' });
    gateway.answerSettled();
    await expect(late).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
  });

  it('answers a command chosen while its claims were asked about with its slot, not the refusal', async () => {
    const { gateway, chosen, certifications } = setUp();
    gateway.becomeReady();
    const answer = gateway.propose(command('b'));
    chosen.set('b', { clientRequestId: 'b', slot: 9n, valueDigest: 'digest' }); // chosen through another proposer
    certifications[0]?.reject(new GrpcError(status.FAILED_PRECONDITION, 'refused by acceptor 0'));
    await expect(answer).resolves.toMatchObject({ slot: 9n, duplicate: true });
  });

  it('before refusing claims for good, learns the log: a command chosen through another proposer gets its slot', async () => {
    let learned = 0;
    const chosenElsewhere = new Map<string, ChosenResult>();
    const { gateway, chosen, certifications } = setUp(async () => {
      learned++;
      for (const [id, r] of chosenElsewhere) chosen.set(id, r);
    });
    gateway.becomeReady();
    const retried = gateway.propose(command('g'));
    const refused = gateway.propose(command('h'));
    chosenElsewhere.set('g', { clientRequestId: 'g', slot: 12n, valueDigest: 'digest' });
    certifications[0]?.reject(new GrpcError(status.FAILED_PRECONDITION, 'refused by acceptor 0'));
    certifications[1]?.reject(new GrpcError(status.FAILED_PRECONDITION, 'refused by acceptor 0'));
    await expect(retried).resolves.toMatchObject({ slot: 12n, duplicate: true });
    await expect(refused).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(learned).toBe(2);
    // A refusal a retry may overcome needs no learning.
    const later = gateway.propose(command('i'));
    certifications[2]?.reject(new GrpcError(status.UNAVAILABLE, 'too few answered'));
    await expect(later).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(learned).toBe(2);
  });

  it('certifies nothing before the log is learned; then a command the log holds is answered without asking', async () => {
    const { gateway, chosen, certifications, submitted } = setUp();
    const old = gateway.propose(command('c'));
    const fresh = gateway.propose(command('d'));
    expect(certifications).toEqual([]);
    chosen.set('c', { clientRequestId: 'c', slot: 2n, valueDigest: 'digest' });
    gateway.becomeReady();
    await expect(old).resolves.toMatchObject({ slot: 2n, duplicate: true });
    expect(certifications.map((c) => c.command.clientRequestId)).toEqual(['d']);
    certifications[0]?.reject(new GrpcError(status.UNAVAILABLE, 'too few answered'));
    await expect(fresh).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(submitted).toEqual([]);
  });

  it('refuses new commands once stopped, and drops a certification that ends after the stop', async () => {
    const { gateway, certifications, submitted } = setUp();
    gateway.becomeReady();
    const pending = gateway.propose(command('e'));
    gateway.stop();
    await expect(pending).rejects.toMatchObject({ code: status.UNAVAILABLE });
    certifications[0]?.resolve(command('e'));
    await turn();
    expect(submitted).toEqual([]);
    await expect(gateway.propose(command('f'))).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringContaining('shutting down') });
  });
});

describe('the bytes the gateway holds for proposals not yet chosen', () => {
  it('refuses new proposals past IN_FLIGHT_BYTES_MAX, and takes new ones once values are chosen', async () => {
    const { gateway, submitted } = setUp();
    gateway.becomeReady();
    const mib = (id: string): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.alloc(1024 * 1024, 1) });
    const fits = IN_FLIGHT_BYTES_MAX / (1024 * 1024);
    const taken = Array.from({ length: fits }, (_, i) => gateway.propose(mib(`m${i}`)));
    await turn();
    expect(submitted).toHaveLength(fits);
    await expect(gateway.propose(mib('one-more'))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringContaining('not yet chosen') });
    gateway.delivered([{ clientRequestId: 'm0', slot: 0n, valueDigest: 'digest' }], () => []);
    await expect(taken[0]).resolves.toMatchObject({ slot: 0n });
    const next = gateway.propose(mib('one-more'));
    await turn();
    expect(submitted.map((c) => c.clientRequestId)).toContain('one-more');
    gateway.delivered([{ clientRequestId: 'one-more', slot: 1n, valueDigest: 'digest' }], () => []);
    await expect(next).resolves.toMatchObject({ slot: 1n });
  });
});

describe('the bytes of callers waiting on an id in flight', () => {
  it('counts other bytes sent under the id against IN_FLIGHT_BYTES_MAX (refused past it)', async () => {
    const { gateway, submitted } = setUp();
    gateway.becomeReady();
    const mib = (id: string, fill: number): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.alloc(1024 * 1024, fill) });
    const first = gateway.propose(mib('x', 0));
    await turn();
    expect(submitted).toHaveLength(1);
    // Each waits for the id's outcome and holds the bytes it sent: without a bound, a client sending
    // the id again with other bytes held its proposer's memory past every bound.
    const others = Array.from({ length: 100 }, (_, i) => gateway.propose(mib('x', i + 1)).then(() => 'answered', (e: { code?: number }) => e.code));
    await turn();
    const settled = await Promise.race([Promise.all(others.slice(-30)), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(settled).toEqual(Array(30).fill(status.RESOURCE_EXHAUSTED));
    gateway.delivered([{ clientRequestId: 'x', slot: 0n, valueDigest: 'digest' }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 0n, duplicate: false });
    // Answered, the waiters' bytes are given back: a new proposal of the full bound is taken.
    await Promise.all(others);
    const next = gateway.propose({ clientRequestId: 'y', contentType: 'text/plain', data: Buffer.alloc(IN_FLIGHT_BYTES_MAX, 1) });
    await turn();
    expect(submitted.map((c) => c.clientRequestId)).toContain('y');
    gateway.delivered([{ clientRequestId: 'y', slot: 1n, valueDigest: 'digest' }], () => []);
    await expect(next).resolves.toMatchObject({ slot: 1n });
  });
});

describe('retries of the value in flight', () => {
  it('count against IN_FLIGHT_BYTES_MAX too: each caller\'s request holds its own copy while it waits (refused past the bound, given back once answered)', async () => {
    const { gateway, submitted } = setUp();
    gateway.becomeReady();
    // Each a buffer of its own, as every call's request is.
    const mib = (): Command => ({ clientRequestId: 'r', contentType: 'text/plain', data: Buffer.alloc(1024 * 1024, 7) });
    const first = gateway.propose(mib());
    await turn();
    expect(submitted).toHaveLength(1);
    // Without the count, a client re-sending one 1 MiB value while it was in flight (a retrying
    // client during a slow round, or on purpose) held a MiB per call: 4 GiB at --max-calls-per-client.
    const retries = Array.from({ length: 100 }, () => gateway.propose(mib()).then((o) => (o.duplicate ? 'duplicate' : 'first'), (e: { code?: number }) => e.code));
    const fits = IN_FLIGHT_BYTES_MAX / (1024 * 1024) - 1;
    const refused = await Promise.race([Promise.all(retries.slice(fits)), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(refused).toEqual(Array(100 - fits).fill(status.RESOURCE_EXHAUSTED));
    gateway.delivered([{ clientRequestId: 'r', slot: 3n, valueDigest: 'digest', data: mib().data, contentType: 'text/plain' }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 3n, duplicate: false });
    expect(await Promise.all(retries.slice(0, fits))).toEqual(Array(fits).fill('duplicate'));
    // Answered, every retry's bytes are given back: a new proposal of the full bound is taken.
    const next = gateway.propose({ clientRequestId: 'z', contentType: 'text/plain', data: Buffer.alloc(IN_FLIGHT_BYTES_MAX, 1) });
    await turn();
    expect(submitted.map((c) => c.clientRequestId)).toContain('z');
    gateway.delivered([{ clientRequestId: 'z', slot: 4n, valueDigest: 'digest' }], () => []);
    await expect(next).resolves.toMatchObject({ slot: 4n });
  });
});

describe('the client gateway when a caller gives up', () => {
  it('forgets an abandoned waiter: the retry that is answered first hears duplicate: false', async () => {
    const { gateway, certifications } = setUp();
    gateway.becomeReady();
    const token = {};
    void gateway.propose(command('t'), token);
    gateway.abandon('t', token);
    expect(gateway.waitingIds()).toEqual([]);
    const retry = gateway.propose(command('t'));
    certifications[0]?.resolve(command('t'));
    await turn();
    gateway.delivered([{ clientRequestId: 't', slot: 2n, valueDigest: 'digest' }], () => []);
    await expect(retry).resolves.toMatchObject({ slot: 2n, duplicate: false });
  });

  it('abandons only the caller named by its token, among many on one id, and gives back the bytes it held', async () => {
    const { gateway, submitted } = setUp();
    gateway.becomeReady();
    const sent = (fill: number): Command => ({ clientRequestId: 'many', contentType: 'text/plain', data: Buffer.alloc(1024, fill) });
    const first = gateway.propose(sent(0), {});
    await turn();
    const tokens = Array.from({ length: 2_000 }, () => ({}));
    const waiting = tokens.map((token, i) => gateway.propose(sent(i % 2 === 0 ? 0 : 1), token).then((o) => o.duplicate, (e: { code?: number }) => e.code));
    for (const [i, token] of tokens.entries()) if (i !== 7 && i !== 8) gateway.abandon('many', token);
    gateway.abandon('many', {});
    expect(submitted).toHaveLength(1);
    gateway.delivered([{ clientRequestId: 'many', slot: 5n, valueDigest: 'digest', data: Buffer.alloc(1024, 0) }], () => []);
    await expect(first).resolves.toMatchObject({ slot: 5n, duplicate: false });
    // The two left hear their own answers: a duplicate of the same bytes, ALREADY_EXISTS for others.
    expect(await waiting[8]).toBe(true);
    expect(await waiting[7]).toBe(status.ALREADY_EXISTS);
    // Every abandoned waiter's other bytes were given back: the whole bound is free again.
    const next = gateway.propose({ clientRequestId: 'next', contentType: 'text/plain', data: Buffer.alloc(IN_FLIGHT_BYTES_MAX, 1) });
    await turn();
    expect(submitted.map((c) => c.clientRequestId)).toContain('next');
    gateway.delivered([{ clientRequestId: 'next', slot: 6n, valueDigest: 'digest' }], () => []);
    await expect(next).resolves.toMatchObject({ slot: 6n });
  });
});

describe('the client gateway and copies sent through other proposers', () => {
  it('a waiter whose id took effect in a slot this proposer did not build hears a duplicate (the client sent it elsewhere first)', async () => {
    const { gateway, certifications } = setUp();
    gateway.becomeReady();
    const retried = gateway.propose(command('r'));
    certifications[0]?.resolve(command('r'));
    await turn();
    gateway.delivered([{ clientRequestId: 'r', slot: 3n, valueDigest: 'digest' }], () => [], (slot) => slot === 5n);
    await expect(retried).resolves.toMatchObject({ slot: 3n, duplicate: true });
    const mine = gateway.propose(command('m'));
    certifications[1]?.resolve(command('m'));
    await turn();
    gateway.delivered([{ clientRequestId: 'm', slot: 5n, valueDigest: 'digest' }], () => [], (slot) => slot === 5n);
    await expect(mine).resolves.toMatchObject({ slot: 5n, duplicate: false });
  });
});

describe('the client gateway and the registry', () => {
  it('a Monster Harmonic proposal chosen after its number was taken (through another proposer) hears FAILED_PRECONDITION, and so does every retry', async () => {
    const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest: (d) => Buffer.from(d).toString('hex').slice(0, 16) }) });
    const gateway = new ClientGateway({ chosen: log, quorum: Quorum.majority(3), reachable: () => 3, submit: () => [] });
    gateway.becomeReady();
    const proposal = (framework: string) => encodeProposalValue(buildProposal({ proposalNumber: 7n, proposerId: 1, leaderboard: [{ framework, score: '1', pricePerPoint: '1', bid: '1', ask: '1' }] }));
    const alice = { clientRequestId: 'alice', ...proposal('alice/fw') };
    const bob = { clientRequestId: 'bob', ...proposal('bob/fw') };
    const ballot = { round: 1n, proposerId: 1 };
    // Bob's proposal 7 passed this proposer's up-front check (its state had not applied Alice's yet).
    const answer = gateway.propose(bob);
    await turn();
    const fresh = log.learn([
      { slot: 0n, ballot, value: { kind: 'batch', commands: [alice] } },
      { slot: 1n, ballot, value: { kind: 'batch', commands: [bob] } },
    ]);
    gateway.delivered(fresh, () => []);
    const told = /the proposal was chosen in slot 1 but took no effect: proposal 7 was already chosen in slot 0; each number is used once/;
    await expect(answer).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringMatching(told) });
    await expect(gateway.propose(bob)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringMatching(told) });
    // Alice's retry: chosen, a duplicate.
    await expect(gateway.propose(alice)).resolves.toMatchObject({ slot: 0n, duplicate: true });
  });
});

describe('the client gateway after a state snapshot', () => {
  it('gives back the bytes of ids in flight whose callers left, once an installed snapshot shows they took effect', async () => {
    const { gateway, chosen } = setUp();
    gateway.becomeReady();
    const mib = 1024 * 1024;
    const big = (id: string): Command => ({ clientRequestId: id, contentType: 'application/octet-stream', data: Buffer.alloc(mib, id) });
    const count = IN_FLIGHT_BYTES_MAX / mib;
    // Each caller's deadline passes (abandon); its command stays in the core, and takes effect in
    // slots a state snapshot covers: no delivery ever names them.
    for (let i = 0; i < count; i++) {
      const token = {};
      void gateway.propose(big(`gone-${i}`), token).catch(() => undefined);
      gateway.abandon(`gone-${i}`, token);
    }
    await turn();
    for (let i = 0; i < count; i++) chosen.set(`gone-${i}`, { clientRequestId: `gone-${i}`, slot: BigInt(i) });
    gateway.answerSettled();
    // Before: the ids stayed in flight here for good, their 64 MiB counted, and every new
    // proposal was RESOURCE_EXHAUSTED.
    const next = gateway.propose(big('next'));
    gateway.delivered([{ clientRequestId: 'next', slot: 100n, valueDigest: 'digest' }], () => []);
    await expect(next).resolves.toMatchObject({ slot: 100n });
  });
});

describe('a starting proposer holding as many commands as it may while it learns the log', () => {
  it('still answers a retry of an id it has learned already with its slot, and refuses only new ones', async () => {
    const { gateway, chosen } = setUp();
    const plain = (id: string): Command => ({ clientRequestId: id, contentType: 'text/plain', data: Buffer.from(id) });
    const held = Array.from({ length: 65_536 }, (_, i) => gateway.propose(plain(`held-${i}`)));
    chosen.set('learned', { clientRequestId: 'learned', slot: 3n, ballot: { round: 1n, proposerId: 1 }, valueDigest: 'digest', contentType: 'text/plain' });
    await expect(gateway.propose(plain('learned'))).resolves.toMatchObject({ slot: 3n, duplicate: true });
    await expect(gateway.propose(plain('new'))).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringContaining('still learning the chosen log') });
    gateway.stop();
    await Promise.allSettled(held);
  });
});
