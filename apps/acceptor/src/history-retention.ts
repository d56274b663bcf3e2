import type { Logger } from '@paxos/grpc-kit';
import type { ChosenHistory } from './storage';

/**
 * Drops chosen history under --history-retain-slots once a state snapshot was made durable (at
 * the slot the state was applied to, `latest`): only slots that both it and the previous snapshot cover (so one damaged snapshot file never
 * leaves the state unrecoverable), and never the newest `retainSlots` slots. Whole segments go
 * (ChosenHistory.dropBelow). Without the flag every slot is kept.
 */
export function retainHistory(history: ChosenHistory, retainSlots: bigint | undefined, snapshots: { readonly latest: bigint; readonly previous: bigint | undefined }, logger: Logger): void {
  if (retainSlots === undefined || snapshots.previous === undefined) return;
  const end = history.endSlot;
  const newest = end > retainSlots ? end - retainSlots : 0n;
  let keepFrom = snapshots.previous < newest ? snapshots.previous : newest;
  if (snapshots.latest < keepFrom) keepFrom = snapshots.latest;
  const before = history.firstSlot;
  if (keepFrom <= before) return;
  const first = history.dropBelow(keepFrom);
  if (first > before) logger.info({ droppedBelow: first.toString(), from: before.toString(), retainSlots: retainSlots.toString() }, 'chosen history dropped below the state snapshots');
}
