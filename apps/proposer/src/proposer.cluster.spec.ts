import { Metadata, status } from '@grpc/grpc-js';
import { AcceptorServiceClient, type ProposeBulkResponse, ProposerServiceClient, type ProposeStreamResponse, type WatchChosenResponse } from '@paxos/proto';
import { TestCluster, textValue } from '@paxos/test-cluster';

jest.setTimeout(120_000);

/** Reads `count` chosen slots from a proposer's WatchChosen stream, from slot 0. */
function watch(address: string, count: number, timeoutMs = 15_000): Promise<WatchChosenResponse[]> {
  const client = new ProposerServiceClient(address, TestCluster.credentialsFor(address));
  const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), { deadline: Date.now() + timeoutMs });
  const got: WatchChosenResponse[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (r: WatchChosenResponse) => {
      got.push(r);
      if (got.length === count) {
        call.cancel();
        client.close();
        resolve(got);
      }
    });
    call.on('error', (e: { code: number }) => {
      client.close();
      if (e.code !== status.CANCELLED) reject(e);
    });
  });
}

/** An acceptor's committed index, from its Status. */
function committedIndex(address: string): Promise<bigint> {
  return new Promise<bigint>((resolve, reject) => {
    const client = new AcceptorServiceClient(address, TestCluster.credentialsFor(address));
    client.status({}, new Metadata(), { deadline: Date.now() + 2000 }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r.committedIndex);
    });
  });
}

const commandText = (r: WatchChosenResponse): string[] =>
  r.value?.kind?.$case === 'batch' ? r.value.kind.value.commands.map((c) => Buffer.from(c.value?.data ?? []).toString()) : ['<noop>'];

