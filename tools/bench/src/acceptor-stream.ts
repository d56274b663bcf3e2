import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ClientDuplexStream, credentials, Metadata } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceClient, type PrepareResponse } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';
import { cpuSeconds } from './cpu';
import { percentile } from './load';
import { rssMb } from './rss';
import { deadlineAfter } from '@paxos/grpc-kit';

/** The machine's bare rate: a write of `bytes` then fdatasync, back to back, on one file. */
export function bareWriteFdatasyncPerSecond(dir: string, count: number, bytes: number): number {
  const path = join(dir, 'bare-fdatasync.bin');
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(bytes, 7);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    writeSync(fd, buf);
    fdatasyncSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(fd);
  rmSync(path, { force: true });
  return count / seconds;
}

/** How long the bench waits for an acceptor's answer (a promise, an accept) before it gives up. */
export const ANSWER_DEADLINE_MS = 10_000;

/** `p`, or an error naming `what` once `ms` have passed without it settling. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** An Accept stream to `address` after a promise of ballot `round`.1 from `firstSlot` on. */
async function acceptStream(address: string, round: bigint, firstSlot: bigint, deadlineMs = ANSWER_DEADLINE_MS) {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  const ballot = { round, proposerId: 1 };
  const prepare = client.prepare({ deadline: deadlineAfter(deadlineMs) });
  try {
    await new Promise<PrepareResponse>((resolve, reject) => {
      prepare.once('data', resolve);
      prepare.once('error', reject);
      prepare.write({ requestId: 0n, ballot, fromSlot: firstSlot });
    });
  } catch (e) {
    client.close();
    throw e;
  }
  prepare.end();
  const stream: ClientDuplexStream<AcceptRequest, AcceptResponse> = client.accept();
  return { client, ballot, stream };
}

/**
 * An accept of `slot` whose value is `commands` commands each carrying `data` (distinct ids);
 * with `commitPrevious`, the commit of the slot before rides along, as a proposer sends it.
 */
function acceptOf(requestId: bigint, ballot: { round: bigint; proposerId: number }, slot: bigint, data: Buffer, commands = 1, commitPrevious = false): AcceptRequest {
  const batch = Array.from({ length: commands }, (_, i) => ({ clientRequestId: `s${slot}-${i}`, value: { contentType: 'text/plain', data }, verifiedBy: [] }));
  return {
    requestId,
    accept: { ballot, slot, value: { kind: { $case: 'batch', value: { commands: batch } } } },
    commits: commitPrevious && slot > 0n ? [{ ballot, fromSlot: slot - 1n, toSlot: slot, values: [] }] : [],
    quorumCommittedIndex: 0n,
  };
}

/** Accepts on one Accept stream of one acceptor (fsync on), `inFlight` outstanding at a time. */
async function acceptsPerSecond(address: string, count: number, inFlight: number, valueBytes: number, firstSlot: bigint): Promise<number> {
  const { client, ballot, stream } = await acceptStream(address, 1n, firstSlot);
  const data = Buffer.alloc(valueBytes, 97);
  let sent = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  // An acceptor that stops answering fails the run rather than hanging it.
  let watchdog: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    let seen = -1;
    watchdog = setInterval(() => {
      if (done === seen) reject(new Error(`the acceptor at ${address} answered no accept for ${ANSWER_DEADLINE_MS} ms (${done} of ${count} answered)`));
      seen = done;
    }, ANSWER_DEADLINE_MS);
    const send = () => {
      const slot = firstSlot + BigInt(sent);
      stream.write(acceptOf(BigInt(sent), ballot, slot, data));
      sent += 1;
    };
    stream.on('data', (r: AcceptResponse) => {
      if (r.outcome?.$case !== 'accepted') return reject(new Error(`unexpected answer ${r.outcome?.$case}`));
      done += 1;
      if (done === count) resolve();
      else if (sent < count) send();
    });
    stream.on('error', reject);
    stream.on('end', () => reject(new Error(`the acceptor at ${address} ended the Accept stream after ${done} of ${count} accepts`)));
    for (let i = 0; i < Math.min(inFlight, count); i++) send();
  }).finally(() => clearInterval(watchdog));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  stream.end();
  client.close();
  return count / seconds;
}

