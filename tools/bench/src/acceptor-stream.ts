import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ClientDuplexStream, credentials, Metadata } from '@grpc/grpc-js';
import { type AcceptRequest, type AcceptResponse, AcceptorServiceClient, type PrepareResponse } from '@paxos/proto';
import { TestCluster } from '@paxos/test-cluster';
import { rssMb } from './rss';

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

/** Accepts on one Accept stream of one acceptor (fsync on), `inFlight` outstanding at a time. */
async function acceptsPerSecond(address: string, count: number, inFlight: number, valueBytes: number, firstSlot: bigint): Promise<number> {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  const ballot = { round: 1n, proposerId: 1 };
  const prepare = client.prepare();
  await new Promise<PrepareResponse>((resolve, reject) => {
    prepare.once('data', resolve);
    prepare.once('error', reject);
    prepare.write({ requestId: 0n, ballot, fromSlot: firstSlot });
  });
  prepare.end();
  const stream: ClientDuplexStream<AcceptRequest, AcceptResponse> = client.accept();
  const data = Buffer.alloc(valueBytes, 97);
  let sent = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      const slot = firstSlot + BigInt(sent);
      stream.write({
        requestId: BigInt(sent),
        kind: { $case: 'accept', value: { ballot, slot, value: { kind: { $case: 'batch', value: { commands: [{ clientRequestId: `s${slot}`, value: { contentType: 'a', data } }] } } } } },
      });
      sent += 1;
    };
    stream.on('data', (r: AcceptResponse) => {
      if (r.outcome?.$case !== 'accepted') return reject(new Error(`unexpected answer ${r.outcome?.$case}`));
      done += 1;
      if (done === count) resolve();
      else if (sent < count) send();
    });
    stream.on('error', reject);
    for (let i = 0; i < Math.min(inFlight, count); i++) send();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  stream.end();
  client.close();
  return count / seconds;
}

function fsyncs(address: string): Promise<bigint> {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r.storage?.fsyncs ?? 0n);
    }),
  );
}

/** One acceptor process, one stream: accepts/s at 1 and 64 in flight next to the bare fdatasync rate. */
export async function benchAcceptorStream(count: number, valueBytes: number): Promise<void> {
  const cluster = await TestCluster.start({ acceptors: 1 });
  try {
    const address = cluster.acceptorAddresses[0] as string;
    const bare = bareWriteFdatasyncPerSecond(cluster.dir, count, valueBytes + 64);
    const f0 = await fsyncs(address);
    const sequential = await acceptsPerSecond(address, count, 1, valueBytes, 0n);
    const f1 = await fsyncs(address);
    const pipelined = await acceptsPerSecond(address, count, 64, valueBytes, 1_000_000n);
    const f2 = await fsyncs(address);
    const idle = rssMb(cluster.acceptors[0]?.child.pid);
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
      }),
    );
  } finally {
    await cluster.stop();
  }
}
