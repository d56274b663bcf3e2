// `npm run bench -- --agreed-state`: the figures of the durable chosen log and the state machine.
// Each step prints one JSON line: the apply rate of the state machine on one core; an acceptor
// fed N chosen slots (disk bytes per slot), killed with -9 and restarted (time to serve, time to
// apply them all); a lagging acceptor brought up by catch-up (slots per second, from memory and
// from the other acceptors' histories); reads, stale and linearizable, at C=1 and C=64.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { type ClientDuplexStream, credentials, Metadata } from '@grpc/grpc-js';
import type { ChosenEntry, Command } from '@paxos/consensus-core';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceClient, Consistency, ReadServiceClient, type StatusResponse } from '@paxos/proto';
import { AgreedState } from '@paxos/state-machine';
import { TestCluster } from '@paxos/test-cluster';
import { runLoad } from './load';
import { deadlineAfter } from '@paxos/grpc-kit';

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const digest = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

/** Slots per second the state machine applies on one core (16 commands a slot, one of them a proposal). */
export function applyRate(slots: number): { slotsPerSecond: number; commandsPerSecond: number } {
  const proposal = (n: number): Command => {
    const v = encodeProposalValue(buildProposal({ proposalNumber: BigInt(n), proposerId: 1, leaderboard: [{ framework: `f${n % 50}`, score: `${n}.5`, pricePerPoint: '0.01', bid: '1', ask: '2' }] }));
    return { clientRequestId: `p${n}`, contentType: v.contentType, data: v.data };
  };
  const log: ChosenEntry[] = [];
  for (let s = 0; s < slots; s++) {
    const commands: Command[] = [proposal(s)];
    for (let i = 0; i < 15; i++) commands.push({ clientRequestId: `c${s}-${i}`, contentType: 'text/plain', data: Buffer.alloc(200, 97) });
    log.push({ slot: BigInt(s), ballot: { round: 1n, proposerId: 1 }, value: { kind: 'batch', commands } });
  }
  const state = new AgreedState({ digest });
  const t0 = process.hrtime.bigint();
  for (const e of log) state.apply(e);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { slotsPerSecond: round(slots / seconds), commandsPerSecond: round((slots * 16) / seconds) };
}

function status(address: string): Promise<StatusResponse> {
  const c = new AcceptorServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    c.status({}, new Metadata(), { deadline: deadlineAfter(2000) }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

/** How long a feed waits for an acceptor's next answer before it fails the run. */
export const FEED_ANSWER_DEADLINE_MS = 30_000;

/**
 * Feeds chosen slots [from, to) to an acceptor as commit notices with values (250 a message, 4 in
 * flight). An acceptor that breaks or ends the stream, refuses a notice, or answers nothing for
 * `deadlineMs` fails the feed (and the run) instead of leaving it waiting.
 */
export async function feedChosen(address: string, from: number, to: number, valueBytes: number, deadlineMs = FEED_ANSWER_DEADLINE_MS): Promise<void> {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  const stream: ClientDuplexStream<AcceptRequest, AcceptResponse> = client.accept();
  const data = Buffer.alloc(valueBytes, 98);
  const ballot = { round: 1n, proposerId: 1 };
  const per = 250;
  let next = from;
  let inFlight = 0;
  let id = 0n;
  let answered = 0;
  let watchdog: NodeJS.Timeout | undefined;
  let finished = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`feeding slots ${from}..${to} to the acceptor at ${address}: ${why} (${answered} messages answered, up to slot ${next})`));
      let seen = -1;
      watchdog = setInterval(() => {
        if (answered === seen) fail(`no answer for ${deadlineMs} ms`);
        seen = answered;
      }, deadlineMs);
      const send = () => {
        while (inFlight < 4 && next < to) {
          const end = Math.min(to, next + per);
          const values = [];
          for (let s = next; s < end; s++) values.push({ kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: `h${s}`, value: { contentType: 'text/plain', data }, verifiedBy: [] }] } } });
          stream.write({ requestId: id++, commits: [{ ballot, fromSlot: BigInt(next), toSlot: BigInt(end), values }], quorumCommittedIndex: 0n });
          next = end;
          inFlight += 1;
        }
        if (inFlight === 0 && next >= to) {
          finished = true;
          resolve();
        }
      };
      stream.on('data', (r: AcceptResponse) => {
        if (r.outcome?.$case !== 'committed') {
          const reason = r.outcome?.$case === 'refused' ? `: ${r.outcome.value.reason}` : '';
          return fail(`answered ${r.outcome?.$case ?? 'nothing'}${reason} where the notices' commit was expected`);
        }
        answered += 1;
        inFlight -= 1;
        send();
      });
      stream.on('error', (e: Error) => fail(e.message));
      stream.on('end', () => {
        if (!finished) fail('it ended the Accept stream');
      });
      send();
    });
    stream.end();
  } catch (e) {
    stream.cancel();
    throw e;
  } finally {
    clearInterval(watchdog);
    client.close();
  }
}

