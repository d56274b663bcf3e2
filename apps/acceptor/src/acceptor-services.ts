// The gRPC services an acceptor serves (paxos.v1.AcceptorService and paxos.v1.ReadService) over
// its node, storage and agreed state: one assembly for main.ts and for the specs that serve it.
import { GrpcError, GrpcStatus, type Logger, messageBytes, type PacedTurns, type ServiceEntry } from '@paxos/grpc-kit';
import { type AcceptorNode, type KeptStateSnapshots, readChosenInSlices, type StateApplier } from '@paxos/acceptor-node';
import { AcceptorServiceService, Consistency, ReadServiceService } from '@paxos/proto';
import { READ_LOG_VALUE_BYTES_MAX, readService } from '@paxos/read-service';
import { belowHistoryTrailers, decodeAcceptRequest } from '@paxos/wire';
import { type AcceptorStateContext, acceptorService } from './acceptor-service';
import type { ProposerAccess } from './proposer-access';
import type { SourceHolder } from './source-holder';
import type { StatusContext } from './status';
import type { AcceptorStorage } from './storage';
import { historySlicing, PACED_ANSWER_BYTES_MAX, readFailed } from './history-read-pacer';

/** The generated definition, with an Accept decoder that keeps each value's received bytes for storage. */
const acceptorServiceDefinition = {
  ...AcceptorServiceService,
  accept: { ...AcceptorServiceService.accept, requestDeserialize: decodeAcceptRequest },
} as const;

export interface AcceptorServicesContext {
  readonly node: AcceptorNode<AcceptorStorage>;
  readonly applier: StateApplier;
  /** The state snapshot files as the node last saw them: what GetStateSnapshot gives and OUT_OF_RANGE names. */
  readonly snapshots: KeptStateSnapshots;
  readonly statusContext: StatusContext;
  readonly stateContext: AcceptorStateContext;
  readonly source: Pick<SourceHolder, 'verify'>;
  readonly access: ProposerAccess;
  /** Paces the history reads of clients (not proposers). */
  readonly clientReads: PacedTurns;
  readonly logger: Logger;
}

export function acceptorServices(ctx: AcceptorServicesContext): ServiceEntry[] {
  const { node, applier, snapshots, clientReads, logger } = ctx;
  const history = node.storage.history;
  /**
   * Below the retained history: OUT_OF_RANGE naming the snapshot that covers the slot (the one this
   * node gives, when it lies above the slot: after an install restarted the history, the previous
   * file, given once the latest is found damaged, may lie below it).
   */
  const belowHistory = (from: bigint) => {
    const given = snapshots.slotToGive;
    const covering = given !== undefined && given > from ? given : undefined;
    return new GrpcError(
      GrpcStatus.OUT_OF_RANGE,
      `slot ${from} is below this acceptor's chosen history, which starts at slot ${history.firstSlot} (older slots were dropped under --history-retain-slots, or lie below a state snapshot this acceptor was given); ` +
        (covering !== undefined
          ? `the state snapshot at slot ${covering} covers it (ReadService.GetStateSnapshot)`
          : given !== undefined
            ? `this acceptor has no whole state snapshot that covers it (the one it gives, at slot ${given}, covers only the slots below that): another acceptor's covers it (ReadService.GetStateSnapshot)`
            : 'this acceptor has no whole state snapshot to give (both files damaged): another acceptor\'s covers it (ReadService.GetStateSnapshot)'),
      belowHistoryTrailers(covering === undefined ? { historyFirstSlot: history.firstSlot } : { historyFirstSlot: history.firstSlot, stateSnapshotSlot: covering }),
    );
  };
  return [
    {
      name: 'paxos.v1.AcceptorService',
      definition: acceptorServiceDefinition,
      implementation: acceptorService(node, ctx.statusContext, ctx.stateContext, ctx.source, ctx.access, clientReads, logger),
      readMethods: ['learn', 'status'],
    },
    {
      name: 'paxos.v1.ReadService',
      readMethods: 'all',
      definition: ReadServiceService,
      implementation: readService({
        get state() {
          return applier.state;
        },
        defaultConsistency: Consistency.CONSISTENCY_STALE,
        settle: () => applier.settle(),
        readLog: (from, max, caller) => {
          const slicing = historySlicing(caller);
          return clientReads.run(
            caller,
            () => {
              // Checked in the read's turn: retention may have moved the history on meanwhile.
              if (from < history.firstSlot) throw belowHistory(from);
              return readChosenInSlices(history, from, max, Math.min(READ_LOG_VALUE_BYTES_MAX, PACED_ANSWER_BYTES_MAX), slicing).catch((e: unknown) => readFailed(e, logger));
            },
            messageBytes,
            slicing.bytesRead,
          );
        },
        stateSnapshot: () => {
          const read = snapshots.give();
          if ('missing' in read) throw new GrpcError(GrpcStatus.FAILED_PRECONDITION, `this acceptor has no state snapshot to give: ${read.missing}`);
          return read;
        },
      }),
    },
  ];
}