describe('proposer with 5 acceptors (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    await cluster.startProposer(1);
  });
  afterAll(() => cluster.stop());

  it('chooses values in distinct slots and delivers them in order without gaps', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await cluster.propose(1, `order-${i}`, textValue(`value ${i}`)));
    const slots = answers.map((a) => a.slot);
    expect(new Set(slots).size).toBe(5);
    for (const a of answers) {
      expect(a.valueDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(a.duplicate).toBe(false);
    }
    const log = await watch(cluster.proposerAddress(1), 5);
    expect(log.map((e) => e.slot)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(log.flatMap(commandText)).toEqual(['value 0', 'value 1', 'value 2', 'value 3', 'value 4']);
  });

  it('chooses a retried client request id exactly once', async () => {
    const first = await cluster.propose(1, 'retry-me', textValue('once'));
    const again = await cluster.propose(1, 'retry-me', textValue('once'));
    expect(again.slot).toBe(first.slot);
    expect(again.duplicate).toBe(true);
    const concurrent = await Promise.all([1, 2, 3].map(() => cluster.propose(1, 'retry-together', textValue('together'))));
    expect(new Set(concurrent.map((a) => a.slot)).size).toBe(1);
  });

  it('ProposeBulk chooses many proposals per message, answers them together, and refuses bad ones alone', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    const call = client.proposeBulk(new Metadata(), { deadline: Date.now() + 20_000 });
    const messages: ProposeBulkResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (m: ProposeBulkResponse) => messages.push(m));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const proposals = Array.from({ length: 20 }, (_, i) => ({ clientRequestId: `bulk-${i}`, value: textValue(`bulk ${i}`), includeVotes: false }));
    proposals.push({ clientRequestId: 'bulk-3', value: textValue('bulk 3'), includeVotes: false });
    proposals.push({ clientRequestId: 'bulk-bad', value: { contentType: '', data: Buffer.from('x') }, includeVotes: false });
    call.write({ proposals });
    call.end();
    await done;
    client.close();
    const answers = messages.flatMap((m) => m.answers);
    expect(answers).toHaveLength(22);
    expect(messages.length).toBeLessThan(22);
    const chosen = answers.filter((a) => a.result?.$case === 'chosen');
    expect(new Set(chosen.map((a) => a.clientRequestId)).size).toBe(20);
    const slotsOf3 = chosen.filter((a) => a.clientRequestId === 'bulk-3').map((a) => (a.result?.$case === 'chosen' ? a.result.value.slot : -1n));
    expect(new Set(slotsOf3).size).toBe(1);
    const bad = answers.find((a) => a.clientRequestId === 'bulk-bad');
    expect(bad?.result).toMatchObject({ $case: 'failure', value: { code: status.INVALID_ARGUMENT } });
  });

  it('ProposeBulk ends a stream whose message carries no proposals with INVALID_ARGUMENT, after answering the proposals before it', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    const call = client.proposeBulk(new Metadata(), { deadline: Date.now() + 10_000 });
    const answers: ProposeStreamResponse[] = [];
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      call.on('data', (m: ProposeBulkResponse) => answers.push(...m.answers));
      call.on('error', (e: { code: number; details: string }) => resolve(e));
    });
    call.write({ proposals: [{ clientRequestId: 'bulk-before-empty', value: textValue('before an empty message'), includeVotes: false }] });
    call.write({ proposals: [] });
    expect(await ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/1\.\.1024 proposals/) });
    expect(answers.map((a) => [a.clientRequestId, a.result?.$case])).toEqual([['bulk-before-empty', 'chosen']]);
    client.close();
  });

  it('ProposeStream answers a message that carries no proposal with a failure that says so, and goes on', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    const stream = client.proposeStream(new Metadata(), { deadline: Date.now() + 10_000 });
    const answers: ProposeStreamResponse[] = [];
    const done = new Promise<void>((resolve) => {
      stream.on('data', (a: ProposeStreamResponse) => answers.push(a));
      stream.on('end', () => resolve());
      stream.on('error', () => resolve());
    });
    stream.write({});
    stream.write({ proposal: { clientRequestId: 'after-empty', value: textValue('after an empty message'), includeVotes: false } });
    stream.end();
    await done;
    expect(answers.find((a) => a.clientRequestId === '')?.result).toMatchObject({ $case: 'failure', value: { code: status.INVALID_ARGUMENT, message: expect.stringMatching(/carries no proposal/) } });
    expect(answers.find((a) => a.clientRequestId === 'after-empty')?.result?.$case).toBe('chosen');
    client.close();
  });

  it('refuses a malformed value before any acceptor sees it', async () => {
    await expect(cluster.propose(1, '', textValue('x'))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(cluster.propose(1, 'big', { contentType: 'text/plain', data: Buffer.alloc(2 * 1024 * 1024) })).rejects.toMatchObject({
      code: expect.any(Number),
    });
    await expect(cluster.propose(1, 'no-type', { contentType: '', data: Buffer.from('x') })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('keeps choosing with acceptors down below the quorum line, fails with UNAVAILABLE at it, and uses restarted acceptors again', async () => {
    await cluster.killAcceptor(3);
    await cluster.killAcceptor(4);
    const below = await cluster.propose(1, 'two-down', textValue('two down'));
    expect(below.slot).toBeGreaterThan(0n);

    await cluster.killAcceptor(2);
    const started = Date.now();
    await expect(cluster.propose(1, 'three-down', textValue('three down'), 5000)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringMatching(/2 of 5 acceptors (answered|connected to this proposer), 3 needed/),
    });
    expect(Date.now() - started).toBeLessThan(5000);

    await cluster.startAcceptor(2);
    await cluster.startAcceptor(3);
    await cluster.startAcceptor(4);
    let back;
    for (let attempt = 0; attempt < 50 && !back; attempt++) {
      back = await cluster.propose(1, 'back-up', textValue('back up'), 3000).catch(() => new Promise((r) => setTimeout(r, 200)).then(() => undefined));
    }
    expect(back?.duplicate === false || back?.duplicate === true).toBe(true);
  });
});

describe('catch-up (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    await cluster.startProposer(1);
  });
  afterAll(() => cluster.stop());

  it('brings a restarted acceptor up to the committed index with no new proposals', async () => {
    await cluster.propose(1, 'c-0', textValue('before'));
    await cluster.killAcceptor(4);
    for (let i = 1; i <= 3; i++) await cluster.propose(1, `c-${i}`, textValue(`while 4 is down ${i}`));
    await cluster.startAcceptor(4);
    const target = await committedIndex(cluster.acceptorAddresses[0] as string);
    expect(target).toBe(4n);
    let index = await committedIndex(cluster.acceptorAddresses[4] as string);
    for (let attempt = 0; attempt < 100 && index < target; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      index = await committedIndex(cluster.acceptorAddresses[4] as string);
    }
    expect(index).toBe(target);
  });

  it('brings back an acceptor that restarts after the last slot was chosen (commit notices are not durable)', async () => {
    const target = await committedIndex(cluster.acceptorAddresses[0] as string);
    for (let attempt = 0; attempt < 100 && (await committedIndex(cluster.acceptorAddresses[3] as string)) < target; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await committedIndex(cluster.acceptorAddresses[3] as string)).toBe(target);
    await cluster.killAcceptor(3);
    await cluster.startAcceptor(3);
    let index = await committedIndex(cluster.acceptorAddresses[3] as string);
    for (let attempt = 0; attempt < 100 && index < target; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      index = await committedIndex(cluster.acceptorAddresses[3] as string);
    }
    expect(index).toBe(target);
  });
});

