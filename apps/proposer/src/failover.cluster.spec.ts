import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { deadlineAfter } from '@paxos/grpc-kit';
import { type ProposeBulkResponse, ProposerServiceClient, type ReadLogResponse, ReadServiceClient } from '@paxos/proto';
import { TestCluster, textValue } from '@paxos/test-cluster';

jest.setTimeout(120_000);

type Outcome = { readonly ok: true; readonly slot: bigint; readonly duplicate: boolean } | { readonly ok: false; readonly code: number; readonly details: string };

async function propose(cluster: TestCluster, p: number, id: string, text: string, deadlineMs = 20_000): Promise<Outcome> {
  try {
    const r = await cluster.propose(p, id, textValue(text), deadlineMs);
    return { ok: true, slot: r.slot, duplicate: r.duplicate };
  } catch (e) {
    const se = e as ServiceError;
    return { ok: false, code: se.code, details: se.details };
  }
}

/** One ProposeBulk message of text values; `onFirst` runs when the first answers arrive. Resolves with every id's outcome (the stream's error for those not answered). */
function bulk(cluster: TestCluster, p: number, texts: ReadonlyMap<string, string>, onFirst?: () => void, deadlineMs = 40_000): Promise<Map<string, Outcome>> {
  const address = cluster.proposerAddress(p);
  const client = new ProposerServiceClient(address, cluster.credentials, TestCluster.channelOptionsFor(address));
  const call = client.proposeBulk(new Metadata(), { deadline: deadlineAfter(deadlineMs) });
  const got = new Map<string, Outcome>();
  return new Promise((resolve) => {
    call.on('data', (m: ProposeBulkResponse) => {
      if (got.size === 0) onFirst?.();
      for (const a of m.answers) {
        const r = a.result;
        got.set(a.clientRequestId, r?.$case === 'chosen' ? { ok: true, slot: r.value.slot, duplicate: r.value.duplicate } : { ok: false, code: r?.value.code ?? -1, details: r?.value.message ?? '' });
      }
      if (got.size === texts.size) call.end();
    });
    const done = (e?: ServiceError) => {
      client.close();
      for (const id of texts.keys()) if (!got.has(id)) got.set(id, { ok: false, code: e?.code ?? -1, details: e?.details ?? 'stream ended' });
      resolve(got);
    };
    call.on('end', () => done());
    call.on('error', (e: ServiceError) => done(e));
    call.write({ proposals: [...texts].map(([clientRequestId, text]) => ({ clientRequestId, value: textValue(text), includeVotes: false })) });
  });
}

/** Where each id took effect in an acceptor's applied log, with the text it took effect with (throws if one took effect twice). */
async function effects(address: string): Promise<Map<string, { slot: bigint; text: string }>> {
  const took = new Map<string, { slot: bigint; text: string }>();
  for (let from = 0n; ; ) {
    const client = new ReadServiceClient(address, TestCluster.credentialsFor(address), TestCluster.channelOptionsFor(address));
    const r = await new Promise<ReadLogResponse>((resolve, reject) =>
      client.readLog({ fromSlot: from, maxEntries: 0 }, new Metadata(), { deadline: deadlineAfter(10_000) }, (e, res) => {
        client.close();
        if (e) reject(e);
        else resolve(res);
      }),
    );
    if (r.entries.length === 0) return took;
    for (const e of r.entries) {
      const commands = e.value?.kind?.$case === 'batch' ? e.value.kind.value.commands : [];
      for (const o of e.outcomes) {
        if (o.duplicate) continue;
        if (took.has(o.clientRequestId)) throw new Error(`${o.clientRequestId} took effect in slots ${took.get(o.clientRequestId)?.slot} and ${e.slot}`);
        took.set(o.clientRequestId, { slot: e.slot, text: Buffer.from(commands[o.index]?.value?.data ?? []).toString() });
      }
    }
    from = (r.entries[r.entries.length - 1]?.slot ?? 0n) + 1n;
  }
}

