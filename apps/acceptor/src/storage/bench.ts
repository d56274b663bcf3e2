// A measurement of the storage engine on the disk under `dir` (called by the bench tool).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import type { DurableChange } from './durable-types';

export interface StorageMeasurement {
  /** One append at a time, each awaited (one fdatasync per append). */
  appendsPerSecond: number;
  /** 64 appends in flight at all times (group commit). */
  concurrentAppendsPerSecond: number;
  /** A plain write + fdatasync loop of records of the same size on a scratch file: the disk's bound. */
  bareWriteFdatasyncPerSecond: number;
  /** fdatasyncs of the log in the sequential and the concurrent run together. */
  fsyncs: number;
  sequentialFsyncs: number;
  concurrentFsyncs: number;
  appends: number;
  recordBytes: number;
}

const IN_FLIGHT = 64;
const MAX_N = 1_000_000;

function sampleChange(i: number): DurableChange {
  const ballot = { round: 7n, proposerId: 3 };
  return {
    promised: ballot,
    accepted: {
      slot: BigInt(i),
      ballot,
      value: { kind: 'batch', commands: [{ clientRequestId: `bench-${i}`, contentType: 'application/octet-stream', data: new Uint8Array(128).fill(i & 0xff) }] },
    },
  };
}

const perSecond = (n: number, startNs: bigint): number => n / (Number(process.hrtime.bigint() - startNs) / 1e9);

/** Measures n appends each way in fresh sub-directories of `dir` (removed afterwards). */
export async function measureStorage(dir: string, n: number): Promise<StorageMeasurement> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw new RangeError(`n must be an integer in [1, ${MAX_N}]: ${n}`);
  await fsp.mkdir(dir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(dir, 'storage-bench-'));
  try {
    const seq = await AcceptorStorage.open({ dataDir: path.join(work, 'sequential'), nodeId: 1 });
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await seq.storage.append(sampleChange(i));
    const appendsPerSecond = perSecond(n, t);
    const sequentialFsyncs = seq.storage.stats().fsyncs;
    const recordBytes = Math.round((seq.storage.stats().logBytes - 32) / n);
    await seq.storage.close();

    const conc = await AcceptorStorage.open({ dataDir: path.join(work, 'concurrent'), nodeId: 1 });
    t = process.hrtime.bigint();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < n) await conc.storage.append(sampleChange(next++));
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, lane));
    const concurrentAppendsPerSecond = perSecond(n, t);
    const concurrentFsyncs = conc.storage.stats().fsyncs;
    await conc.storage.close();

    const fh = await fsp.open(path.join(work, 'scratch.bin'), 'w');
    const buf = Buffer.alloc(recordBytes, 0x5a);
    try {
      t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        await fh.write(buf, 0, buf.length, i * buf.length);
        await fh.datasync();
      }
    } finally {
      await fh.close();
    }
    const bareWriteFdatasyncPerSecond = perSecond(n, t);
    return {
      appendsPerSecond,
      concurrentAppendsPerSecond,
      bareWriteFdatasyncPerSecond,
      fsyncs: sequentialFsyncs + concurrentFsyncs,
      sequentialFsyncs,
      concurrentFsyncs,
      appends: n,
      recordBytes,
    };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
