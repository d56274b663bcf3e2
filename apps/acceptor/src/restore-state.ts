import type { Logger } from '@paxos/grpc-kit';
import { AgreedState, decodeStateSnapshot, type RegistryOptions } from '@paxos/state-machine';
import type { ChosenHistory } from './storage';
import { readStateSnapshot } from './storage/state-snapshot-file';

/**
 * The agreed state a starting acceptor applies the history onto: its durable snapshot when there
 * is a usable one (it covers slots the history holds from), else an empty state at the history's
 * first slot. A snapshot that cannot be used is reported and the history applied from its start.
 */
export function restoreAgreedState(dataDir: string, history: ChosenHistory, registry: Partial<RegistryOptions>, logger: Logger): AgreedState {
  const fresh = () => new AgreedState({ fromSlot: history.firstSlot, registry });
  const read = readStateSnapshot(dataDir);
  if ('missing' in read) {
    if (read.missing !== 'none written yet') logger.warn({ reason: read.missing }, 'state snapshot not used: applying the history from its first slot');
    return fresh();
  }
  if (read.slot < history.firstSlot) {
    logger.warn({ snapshotSlot: read.slot.toString(), historyFirstSlot: history.firstSlot.toString() }, 'state snapshot is older than the history: applying the history from its first slot');
    return fresh();
  }
  try {
    const snapshot = decodeStateSnapshot(read.body);
    if (snapshot.slot !== read.slot) throw new Error(`the file says slot ${read.slot}, its state slot ${snapshot.slot}`);
    const state = new AgreedState({ registry }, snapshot);
    logger.info({ slot: read.slot.toString(), bytes: read.body.length }, 'agreed state restored from its snapshot');
    return state;
  } catch (err) {
    logger.warn({ reason: (err as Error).message }, 'state snapshot not used: applying the history from its first slot');
    return fresh();
  }
}
