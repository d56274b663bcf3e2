import type { Logger } from '@paxos/grpc-kit';
import { AgreedState, decodeStateSnapshotWithFormat, isCurrentStateSnapshotFormat, REGISTRY_DEFAULTS, type RegistryOptions, STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING } from '@paxos/state-machine';
import type { ChosenHistoryStore } from './node-storage';
import type { SnapshotGeneration, StateSnapshotStore } from './state-snapshot-store';

/**
 * The agreed state a starting acceptor applies its history onto, or why it has none. Which
 * snapshot the node can give is not part of it: the store read here (the node's
 * KeptStateSnapshots) noted what each file held.
 */
export type RestoredState = { readonly state: AgreedState } | { readonly unavailable: string };

/**
 * The agreed state a starting acceptor applies the history onto: its latest durable snapshot, else
 * the previous one, when it is usable (its slot is one the history continues from); else an empty
 * state at slot 0 when the history starts there. A history that starts above slot 0 (dropped
 * under --history-retain-slots, or installed from a snapshot) with no usable snapshot leaves the
 * node without agreed state: it still votes, and its reads answer UNAVAILABLE with the reason.
 */
export function restoreAgreedState(store: StateSnapshotStore, history: ChosenHistoryStore, registry: Partial<RegistryOptions>, logger: Logger): RestoredState {
  const reasons: string[] = [];
  for (const generation of ['latest', 'previous'] as const) {
    const found = usableSnapshot(store, generation, history, registry);
    if ('state' in found) {
      if (reasons.length > 0) logger.warn({ reasons }, 'the latest state snapshot is not usable: restored from the previous one');
      logger.info({ slot: found.state.appliedSlot.toString(), generation }, 'agreed state restored from its snapshot');
      return found;
    }
    if (found.unavailable !== 'none written yet') reasons.push(`${generation}: ${found.unavailable}`);
  }
  if (history.firstSlot === 0n) {
    if (reasons.length > 0) logger.warn({ reasons }, 'state snapshot not used: applying the history from slot 0');
    return { state: new AgreedState({ registry }) };
  }
  const unavailable =
    `the chosen history starts at slot ${history.firstSlot} and no state snapshot covers the slots below it` +
    (reasons.length > 0 ? ` (${reasons.join('; ')})` : '') +
    ': reads answer UNAVAILABLE until a state snapshot is installed (AcceptorService.InstallStateSnapshot), or state.snapshot is copied from another acceptor before a restart';
  logger.error({ historyFirstSlot: history.firstSlot.toString() }, unavailable);
  return { unavailable };
}

function usableSnapshot(store: StateSnapshotStore, generation: SnapshotGeneration, history: ChosenHistoryStore, registry: Partial<RegistryOptions>): RestoredState {
  const read = store.read(generation);
  if ('missing' in read) return { unavailable: read.missing };
  if (read.slot < history.firstSlot) return { unavailable: `its slot ${read.slot} is below the history's first slot ${history.firstSlot}` };
  try {
    const { snapshot, format } = decodeStateSnapshotWithFormat(read.body);
    if (snapshot.slot !== read.slot) {
      const why = `the file says slot ${read.slot}, its state slot ${snapshot.slot}`;
      // Not given to installers nor trusted by retention either (Learn would name a snapshot no one can install).
      store.refuse?.(generation, read.slot, why);
      throw new Error(why);
    }
    // From before the registry's bounds: the history from slot 0 decides exactly, when it is kept.
    if (!isCurrentStateSnapshotFormat(format) && history.firstSlot === 0n) return { unavailable: `it is of format ${format}, from before the registry's bounds` };
    // Format 3 holding more numbers than the registry keeps: a build from before that bound took
    // proposals it refuses (numbers at or below one forgotten); the history from slot 0 decides.
    const numbersMax = registry.numbersMax ?? REGISTRY_DEFAULTS.numbersMax;
    if (format === STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING && snapshot.registry.slotOf.length > numbersMax && history.firstSlot === 0n) {
      return { unavailable: `it is of format ${format} with ${snapshot.registry.slotOf.length} proposal numbers, from before the bound of ${numbersMax}` };
    }
    return { state: new AgreedState({ registry }, snapshot) };
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
}