/** How a lone client at C=1 meets each acceptor: one accept, then a pause (a round's worth). */
export const PACED_GAP_MS = 15;

/**
 * Accepts one at a time with `gapMs` between them, as an acceptor sees a lone client's rounds:
 * the server's CPU per accept (its /proc counters) and the round trip's median.
 */
export async function pacedAccepts(
  address: string,
  serverPid: number,
  count: number,
  gapMs: number,
  firstSlot: bigint,
  deadlineMs = ANSWER_DEADLINE_MS,
  /** Commands in each accepted value; with commits, each accept carries the commit of the slot before (history, state machine). */
  shape: { readonly commands: number; readonly commits: boolean } = { commands: 1, commits: false },
): Promise<{ cpuMsPerAccept: number; p50Ms: number }> {
  // eslint-disable-next-line no-restricted-properties -- a ballot round above earlier runs', as the proposer picks it
  const { client, ballot, stream } = await acceptStream(address, BigInt(Date.now()), firstSlot, deadlineMs);
  let answered: ((r: AcceptResponse) => void) | undefined;
  // A stream that breaks or ends fails the accept waiting on it, and every later one.
  let broken: Error | undefined;
  let fail: ((e: Error) => void) | undefined;
  const breakWith = (e: Error) => {
    broken ??= e;
    fail?.(broken);
  };
  stream.on('data', (r: AcceptResponse) => answered?.(r));
  stream.on('error', (e: Error) => breakWith(e));
  stream.on('end', () => breakWith(new Error(`the server at ${address} ended the Accept stream`)));
  const data = Buffer.alloc(200, 97);
  const rtts: number[] = [];
  let cpuStart = 0;
  // The first tenth warms the path up and is not counted.
  const warm = Math.ceil(count / 10);
  try {
    for (let i = 0; i < warm + count; i++) {
      if (i === warm) cpuStart = cpuSeconds(serverPid);
      const slot = firstSlot + BigInt(i);
      const started = process.hrtime.bigint();
      await within(
        new Promise<void>((resolve, reject) => {
          if (broken) return reject(broken);
          fail = reject;
          answered = (r) => (r.outcome?.$case === 'accepted' ? resolve() : reject(new Error(`unexpected answer ${r.outcome?.$case}`)));
          stream.write(acceptOf(BigInt(i), ballot, slot, data, shape.commands, shape.commits && i > 0));
        }),
        deadlineMs,
        `the accept of slot ${slot} at ${address}`,
      );
      if (i >= warm) rtts.push(Number(process.hrtime.bigint() - started) / 1e6);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    // The last slot's commit alone (a run after this one starts from the next slot, committed).
    if (shape.commits) {
      const last = firstSlot + BigInt(warm + count - 1);
      await within(
        new Promise<void>((resolve, reject) => {
          if (broken) return reject(broken);
          fail = reject;
          answered = (r) => (r.outcome?.$case === 'committed' ? resolve() : reject(new Error(`unexpected answer ${r.outcome?.$case}`)));
          stream.write({ requestId: BigInt(warm + count), commits: [{ ballot, fromSlot: last, toSlot: last + 1n, values: [] }], quorumCommittedIndex: 0n });
        }),
        deadlineMs,
        `the commit of slot ${last} at ${address}`,
      );
    }
  } finally {
    stream.end();
    client.close();
  }
  const cpuMsPerAccept = ((cpuSeconds(serverPid) - cpuStart) * 1000) / count;
  return { cpuMsPerAccept, p50Ms: percentile([...rtts].sort((a, b) => a - b), 0.5) };
}

function fsyncs(address: string): Promise<bigint> {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.status({}, new Metadata(), { deadline: deadlineAfter(5000) }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r.storage?.fsyncs ?? 0n);
    }),
  );
}

/**
 * Each run accepts fresh slots; nothing is committed meanwhile, so every slot must stay within
 * the acceptor's slot window above its committed index 0 (Limits.slotsAheadMax, 2^20).
 */
const SECOND_RUN_SLOT = 300_000n;
const THIRD_RUN_SLOT = 600_000n;

