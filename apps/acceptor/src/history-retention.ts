import type { Logger } from '@paxos/grpc-kit';
import type { ChosenHistory } from './storage';

/**
 * Drops chosen history under --history-retain-slots once a state snapshot was made durable: only
 * slots that both the latest and the previous snapshot cover (so one damaged snapshot file never
 * leaves the state unrecoverable), and never the newest `retainSlots` slots. Whole segments go
 * (ChosenHistory.dropBelow). Without the flag every slot is kept.
 */
export function retainHistory(history: ChosenHistory, retainSlots: bigint | undefined, previousSnapshotSlot: bigint | undefined, logger: Logger): void {
  if (retainSlots === undefined || previousSnapshotSlot === undefined) return;
  const end = history.endSlot;
  const newest = end > retainSlots ? end - retainSlots : 0n;
  const keepFrom = previousSnapshotSlot < newest ? previousSnapshotSlot : newest;
  const before = history.firstSlot;
  if (keepFrom <= before) return;
  const first = history.dropBelow(keepFrom);
  if (first > before) logger.info({ droppedBelow: first.toString(), from: before.toString(), retainSlots: retainSlots.toString() }, 'chosen history dropped below the state snapshots');
}
