// A linearizable read reflects every write acknowledged before it began, by any proposer. The
// barrier takes its ballot and target only from a proposer that leads completely: these two
// interleavings once answered from a state that missed an acknowledged write.
import { type Ballot, ProposerCore, Quorum, type SlotValue } from '@paxos/consensus-core';
import { ballotToWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import { ReadBarrier } from './read-barrier';
import { status } from '@grpc/grpc-js';

const quorum = Quorum.majority(3);
const value = (id: string): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: id, contentType: 'application/octet-stream', data: new Uint8Array([1]) }] });
const rival: Ballot = { round: 1n, proposerId: 2 };
/** Slots 0..9 chosen under the rival's ballot (accepted everywhere, the commits not yet heard). */
const rivalSlots = Array.from({ length: 10 }, (_, i) => ({ slot: BigInt(i), ballot: rival, value: value(`w${i}`) }));
const settle = () => new Promise((r) => setImmediate(r));

/** Three acceptors whose Status answers wait until the test gives each the promise to show. */
function statusLinks() {
  const waiting: ((promised: Ballot) => void)[] = [];
  const links = [0, 1, 2].map((nodeId) => ({ nodeId, status: () => new Promise((resolve) => waiting.push((b) => resolve({ promised: ballotToWire(b) }))) }) as unknown as AcceptorLink);
  const answerAll = (b: Ballot) => {
    for (const w of waiting.splice(0)) w(b);
  };
  return { links, answerAll, asked: () => waiting.length };
}

function barrierOver(core: ProposerCore, links: AcceptorLink[], delivered: () => bigint, sent: { prepares: bigint[] }) {
  const record = (out: ReturnType<ProposerCore['lead']>) => {
    for (const m of out.messages) if (m.type === 'prepare' && m.to === 0) sent.prepares.push(m.fromSlot);
  };
  return new ReadBarrier({
    links,
    quorum,
    ready: () => true,
    leadsCompletely: () => core.leadsCompletely,
    lead: () => record(core.lead()),
    outbid: (from, promised, ballot) => record(core.handle({ type: 'reject', from, promised, ballot })),
    stepDown: () => record(core.stepDown()),
    ballot: () => core.ballot,
    openedSlots: () => core.nextSlot,
    deliveredSlots: delivered,
    stopped: () => false,
    reachable: () => links.length,
    phase1Failures: () => ({ count: 0, reason: '' }),
  });
}

