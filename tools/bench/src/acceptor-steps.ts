#!/usr/bin/env node
// Micro-benchmark: steps per second of the bare AcceptorCore (no I/O), one core.
import { AcceptorCore, type AcceptorRequest, type SlotValue } from '@paxos/consensus-core';

export function benchAcceptorSteps(steps: number): { steps: number; seconds: number; stepsPerSecond: number } {
  const acceptor = new AcceptorCore({});
  const value: SlotValue = { kind: 'batch', commands: [{ clientRequestId: 'bench', contentType: 'application/octet-stream', data: new Uint8Array(64) }] };
  const ballot = { round: 1n, proposerId: 1 };
  acceptor.handle({ type: 'prepare', ballot, fromSlot: 0n });
  const started = process.hrtime.bigint();
  let slot = 0n;
  for (let i = 0; i < steps; i++) {
    // two accepts and one commit per slot, the steady state of a stable leader
    const req: AcceptorRequest = i % 3 === 2 ? { type: 'commit', slot, ballot } : { type: 'accept', ballot, slot, value };
    acceptor.handle(req);
    if (i % 3 === 2) {
      slot++;
      if (slot % 4096n === 0n) acceptor.foldChosenBelow(slot);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { steps, seconds, stepsPerSecond: steps / seconds };
}

export function main(): number {
  const steps = Number(process.argv[2] ?? 3_000_000);
  benchAcceptorSteps(Math.min(steps, 300_000)); // warm-up
  const r = benchAcceptorSteps(steps);
  console.log(`acceptor steps=${r.steps} seconds=${r.seconds.toFixed(2)} steps/s=${Math.round(r.stepsPerSecond)}`);
  return 0;
}

if (require.main === module) process.exitCode = main();