/** The ids that took effect in acceptor 0's applied log, once it holds all of `ids` (commit notices and catch-up are asynchronous; 20 s at most). */
async function appliedThrough(cluster: TestCluster, ids: readonly string[]): Promise<Map<string, { slot: bigint; text: string }>> {
  const until = performance.now() + 20_000;
  for (;;) {
    const took = await effects(cluster.acceptorAddresses[0] as string);
    if (ids.every((id) => took.has(id)) || performance.now() > until) return took;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a proposer paused or killed while another serves the same clients (real processes)', () => {
  let cluster: TestCluster;
  const signal = (p: number, s: 'SIGSTOP' | 'SIGCONT') => {
    const pid = cluster.proposers.get(p)?.child.pid;
    if (pid !== undefined && cluster.proposers.get(p)?.running) process.kill(pid, s);
  };
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 5 });
    await Promise.all([cluster.startProposer(1), cluster.startProposer(2)]);
    expect(await propose(cluster, 1, 'warm-up', 'warm up')).toMatchObject({ ok: true });
  });
  afterAll(async () => {
    signal(1, 'SIGCONT');
    signal(2, 'SIGCONT');
    await cluster.stop();
  });

  it('one id sent with other bytes to the other proposer while the first is paused: it takes effect once, and both answer every copy alike', async () => {
    const original = propose(cluster, 1, 'other-bytes', 'bytes a', 30_000);
    await new Promise((r) => setTimeout(r, 5));
    signal(1, 'SIGSTOP');
    const answers: Array<[string, Outcome]> = [];
    answers.push(['bytes b', await propose(cluster, 2, 'other-bytes', 'bytes b')]);
    answers.push(['bytes a', await propose(cluster, 2, 'other-bytes', 'bytes a')]);
    await new Promise((r) => setTimeout(r, 2000));
    signal(1, 'SIGCONT');
    answers.push(['bytes a', await original]);
    for (const p of [1, 2]) for (const text of ['bytes a', 'bytes b']) answers.push([text, await propose(cluster, p, 'other-bytes', text)]);
    const took = (await appliedThrough(cluster, ['other-bytes'])).get('other-bytes');
    expect(took).toBeDefined();
    for (const [text, answer] of answers) {
      if (text === took?.text) expect(answer).toMatchObject({ ok: true, slot: took.slot });
      else expect(answer).toMatchObject({ ok: false, code: status.ALREADY_EXISTS, details: expect.stringContaining(`already took effect in slot ${took?.slot} with another value`) });
    }
  });

  it('a ProposeBulk batch cut by a pause, sent again to the other proposer: each id takes effect once and every answer names its slot', async () => {
    const texts = new Map(Array.from({ length: 600 }, (_, i) => [`cut-${i}`, `cut ${i}`] as const));
    // Paused as its first answers arrive: part of the batch chosen and answered, the rest in flight.
    let paused = (): void => undefined;
    const pausedNow = new Promise<void>((resolve) => (paused = resolve));
    const atFirst = bulk(cluster, 1, texts, () => {
      signal(1, 'SIGSTOP');
      paused();
    });
    await pausedNow;
    const atSecond = await bulk(cluster, 2, texts);
    await new Promise((r) => setTimeout(r, 3000));
    signal(1, 'SIGCONT');
    const first = await atFirst;
    const took = await appliedThrough(cluster, [...texts.keys()]);
    for (const [id, text] of texts) {
      expect(took.get(id)?.text).toBe(text);
      const slot = took.get(id)?.slot;
      expect(atSecond.get(id)).toMatchObject({ ok: true, slot });
      const a = first.get(id);
      // The first proposer answered before its pause, or after it with the slot the other chose (or its client's deadline passed).
      if (a?.ok) expect(a.slot).toBe(slot);
      else expect([status.DEADLINE_EXCEEDED, status.UNAVAILABLE]).toContain(a?.code);
    }
    expect([...first.values()].filter((a) => a.ok && !a.duplicate).length).toBeGreaterThan(0);
  });

  it('a proposer killed right after answering (before its commit notices) and restarted answers retries with the slots it named', async () => {
    const texts = new Map(Array.from({ length: 200 }, (_, i) => [`kill-${i}`, `kill ${i}`] as const));
    const answered = await bulk(cluster, 1, texts);
    await cluster.proposers.get(1)?.kill('SIGKILL');
    const restarted = cluster.startProposer(1);
    // Retries at the other proposer, and at the restarted one as soon as it answers health.
    const [atOther, atRestarted] = await Promise.all([bulk(cluster, 2, texts), restarted.then(() => bulk(cluster, 1, texts))]);
    for (const id of texts.keys()) {
      const a = answered.get(id);
      expect(a).toMatchObject({ ok: true });
      const slot = a?.ok ? a.slot : -1n;
      expect(atOther.get(id)).toMatchObject({ ok: true, slot, duplicate: true });
      expect(atRestarted.get(id)).toMatchObject({ ok: true, slot, duplicate: true });
    }
  });
});
