// Helpers shared by the storage specs.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AcceptorSnapshot, Ballot, ChosenRecord, DurableChange } from './durable-types';

export function tempDir(prefix = 'acceptor-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const ballot = (round: number, proposerId = 1): Ballot => ({ round: BigInt(round), proposerId });

/** A chosen slot of one command of `bytes` bytes, chosen at ballot 1. */
export const chosenRecord = (slot: number, bytes: number): ChosenRecord => ({
  slot: BigInt(slot),
  ballot: ballot(1),
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: Buffer.alloc(bytes, slot & 0xff) }] },
});

/** Chosen records of slots [from, to), each one command of `bytes` bytes. */
export const chosenRecords = (from: number, to: number, bytes = 100): ChosenRecord[] => Array.from({ length: to - from }, (_, i) => chosenRecord(from + i, bytes));

/** A deterministic mix of promise, vote and chosen changes. */
export function change(i: number): DurableChange {
  const b = ballot(1 + Math.floor(i / 10), i % 23);
  const value =
    i % 3 === 0
      ? ({ kind: 'noop' } as const)
      : ({
          kind: 'batch',
          commands: [
            { clientRequestId: `c-${i}`, contentType: 'text/plain', data: new TextEncoder().encode(`value ${i}`) },
            { clientRequestId: `d-${i}`, contentType: 'application/octet-stream', data: new Uint8Array([i & 0xff, 0, 255]) },
          ],
        } as const);
  switch (i % 4) {
    case 0:
      return { promised: b };
    case 1:
      return { accepted: { slot: BigInt(i), ballot: b, value } };
    case 2:
      return { promised: b, accepted: { slot: BigInt(i), ballot: b, value } };
    default:
      return { chosen: { slot: BigInt(i), ballot: b, value } };
  }
}

export function snapshotOf(n: number): AcceptorSnapshot {
  const b = ballot(n, 2);
  return {
    promised: b,
    accepted: [{ slot: BigInt(n), ballot: b, value: { kind: 'noop' } }],
    chosen: Array.from({ length: n }, (_, i) => ({
      slot: BigInt(i),
      ballot: b,
      value: { kind: 'batch' as const, commands: [{ clientRequestId: `s-${i}`, contentType: 'text/plain', data: new Uint8Array([i & 0xff]) }] },
    })),
    committedIndex: BigInt(n),
  };
}