describe('catch-up past the values the proposer keeps (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    await cluster.startProposer(1, ['--retain-chosen-slots', '4']);
  });
  afterAll(() => cluster.stop());

  it('brings an acceptor that was down for longer than the kept values up to the committed index, with values from the histories', async () => {
    await cluster.killAcceptor(4);
    for (let i = 0; i < 10; i++) await cluster.propose(1, `long-${i}`, textValue(`while 4 is down ${i}`));
    // The proposer keeps slots 6..9 only; acceptor 4 comes back knowing nothing of 0..9: the
    // values of 0..5 come from the other acceptors' durable histories.
    await cluster.startAcceptor(4);
    let index = await committedIndex(cluster.acceptorAddresses[4] as string);
    for (let attempt = 0; attempt < 100 && index < 10n; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      index = await committedIndex(cluster.acceptorAddresses[4] as string);
    }
    expect(index).toBe(10n);
    // And it votes on what comes next as before.
    const next = await cluster.propose(1, 'long-after', textValue('after'));
    expect(next.slot).toBe(10n);
  });
});

describe('thrifty accepts (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    // Accepts go to 3 of 5 first; the timer that asks everyone is out of reach, so only failures widen a round.
    await cluster.startProposer(1, ['--accept-fanout', '3', '--fanout-expand-ms', '600000']);
  });
  afterAll(() => cluster.stop());

  it('spared acceptors get the chosen values in batches and reach the committed index', async () => {
    for (let i = 0; i < 6; i++) await cluster.propose(1, `thrifty-${i}`, textValue(`thrifty ${i}`));
    for (const address of cluster.acceptorAddresses) {
      let index = await committedIndex(address);
      for (let attempt = 0; attempt < 100 && index < 6n; attempt++) {
        await new Promise((r) => setTimeout(r, 50));
        index = await committedIndex(address);
      }
      expect(index).toBe(6n);
    }
  });

  it('a round whose first acceptors are down asks the others at once, and fails with UNAVAILABLE only at the quorum line', async () => {
    // Slots below 64 go to acceptors 0, 1, 2 first.
    await cluster.killAcceptor(0);
    await cluster.killAcceptor(1);
    const started = Date.now();
    const chosen = await cluster.propose(1, 'first-ones-down', textValue('asked the others'), 5000);
    expect(chosen.duplicate).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    await cluster.killAcceptor(2);
    await expect(cluster.propose(1, 'three-down', textValue('three down'), 5000)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringMatching(/2 of 5 acceptors (answered|connected to this proposer), 3 needed/),
    });
  });
});

describe('several proposers (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    await Promise.all([cluster.startProposer(1), cluster.startProposer(2)]);
  });
  afterAll(() => cluster.stop());

  it('two racing proposers never disagree on a slot', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => i);
    const results = await Promise.allSettled(ids.map((i) => cluster.propose(i % 2 === 0 ? 1 : 2, `race-${i}`, textValue(`race ${i}`), 20_000)));
    const chosen = results.filter((r) => r.status === 'fulfilled');
    expect(chosen.length).toBeGreaterThan(0);
    const slots = chosen.map((r) => (r as PromiseFulfilledResult<{ slot: bigint }>).value.slot);
    const top = slots.reduce((m, s) => (s > m ? s : m), 0n);
    const [a, b] = await Promise.all([watch(cluster.proposerAddress(1), Number(top) + 1, 30_000), watch(cluster.proposerAddress(2), Number(top) + 1, 30_000)]);
    for (let i = 0; i <= Number(top); i++) expect(commandText(a[i] as WatchChosenResponse)).toEqual(commandText(b[i] as WatchChosenResponse));
  });

  it('a proposer killed mid-round is replaced by another that finishes its slots with the values it may have got chosen', async () => {
    const before = await cluster.propose(1, 'before-kill', textValue('chosen before the kill'));
    const proposer1 = cluster.proposers.get(1);
    // Send a value to proposer 1 and kill it while the round is in flight.
    const inFlight = cluster.propose(1, 'mid-round', textValue('maybe chosen'), 3000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2));
    await proposer1?.kill('SIGKILL');
    await inFlight;

    await cluster.startProposer(3);
    const after = await cluster.propose(3, 'after-kill', textValue('after the kill'), 20_000);
    const log = await watch(cluster.proposerAddress(3), Number(after.slot) + 1, 30_000);
    expect(commandText(log[Number(before.slot)] as WatchChosenResponse)).toEqual(['chosen before the kill']);
    const texts = log.flatMap(commandText);
    // Everything chosen is delivered once per slot; the in-flight value is either chosen once or not at all.
    expect(texts.filter((t) => t === 'maybe chosen').length).toBeLessThanOrEqual(1);
    expect(texts).toContain('after the kill');
    const watchedByTwo = await watch(cluster.proposerAddress(2), Number(after.slot) + 1, 30_000);
    expect(watchedByTwo.map(commandText)).toEqual(log.map(commandText));
  });
});

