import { createLogger } from '@paxos/grpc-kit';
import { AgreedState } from '@paxos/state-machine';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { restoreAgreedState } from './restore-state';
import { StateApplier } from './state-applier';
import { ChosenHistory } from './storage';
import type { ChosenRecord } from './storage/durable-types';
import { STATE_SNAPSHOT_FILE } from './storage/state-snapshot-file';
import { tempDir } from './storage/storage-test-helpers';

const logger = createLogger('restore-state-test');
logger.level = 'silent';
const ballot = { round: 1n, proposerId: 1 };
/** Slots whose ids repeat (so sessions decide duplicates) with a no-op now and then. */
const record = (s: number): ChosenRecord => ({
  slot: BigInt(s),
  ballot,
  value: s % 9 === 4 ? { kind: 'noop' } : { kind: 'batch', commands: [{ clientRequestId: `c${s % 37}`, contentType: 'text/plain', data: Buffer.from(`v${s}`) }] },
});
const waitFor = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('durable snapshots of an acceptor\'s agreed state', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('restore-state-')));
  afterEach(() => cleanup());

  it('are written as slots are applied, and a restart continues from the last one to the same state', async () => {
    const history = ChosenHistory.open(dir);
    history.append(Array.from({ length: 500 }, (_, s) => record(s)));
    const state = new AgreedState({});
    const applier = new StateApplier(history, state, logger, { dir, everySlots: 120 });
    applier.catchUp();
    await waitFor(() => state.appliedSlot === 500n);
    // Fewer slots than the interval: applied, no new snapshot.
    history.append(Array.from({ length: 100 }, (_, s) => record(500 + s)));
    applier.catchUp();
    await waitFor(() => state.appliedSlot === 600n);
    await applier.stop();
    const restored = restoreAgreedState(dir, history, {}, logger);
    expect(restored.appliedSlot).toBe(500n); // from the snapshot, not from slot 0
    for (const e of history.read(restored.appliedSlot, 1000, 1 << 30)) restored.advance(e);
    expect(restored.snapshot()).toEqual(state.snapshot());
    history.close();
  });

  it('ignores a damaged snapshot and applies the history from its first slot', async () => {
    const history = ChosenHistory.open(dir);
    history.append(Array.from({ length: 300 }, (_, s) => record(s)));
    const applier = new StateApplier(history, new AgreedState({}), logger, { dir, everySlots: 100 });
    applier.catchUp();
    await waitFor(() => applier.state.appliedSlot === 300n);
    await applier.stop();
    const file = path.join(dir, STATE_SNAPSHOT_FILE);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(file, bytes);
    expect(restoreAgreedState(dir, history, {}, logger).appliedSlot).toBe(0n);
    history.close();
  });
});
