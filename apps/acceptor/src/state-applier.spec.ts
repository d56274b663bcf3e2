import { KeptStateSnapshots, StateApplier } from '@paxos/acceptor-node';
import { createLogger } from '@paxos/grpc-kit';
import { AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import { ChosenHistory, stateSnapshotFiles } from './storage';
import type { ChosenRecord } from './storage/durable-types';
import { tempDir } from './storage/storage-test-helpers';

/** The data dir's snapshot files, each write going through `write` (the test holds or fails it). */
const heldFiles = (dir: string, write: (slot: bigint, body: Buffer, actual: () => Promise<void>) => Promise<void>) => {
  const files = stateSnapshotFiles(dir);
  return {
    ...files,
    write: async (slot: bigint, body: Buffer) => {
      let written: Awaited<ReturnType<typeof files.write>> | undefined;
      await write(slot, body, async () => {
        written = await files.write(slot, body);
      });
      if (written === undefined) throw new Error('assertion: a held write resolved without writing');
      return written;
    },
  };
};

const logger = createLogger('state-applier-test');
logger.level = 'silent';
const record = (s: number): ChosenRecord => ({
  slot: BigInt(s),
  ballot: { round: 1n, proposerId: 1 },
  value: { kind: 'batch', commands: [{ clientRequestId: `c${s}`, contentType: 'text/plain', data: Buffer.from(`v${s}`) }] },
});
const waitFor = async (ok: () => boolean, what: string) => {
  const deadline = Date.now() + 15_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after 15 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('the state applier writes one state snapshot at a time', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('state-applier-')));
  afterEach(() => cleanup());

  it('an installed snapshot written twice is still in flight for its second write: the applier starts none of its own meanwhile', async () => {
    // Each write waits for the test to let it go, so the moment between the install's two writes is held open.
    const gates: Array<() => void> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const store = heldFiles(dir, async (_slot, _body, actual) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await new Promise<void>((r) => gates.push(r));
        await actual();
      } finally {
        inFlight -= 1;
      }
    });
    const history = ChosenHistory.open(dir);
    history.append(Array.from({ length: 120 }, (_, s) => record(s)));
    const snapshots = new KeptStateSnapshots(store);
    const applier = new StateApplier(history, { state: new AgreedState({}) }, logger, { store: snapshots, everySlots: 50 });
    const other = new AgreedState({});
    for (let s = 0; s < 500; s++) other.advance(record(s));
    const kept = applier.keepSnapshot(500n, encodeStateSnapshot(other.snapshot()));
    await waitFor(() => gates.length === 1, 'the first write of the installed snapshot');
    (gates[0] as () => void)();
    await waitFor(() => gates.length === 2, 'the second write of the installed snapshot');

    let idle = false;
    void applier.snapshotWritten().then(() => (idle = true));
    // The node applies its own history meanwhile (120 slots: due for a snapshot of its own at every 50).
    applier.catchUp();
    await waitFor(() => applier.appliedSlot === 120n, 'the history to be applied');
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    expect(mostInFlight).toBe(1);

    for (const g of gates.slice(1)) g();
    await kept;
    await applier.stop();
    expect(mostInFlight).toBe(1);
    expect(snapshots.slotToGive).toBe(500n);
    history.close();
  });
});
