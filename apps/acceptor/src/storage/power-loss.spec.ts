// Power loss, not only kill -9: a kill leaves the page cache, so it cannot tell fsync on from off.
// Here every write and fdatasync the vote log makes is recorded (the real files are written too);
// at crash points chosen by a seed, the disk is what had been fdatasynced plus, of what had not,
// each 512-byte sector independently either written or not (unwritten sectors past the synced end
// read as zeros). The storage is recovered from that disk, and every promise and vote it had
// acknowledged before the crash point must be there. With fsync off (the negative control) the
// same check must find losses.
import { SeededRandom } from '@paxos/consensus-core';
import { cpSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import type { DurableChange } from './durable-types';
import { change, tempDir } from './storage-test-helpers';

const SECTOR = 512;

/** The project's seeded generator (consensus-core), as a function. */
function seeded(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

type Op = { kind: 'write'; pos: number; data: Buffer } | { kind: 'truncate'; len: number };

/** What a file holds on the platter (durable) and what is still in the page cache (pending). */
class FileModel {
  durable: Buffer = Buffer.alloc(0);
  pending: Op[] = [];
  static apply(buf: Buffer, op: Op): Buffer {
    if (op.kind === 'truncate') return Buffer.from(buf.subarray(0, op.len).length === op.len ? buf.subarray(0, op.len) : Buffer.concat([buf, Buffer.alloc(op.len - buf.length)]));
    const end = op.pos + op.data.length;
    const out = end > buf.length ? Buffer.concat([buf, Buffer.alloc(end - buf.length)]) : Buffer.from(buf);
    op.data.copy(out, op.pos);
    return out;
  }
  sync(): void {
    for (const op of this.pending) this.durable = FileModel.apply(this.durable, op);
    this.pending = [];
  }
  /** The file after a power loss: durable, plus each pending sector written or not. */
  afterPowerLoss(random: () => number): Buffer {
    let img: Buffer = Buffer.from(this.durable);
    for (const op of this.pending) {
      if (op.kind === 'truncate') {
        if (random() < 0.5) img = FileModel.apply(img, op);
        continue;
      }
      for (let s = Math.floor(op.pos / SECTOR) * SECTOR; s < op.pos + op.data.length; s += SECTOR) {
        if (random() < 0.5) continue; // this sector never reached the disk
        const from = Math.max(s, op.pos);
        const to = Math.min(s + SECTOR, op.pos + op.data.length);
        img = FileModel.apply(img, { kind: 'write', pos: from, data: op.data.subarray(from - op.pos, to - op.pos) });
      }
    }
    return img;
  }
}

interface CrashImage {
  readonly files: Map<string, Buffer>;
  readonly acked: DurableChange[];
}

/** Runs appends from 8 lanes with the vote log's file writes recorded; takes a disk image at each crash point. */
async function runWithCrashes(dir: string, fsync: boolean, seed: number, appends: number, crashes: number): Promise<CrashImage[]> {
  const random = seeded(seed);
  const files = new Map<string, FileModel>();
  const acked: DurableChange[] = [];
  const images: CrashImage[] = [];
  // A crash point before every write, fdatasync and truncate; `crashes` of them are kept at random.
  const crashPoint = () => {
    const imgs = new Map<string, Buffer>();
    for (const [file, m] of files) imgs.set(file, m.afterPowerLoss(random));
    images.push({ files: imgs, acked: [...acked] });
  };
  const realOpen = fsp.open.bind(fsp);
  const spy = jest.spyOn(fsp, 'open').mockImplementation(async (file: Parameters<typeof fsp.open>[0], flags?: Parameters<typeof fsp.open>[1], mode?: Parameters<typeof fsp.open>[2]) => {
    const fh = await realOpen(file, flags, mode);
    const name = String(file);
    if (!name.startsWith(dir) || !/\.log$|log-\d+/.test(path.basename(name))) return fh;
    let model = files.get(name);
    if (!model || flags === 'w') files.set(name, (model = new FileModel()));
    const m = model;
    return new Proxy(fh, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return async (buf: Buffer, offset = 0, length = buf.length - offset, position: number) => {
            crashPoint();
            m.pending.push({ kind: 'write', pos: position, data: Buffer.from(buf.subarray(offset, offset + length)) });
            return target.write(buf, offset, length, position);
          };
        }
        if (prop === 'writeFile') {
          // Only on a file just opened with 'w' here: its whole content from offset 0.
          return async (data: Buffer | string) => {
            crashPoint();
            m.pending.push({ kind: 'write', pos: 0, data: Buffer.from(data) });
            return target.writeFile(data);
          };
        }
        if (prop === 'datasync' || prop === 'sync') {
          return async () => {
            crashPoint();
            await target.datasync();
            m.sync();
          };
        }
        if (prop === 'truncate') {
          return async (len = 0) => {
            crashPoint();
            m.pending.push({ kind: 'truncate', len });
            return target.truncate(len);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as FileHandle;
  });
  try {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 3, fsync });
    let next = 0;
    const lane = async () => {
      while (next < appends) {
        const c = change(next++);
        await storage.append(c);
        acked.push(c);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    crashPoint(); // and after the last acknowledgement
    await storage.close();
  } finally {
    spy.mockRestore();
  }
  const kept: CrashImage[] = [];
  while (kept.length < crashes && images.length > 0) kept.push(...images.splice(Math.floor(random() * images.length), 1));
  return kept;
}

/** What a recovered storage lost of what it acknowledged (empty: nothing). */
async function lostAfterRecovery(liveDir: string, image: CrashImage, into: string): Promise<string[]> {
  cpSync(liveDir, into, { recursive: true });
  for (const [file, bytes] of image.files) writeFileSync(path.join(into, path.relative(liveDir, file)), bytes);
  let recovered;
  try {
    const opened = await AcceptorStorage.open({ dataDir: into, nodeId: 3 });
    recovered = opened.recovered;
    await opened.storage.close();
  } catch (e) {
    return [`did not recover: ${(e as Error).message}`];
  }
  const votes = new Set<string>();
  let promised = { round: -1n, proposerId: -1 };
  const higher = (a: typeof promised, b: typeof promised) => (a.round !== b.round ? a.round > b.round : a.proposerId > b.proposerId);
  const take = (c: DurableChange) => {
    if (c.promised && higher(c.promised, promised)) promised = c.promised;
    if (c.accepted) votes.add(`${c.accepted.slot}@${c.accepted.ballot.round}.${c.accepted.ballot.proposerId}`);
    if (c.chosen) votes.add(`chosen ${c.chosen.slot}`);
  };
  if (recovered.snapshot?.promised && higher(recovered.snapshot.promised, promised)) promised = recovered.snapshot.promised;
  for (const a of recovered.snapshot?.accepted ?? []) votes.add(`${a.slot}@${a.ballot.round}.${a.ballot.proposerId}`);
  for (const c of recovered.snapshot?.chosen ?? []) votes.add(`chosen ${c.slot}`);
  for (const c of recovered.changes) take(c);
  const lost: string[] = [];
  for (const c of image.acked) {
    if (c.promised && higher(c.promised, promised)) lost.push(`promise ${c.promised.round}.${c.promised.proposerId} (recovered ${promised.round}.${promised.proposerId})`);
    if (c.accepted && !votes.has(`${c.accepted.slot}@${c.accepted.ballot.round}.${c.accepted.ballot.proposerId}`)) lost.push(`vote in slot ${c.accepted.slot}`);
    if (c.chosen && !votes.has(`chosen ${c.chosen.slot}`)) lost.push(`chosen slot ${c.chosen.slot}`);
  }
  return lost;
}

describe('power loss (what was not fdatasynced is lost, sector by sector)', () => {
  const SEED = Number(process.env['POWER_LOSS_SEED'] ?? 20261205);

  it(`keeps every acknowledged promise and vote at every crash point (seed ${SEED})`, async () => {
    const { dir, cleanup } = tempDir('power-loss-');
    try {
      const live = path.join(dir, 'live');
      const images = await runWithCrashes(live, true, SEED, 400, 40);
      expect(images.length).toBe(40);
      expect(Math.max(...images.map((i) => i.acked.length))).toBeGreaterThan(100);
      for (const [i, image] of images.entries()) {
        const lost = await lostAfterRecovery(live, image, path.join(dir, `crash-${i}`));
        expect([SEED, i, image.acked.length, lost]).toEqual([SEED, i, image.acked.length, []]);
      }
    } finally {
      cleanup();
    }
  }, 60_000);

  it('finds the losses when fdatasync is off (negative control)', async () => {
    const { dir, cleanup } = tempDir('power-loss-nofsync-');
    try {
      const live = path.join(dir, 'live');
      const images = await runWithCrashes(live, false, SEED, 400, 40);
      let lossy = 0;
      for (const [i, image] of images.entries()) if ((await lostAfterRecovery(live, image, path.join(dir, `crash-${i}`))).length > 0) lossy++;
      expect(lossy).toBeGreaterThan(0);
    } finally {
      cleanup();
    }
  }, 60_000);
});