describe('durable chosen history (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 3 });
    await cluster.startProposer(1, ['--retain-chosen-slots', '16']);
  });
  afterAll(() => cluster.stop());

  const learnFrom = (address: string, fromSlot: bigint) => {
    const acceptor = new AcceptorServiceClient(address, TestCluster.credentialsFor(address));
    return new Promise<{ chosen: unknown[]; committedIndex: bigint; oldestKeptSlot: bigint }>((resolve, reject) =>
      acceptor.learn({ fromSlot, maxEntries: 10 }, new Metadata(), { deadline: Date.now() + 5000 }, (e, r) => {
        acceptor.close();
        if (e || !r) reject(e);
        else resolve(r);
      }),
    );
  };

  it('keeps every chosen value: the log reads from slot 0 through any proposer, after every process restarted', async () => {
    for (let i = 0; i < 50; i++) await cluster.propose(1, `hist-${i}`, textValue(`value ${i}`));
    const learned = await learnFrom(cluster.acceptorAddresses[0] as string, 0n);
    expect(learned.oldestKeptSlot).toBe(0n);
    expect(learned.chosen).toHaveLength(10);

    // Every process restarted, the acceptors by kill -9: the history is still there from slot 0.
    await cluster.proposers.get(1)?.kill('SIGKILL');
    for (let i = 0; i < 3; i++) await cluster.killAcceptor(i);
    for (let i = 0; i < 3; i++) await cluster.startAcceptor(i);
    // Back at (about) their committed index, not at 0: the last commit notices before a kill -9
    // may not be written yet (they go in batches), and catch-up brings those again.
    for (const address of cluster.acceptorAddresses) expect(await committedIndex(address)).toBeGreaterThan(40n);
    // (The next test opens 128 watchers from this one client: the per-client bound is lifted for it.)
    await cluster.startProposer(2, ['--retain-chosen-slots', '16', '--max-watchers-per-client', '1000']);
    const answer = await cluster.propose(2, 'after-restarts', textValue('after the restarts'), 20_000);
    expect(answer.slot).toBeGreaterThanOrEqual(50n);
    const log = await watch(cluster.proposerAddress(2), Number(answer.slot) + 1, 30_000);
    expect(log.map((e) => e.slot)).toEqual(Array.from({ length: Number(answer.slot) + 1 }, (_, i) => BigInt(i)));
    const texts = log.flatMap(commandText);
    for (let i = 0; i < 50; i++) expect(texts).toContain(`value ${i}`);
    expect(texts).toContain('after the restarts');
    // A retry of a command chosen before the restarts is answered with its first slot.
    const retry = await cluster.propose(2, 'hist-3', textValue('value 3'), 20_000);
    expect([retry.duplicate, retry.slot]).toEqual([true, 3n]);
  });

  it('bounds the WatchChosen streams it serves, and frees a place when one closes', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(2), cluster.credentials);
    // Streams that never read: each holds at most a page and a flow-control window. They watch
    // from a slot not chosen yet: 128 reads of old history from one client would be more than its
    // share of the places waiting for the acceptors' histories (refused, and their streams ended).
    const open = Array.from({ length: 128 }, () => {
      const call = client.watchChosen({ fromSlot: 1n << 40n }, new Metadata(), { deadline: Date.now() + 60_000 });
      call.pause();
      call.on('error', () => undefined);
      return call;
    });
    const refused = await new Promise<{ code: number; details: string }>((resolve) => {
      const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), { deadline: Date.now() + 10_000 });
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/128 WatchChosen streams/);
    open[0]?.cancel();
    // The place is free once the proposer has seen the cancel: refused (as above) until then, tried again for up to 20 s.
    const watchFirst = () =>
      new Promise<WatchChosenResponse>((resolve, reject) => {
        const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), { deadline: Date.now() + 10_000 });
        call.on('data', (r: WatchChosenResponse) => {
          resolve(r);
          call.cancel();
        });
        call.on('error', (e: { code: number }) => (e.code === status.CANCELLED ? undefined : reject(e)));
      });
    const until = Date.now() + 20_000;
    let first: WatchChosenResponse | undefined;
    // Bounded by the deadline.
    while (first === undefined) {
      try {
        first = await watchFirst();
      } catch (e) {
        if ((e as { code?: number }).code !== status.RESOURCE_EXHAUSTED || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(first.slot).toBe(0n);
    for (const c of open) c.cancel();
    client.close();
  });
});