describe('a linearizable read on a proposer', () => {
  it('after promises cut off by their size, waits for a phase 1 from where they stopped, so later chosen slots are in its target', async () => {
    const core = new ProposerCore({ proposerId: 1, quorum, acceptorIds: [0, 1, 2], random: () => 0 });
    const b = core.lead().messages[0]?.ballot as Ballot;
    // The promises carry slots 0..3 only (the 4 MiB bound with values of about 1 MiB).
    core.handle({ type: 'promise', from: 0, ballot: b, accepted: rivalSlots.slice(0, 4), truncated: true, committedIndex: 0n });
    const reproposed = core.handle({ type: 'promise', from: 1, ballot: b, accepted: rivalSlots.slice(0, 4), truncated: true, committedIndex: 0n });
    expect(core.isLeader).toBe(true);
    expect(core.leadsCompletely).toBe(false);
    let delivered = 0n;
    for (const m of reproposed.messages) if (m.type === 'accept' && m.to < 2) for (const c of core.handle({ type: 'accepted', from: m.to, ballot: b, slot: m.slot }).chosen) if (c.slot === delivered) delivered++;
    expect(delivered).toBe(4n);

    const { links, answerAll, asked } = statusLinks();
    const sent = { prepares: [] as bigint[] };
    let answered = false;
    const read = barrierOver(core, links, () => delivered, sent).wait(5000).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    // Nothing was confirmed at the cut-off knowledge: a phase 1 from slot 4 was started instead.
    expect(asked()).toBe(0);
    expect(sent.prepares).toEqual([4n]);
    const b2 = core.ballot;
    core.handle({ type: 'promise', from: 0, ballot: b2, accepted: rivalSlots.slice(4), truncated: false, committedIndex: 0n });
    core.handle({ type: 'promise', from: 1, ballot: b2, accepted: rivalSlots.slice(4), truncated: false, committedIndex: 0n });
    expect(core.leadsCompletely).toBe(true);
    expect(core.nextSlot).toBe(10n);
    await new Promise((r) => setTimeout(r, 20));
    answerAll(b2);
    await new Promise((r) => setTimeout(r, 20));
    // Confirmed with target 10: the read waits until slot 9 (the rival's acknowledged write) is delivered.
    expect(answered).toBe(false);
    delivered = 10n;
    await read;
    expect(answered).toBe(true);
  });

  it('a round queued behind another does not confirm a ballot whose phase 1 is still under way', async () => {
    const core = new ProposerCore({ proposerId: 1, quorum, acceptorIds: [0, 1, 2], random: () => 0 });
    const b0 = core.lead().messages[0]?.ballot as Ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b0, accepted: [], truncated: false, committedIndex: 0n });
    expect(core.leadsCompletely).toBe(true);
    let delivered = 0n;
    const { links, answerAll, asked } = statusLinks();
    const sent = { prepares: [] as bigint[] };
    const barrier = barrierOver(core, links, () => delivered, sent);
    const first = barrier.wait(5000);
    await settle();
    const second = barrier.wait(5000);
    await settle();
    // A rival above b0 takes over and chooses slots 0..5; ours is rejected; after the back-off a
    // phase 1 at b2 starts (the acceptors show b2 before its promises come back).
    const sub = core.submit({ clientRequestId: 'mine', contentType: 'application/octet-stream', data: new Uint8Array([2]) });
    if ('rejected' in sub) throw new Error(sub.rejected);
    const higher: Ballot = { round: b0.round, proposerId: 2 };
    core.handle({ type: 'reject', from: 0, promised: higher, ballot: b0, slot: 0n });
    let b2: Ballot | undefined;
    for (let i = 0; i < 100 && b2 === undefined; i++) for (const m of core.tick().messages) if (m.type === 'prepare') b2 = m.ballot;
    expect(b2).toBeDefined();
    answerAll(b2 as Ballot);
    // The first read's round saw the higher promise: it leads again (phase 1 at b2) and retries.
    let firstAnswered = false;
    void first.then(() => (firstAnswered = true));
    await new Promise((r) => setTimeout(r, 20));
    // The queued round waits for phase 1 at b2 to complete before it takes a ballot and a target.
    expect(asked()).toBe(0);
    const adopted = rivalSlots.slice(0, 6).map((e) => ({ ...e, ballot: higher }));
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b2 as Ballot, accepted: adopted, truncated: false, committedIndex: 0n });
    expect(core.leadsCompletely).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    answerAll(core.ballot);
    let answered = false;
    void second.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    // Its target covers the rival's slots: it waits for slot 5 to be delivered.
    expect(answered).toBe(false);
    delivered = core.nextSlot;
    await second;
    // The first read confirms in a round of its own at b2, and answers once the same slots are delivered.
    for (let i = 0; i < 100 && !firstAnswered; i++) {
      answerAll(core.ballot);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(firstAnswered).toBe(true);
  });

  it('a queued round waits for phase 1 as long as its longest-waiting read may, not only as its first joiner may', async () => {
    const core = new ProposerCore({ proposerId: 1, quorum, acceptorIds: [0, 1, 2], random: () => 0 });
    const b0 = core.lead().messages[0]?.ballot as Ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b0, accepted: [], truncated: false, committedIndex: 0n });
    const { links, answerAll } = statusLinks();
    const barrier = barrierOver(core, links, () => core.nextSlot, { prepares: [] });
    const first = barrier.wait(5000);
    await settle();
    // Two reads queue behind the first round: one nearly out of time joins first.
    const hasty = barrier.wait(30).catch((e: unknown) => e);
    await settle();
    const patient = barrier.wait(5000);
    await settle();
    // The leadership is lost before the queued round starts: it must run phase 1 again.
    core.stepDown();
    answerAll(b0);
    await first;
    await new Promise((r) => setTimeout(r, 80));
    // Past the hasty read's deadline, phase 1 completes; the patient read is confirmed.
    const b1 = core.ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b1, accepted: [], truncated: false, committedIndex: 0n });
    expect(core.leadsCompletely).toBe(true);
    for (let i = 0; i < 20; i++) {
      answerAll(core.ballot);
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(patient).resolves.toBeUndefined();
    await hasty;
  });

  it('a read queued behind a round ends at its own deadline, or once its caller is gone, while a later joiner keeps the round waiting for phase 1', async () => {
    const core = new ProposerCore({ proposerId: 1, quorum, acceptorIds: [0, 1, 2], random: () => 0 });
    const b0 = core.lead().messages[0]?.ballot as Ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b0, accepted: [], truncated: false, committedIndex: 0n });
    const { links, answerAll } = statusLinks();
    const barrier = barrierOver(core, links, () => core.nextSlot, { prepares: [] });
    const first = barrier.wait(5000);
    await settle();
    let gone = false;
    const ended: Record<string, number | undefined> = {};
    const track = (name: string, p: Promise<void>) => p.catch((e: { code?: number }) => (ended[name] = e.code));
    const hasty = track('hasty', barrier.wait(30));
    await settle();
    const cancelled = track('cancelled', barrier.wait(5000, () => gone));
    await settle();
    const patient = barrier.wait(5000);
    await settle();
    // The leadership is lost before the queued round starts: it waits for a phase 1 that does not come yet.
    core.stepDown();
    answerAll(b0);
    await first;
    await new Promise((r) => setTimeout(r, 10));
    gone = true;
    await new Promise((r) => setTimeout(r, 150));
    // Timers fire in the order of their deadlines, however late a loaded machine runs them: both
    // reads ended before this 150 ms one, so neither waited for a 5 s deadline. (The wall-clock
    // bound of 1 s that stood here would fail whenever a loaded machine held this process a second.)
    expect(ended).toEqual({ hasty: status.DEADLINE_EXCEEDED, cancelled: status.CANCELLED });
    const b1 = core.ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b1, accepted: [], truncated: false, committedIndex: 0n });
    for (let i = 0; i < 20; i++) {
      answerAll(core.ballot);
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(patient).resolves.toBeUndefined();
    await Promise.all([hasty, cancelled]);
  });

  it('confirms as soon as a quorum holds its ballot: an acceptor that does not answer (paused) costs the read nothing', async () => {
    const core = new ProposerCore({ proposerId: 1, quorum, acceptorIds: [0, 1, 2], random: () => 0 });
    const b = core.lead().messages[0]?.ballot as Ballot;
    for (const from of [0, 1]) core.handle({ type: 'promise', from, ballot: b, accepted: [], truncated: false, committedIndex: 0n });
    const answering = (promised: Ballot) => ({ status: () => Promise.resolve({ promised: ballotToWire(promised) }) });
    const paused = { status: () => new Promise(() => undefined) };
    const links = [answering(b), answering(b), paused].map((l, nodeId) => ({ nodeId, ...l }) as unknown as AcceptorLink);
    await expect(barrierOver(core, links, () => core.nextSlot, { prepares: [] }).wait(60_000)).resolves.toBeUndefined();
    // Two lower promises and one silent: no quorum can confirm, so it says so without waiting for the third.
    const lowered = [answering({ round: 0n, proposerId: 1 }), answering({ round: 0n, proposerId: 2 }), paused].map((l, nodeId) => ({ nodeId, ...l }) as unknown as AcceptorLink);
    await expect(barrierOver(core, lowered, () => core.nextSlot, { prepares: [] }).wait(60_000)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: expect.stringContaining('0 of 3 acceptors hold our ballot, 2 a lower promise, 1 did not answer'),
    });
  });

  describe('without a quorum', () => {
    const deps = (over: Partial<ConstructorParameters<typeof ReadBarrier>[0]>) =>
      new ReadBarrier({
        links: [],
        quorum,
        ready: () => true,
        leadsCompletely: () => false,
        lead: () => undefined,
        outbid: () => undefined,
        stepDown: () => undefined,
        ballot: () => ({ round: 1n, proposerId: 1 }),
        openedSlots: () => 0n,
        deliveredSlots: () => 0n,
        stopped: () => false,
        reachable: () => 3,
        phase1Failures: () => ({ count: 0, reason: '' }),
        ...over,
      });

    it('is UNAVAILABLE at once when fewer than a quorum of acceptors are reachable, as a Propose is', async () => {
      await expect(deps({ reachable: () => 1 }).wait(20_000)).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringMatching(/1 of 3 acceptors are reachable, 2 needed/) });
    });

    it('is UNAVAILABLE, with the reason, as soon as the phase 1 it needs fails to reach a quorum: not DEADLINE_EXCEEDED at its deadline', async () => {
      const failures = { count: 4, reason: 'old' };
      let asked = 0;
      const read = deps({
        phase1Failures: () => failures,
        lead: () => {
          // The phase 1 the read asked for fails on the second look.
          if (++asked === 2) Object.assign(failures, { count: 5, reason: '1 of 3 acceptors answered, 2 needed' });
        },
      }).wait(20_000);
      await expect(read).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringContaining('1 of 3 acceptors answered, 2 needed') });
    });

    it('stops polling as soon as its caller is gone (a cancelled call), not at its deadline', async () => {
      // A cancelled call no longer counts against --max-calls-per-client: reads cancelled and sent
      // again while the proposer learns the log must not each keep a 2 ms poll for 30 s.
      let polls = 0;
      let gone = false;
      const read = deps({
        ready: () => {
          polls++;
          return false;
        },
      }).wait(30_000, () => gone);
      await new Promise((r) => setTimeout(r, 20));
      gone = true;
      const outcome = await Promise.race([read.then(() => 'answered', (e: { code?: number }) => e.code), new Promise((r) => setTimeout(() => r('still polling'), 100))]);
      expect(outcome).toBe(status.CANCELLED);
      const after = polls;
      await new Promise((r) => setTimeout(r, 50));
      expect(polls).toBe(after);
    });
  });
});