/** A server process to compare with: its address, its pid, and how to stop it. */
export interface BaselineServer {
  readonly address: string;
  readonly pid: number;
  stop(): void;
}

/**
 * One acceptor process, one stream: accepts/s at 1 and 64 in flight next to the bare fdatasync
 * rate; then accepts paced like a lone client's rounds, at the acceptor and at the floor under
 * it (`startFloor`: a grpc-js server that only writes and fdatasyncs), CPU per accept and median.
 */
export async function benchAcceptorStream(count: number, valueBytes: number, startFloor: () => Promise<BaselineServer>): Promise<void> {
  const cluster = await TestCluster.start({ acceptors: 1, tls: false });
  try {
    const address = cluster.acceptorAddresses[0] as string;
    const bare = bareWriteFdatasyncPerSecond(cluster.dir, count, valueBytes + 64);
    const f0 = await fsyncs(address);
    const sequential = await acceptsPerSecond(address, count, 1, valueBytes, 0n);
    const f1 = await fsyncs(address);
    const pipelined = await acceptsPerSecond(address, count, 64, valueBytes, SECOND_RUN_SLOT);
    const f2 = await fsyncs(address);
    const idle = rssMb(cluster.acceptors[0]?.child.pid);
    const pacedCount = Math.max(50, Math.round(count / 5));
    const paced = await pacedAccepts(address, cluster.acceptors[0]?.child.pid as number, pacedCount, PACED_GAP_MS, THIRD_RUN_SLOT);
    // Values of 1 and of 64 commands, each accept committing the slot before (as at C=1 and at
    // C=256, where a slot holds tens of commands): an acceptor's cost of a slot and of a command.
    // The committed prefix grows from slot 0 (the first run's slots, accepted again at a higher ballot).
    const batches = [];
    let next = 0n;
    for (const commands of [1, 64]) {
      const r = await pacedAccepts(address, cluster.acceptors[0]?.child.pid as number, pacedCount, PACED_GAP_MS, next, ANSWER_DEADLINE_MS, { commands, commits: true });
      batches.push({ commands, cpuMsPerSlot: Number(r.cpuMsPerAccept.toFixed(3)), p50Ms: Number(r.p50Ms.toFixed(2)) });
      next += BigInt(pacedCount + Math.ceil(pacedCount / 10));
    }
    const [one, many] = batches as [(typeof batches)[number], (typeof batches)[number]];
    const floor = await startFloor();
    let floorPaced: { cpuMsPerAccept: number; p50Ms: number };
    try {
      floorPaced = await pacedAccepts(floor.address, floor.pid, pacedCount, PACED_GAP_MS, 0n);
    } finally {
      floor.stop();
    }
    console.log(
      JSON.stringify({
        mode: 'acceptor-stream',
        accepts: count,
        valueBytes,
        bareWriteFdatasyncPerSecond: Math.round(bare),
        acceptsPerSecondInFlight1: Math.round(sequential),
        acceptsPerSecondInFlight64: Math.round(pipelined),
        fsyncsPerAcceptInFlight1: Number((Number(f1 - f0) / count).toFixed(3)),
        fsyncsPerAcceptInFlight64: Number((Number(f2 - f1) / count).toFixed(3)),
        groupCommitGain: Number((pipelined / bare).toFixed(2)),
        acceptorRssMb: Number(idle.toFixed(1)),
        pacedGapMs: PACED_GAP_MS,
        pacedCpuMsPerAccept: Number(paced.cpuMsPerAccept.toFixed(3)),
        pacedP50Ms: Number(paced.p50Ms.toFixed(2)),
        floorPacedCpuMsPerAccept: Number(floorPaced.cpuMsPerAccept.toFixed(3)),
        floorPacedP50Ms: Number(floorPaced.p50Ms.toFixed(2)),
        committedPaced: batches,
        // What one more command in a slot costs the acceptor (accept, vote log, history, state machine).
        cpuUsPerCommand: Number((((many.cpuMsPerSlot - one.cpuMsPerSlot) * 1000) / (many.commands - one.commands)).toFixed(1)),
      }),
    );
  } finally {
    await cluster.stop();
  }
}