async function waitFor(what: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await what().catch(() => false)) return Math.round(performance.now() - t0);
    await sleep(20);
  }
  return null;
}

/** An acceptor fed `slots` chosen slots, then killed with -9 and restarted. */
export async function historyAndRestart(slots: number, valueBytes: number): Promise<object> {
  const cluster = await TestCluster.start({ acceptors: 1, tls: false });
  try {
    const address = cluster.acceptorAddresses[0] as string;
    const t0 = performance.now();
    await feedChosen(address, 0, slots, valueBytes);
    const feedSeconds = (performance.now() - t0) / 1000;
    const s = await status(address);
    const du = Number(execFileSync('du', ['-sb', `${cluster.dir}/node_0.data`], { encoding: 'utf8' }).split('\t')[0]);
    await cluster.killAcceptor(0, 'SIGKILL');
    const t1 = performance.now();
    await cluster.startAcceptor(0);
    const servingMs = Math.round(performance.now() - t1);
    const appliedMs = await waitFor(async () => (await status(address)).appliedSlot >= BigInt(slots), 600_000);
    const after = await status(address);
    return {
      step: 'history-and-restart',
      slots,
      valueBytes,
      feedSlotsPerSecond: round(slots / feedSeconds),
      committedIndexAfterRestart: after.committedIndex.toString(),
      historyBytesPerSlot: round(Number(s.storage?.historyBytes ?? 0n) / slots),
      dataDirBytesPerSlot: round(du / slots),
      restartToServingMs: servingMs,
      restartToAppliedMs: appliedMs === null ? null : servingMs + appliedMs,
    };
  } finally {
    await cluster.stop();
  }
}

/** Catch-up of a lagging acceptor in a 5-acceptor network, then reads. */
export async function catchUpAndReads(slots: number, valueBytes: number, retainSlots: number, readSeconds: number): Promise<object[]> {
  const cluster = await TestCluster.start({ acceptors: 5, tls: false });
  const lines: object[] = [];
  try {
    await cluster.killAcceptor(4, 'SIGKILL');
    await Promise.all([0, 1, 2, 3].map((i) => feedChosen(cluster.acceptorAddresses[i] as string, 0, slots, valueBytes)));
    const t0 = performance.now();
    await cluster.startProposer(1, ['--retain-chosen-slots', String(retainSlots)]);
    await cluster.propose(1, 'bench-first', { contentType: 'text/plain', data: Buffer.from('first') }, 120_000);
    const learnMs = Math.round(performance.now() - t0);
    const laggard = cluster.acceptorAddresses[4] as string;
    await cluster.startAcceptor(4);
    const levelMs = await waitFor(async () => (await status(laggard)).committedIndex > BigInt(slots), 600_000);
    lines.push({
      step: 'catch-up',
      slots,
      valueBytes,
      proposerKeepsSlots: retainSlots,
      proposerLearnedLogMs: learnMs,
      laggardLevelMs: levelMs,
      catchUpSlotsPerSecond: levelMs === null ? null : round(slots / (levelMs / 1000)),
    });
    const reads: Array<[string, string, Consistency]> = [
      ['linearizable', cluster.proposerAddress(1), Consistency.CONSISTENCY_LINEARIZABLE],
      ['stale', cluster.acceptorAddresses[0] as string, Consistency.CONSISTENCY_STALE],
    ];
    for (const [kind, address, consistency] of reads) {
      const clients = Array.from({ length: 4 }, () => new ReadServiceClient(address, credentials.createInsecure()));
      for (const c of [1, 64]) {
        const r = await runLoad(
          (seq) =>
            new Promise((resolve, reject) =>
              (clients[seq % clients.length] as ReadServiceClient).getLeaderboard({ consistency, historyMax: 0 }, new Metadata(), { deadline: deadlineAfter(10_000) }, (e, res) => (e ? reject(e) : resolve(res))),
            ),
          c,
          readSeconds * 1000,
        );
        lines.push({ step: 'read', kind, concurrency: c, readsPerSecond: round(r.perSecond), p50Ms: round(r.p50Ms, 2), p99Ms: round(r.p99Ms, 2), errors: r.errors });
      }
      for (const c of clients) c.close();
    }
  } finally {
    await cluster.stop();
  }
  return lines;
}