describe('a WatchChosen client that takes nothing (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 3 });
    await cluster.startProposer(1, ['--watcher-stall-ms', '1000', '--watcher-buffer-bytes', '65536', '--max-watchers-per-client', '2', '--stream-idle-ms', '1000']);
  });
  afterAll(() => cluster.stop());

  it('is cut off with RESOURCE_EXHAUSTED and where to resume, and resuming from there works', async () => {
    // About 6 MB of chosen slots: more than a paused client and the buffers take.
    for (let i = 0; i < 30; i++) await cluster.propose(1, `big-${i}`, textValue(`${i}:${'x'.repeat(200_000)}`));
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), { deadline: Date.now() + 60_000 });
    const got: bigint[] = [];
    call.on('data', (r: WatchChosenResponse) => {
      got.push(r.slot);
      if (got.length === 1) call.pause();
    });
    const ended = new Promise<{ code: number; details: string }>((resolve) => call.on('error', resolve));
    // Paused well past the stall bound (1 s), well within the grace it has to take the status (10 s).
    await new Promise((r) => setTimeout(r, 4000));
    call.resume();
    const err = await ended;
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/took nothing for 1000 ms .* closed\. Resume with WatchChosen from_slot = the slot after the last one you received \(slots up to \d+ were sent\)/);
    const last = got[got.length - 1] as bigint;
    expect(got.length).toBeLessThan(30); // it was cut off before the end
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => BigInt(i))); // nothing skipped before the cut

    // Resuming from the slot after the last one received gives the rest, in order.
    const rest = await new Promise<bigint[]>((resolve, reject) => {
      const slots: bigint[] = [];
      const again = client.watchChosen({ fromSlot: last + 1n }, new Metadata(), { deadline: Date.now() + 30_000 });
      again.on('data', (r: WatchChosenResponse) => {
        slots.push(r.slot);
        if (r.slot === 29n) {
          again.cancel();
          resolve(slots);
        }
      });
      again.on('error', (e: { code: number }) => (e.code === status.CANCELLED ? undefined : reject(e)));
    });
    expect(rest).toEqual(Array.from({ length: 29 - Number(last) }, (_, i) => last + 1n + BigInt(i)));
    client.close();
  });

  it('holds one client to --max-watchers-per-client streams', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    // Watching slots not chosen yet: they wait with nothing to send, so none is cut off as a
    // watcher that takes nothing (--watcher-stall-ms 1000) while the third asks, however slow the
    // machine (from slot 0, each had 6 MB to take, and a loaded run cut both off before it).
    const open = Array.from({ length: 2 }, () => {
      const call = client.watchChosen({ fromSlot: 1_000_000n }, new Metadata(), { deadline: Date.now() + 60_000 });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      return call;
    });
    await new Promise((r) => setTimeout(r, 300));
    const refused = await new Promise<{ code: number; details: string }>((resolve) => {
      const call = client.watchChosen({ fromSlot: 0n }, new Metadata(), { deadline: Date.now() + 10_000 });
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(refused).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/^client client-\S+ already holds 2 WatchChosen streams here/) });
    for (const c of open) c.cancel();
    client.close();
  });

  it('closes a ProposeStream that stays idle, with UNAVAILABLE, after answering what it sent', async () => {
    const client = new ProposerServiceClient(cluster.proposerAddress(1), cluster.credentials);
    const stream = client.proposeStream(new Metadata(), { deadline: Date.now() + 60_000 });
    const answers: string[] = [];
    const ended = new Promise<{ code: number; details: string }>((resolve) => stream.on('error', resolve));
    stream.on('data', (r: { clientRequestId: string }) => answers.push(r.clientRequestId));
    stream.write({ proposal: { clientRequestId: 'idle-1', value: textValue('before the idle time'), includeVotes: false } });
    const err = await ended;
    expect(answers).toEqual(['idle-1']);
    expect(err).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringContaining('no proposal and awaited no answer for 1000 ms (--stream-idle-ms): closed') });
    client.close();
  });
});
