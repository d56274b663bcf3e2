import { ProposerCore, Quorum } from '@paxos/consensus-core';
import type { Logger } from '@paxos/grpc-kit';
import { AgreedState } from '@paxos/state-machine';
import { valueBytesDigest } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import { ChosenLog } from './chosen-log';
import { ClaimCertifier } from './claim-certifier';
import type { ProposerConfig } from './config';
import { ProposerNode, type RoundObserver } from './proposer-node';

/** Value bytes one catch-up pass (every 500 ms) sends to all lagging acceptors together: after a restart of many acceptors, the proposer's own work stays bounded. */
const CATCH_UP_BYTES_PER_PASS = 8 * 1024 * 1024;

export type ProposerSettings = Pick<
  ProposerConfig,
  'id' | 'windowSlots' | 'batchCommands' | 'partialSlots' | 'acceptFanout' | 'fanoutExpandMs' | 'maxValueBytes' | 'requestDeadlineMs' | 'tickMs' | 'retainChosenSlots' | 'retainChosenBytes'
>;

export interface ProposerParts {
  readonly links: readonly AcceptorLink[];
  /** The first round of this incarnation (the wall clock in ms: a ballot is not reused across restarts). */
  readonly initialRound: bigint;
  /** Uniform in [0, 1): the core's back-off jitter. */
  readonly random: () => number;
  /** Put in every batch this run builds (SlotValue.origin): 64 bits no other proposer run draws, above 0. */
  readonly origin: bigint;
  /** A negative control only: client sessions off, a retried command can take effect twice. */
  readonly unsafeNoSessions?: boolean;
  /** A negative control only: claim certificates name every acceptor of the source, none asked. */
  readonly unsafeForgeCertificates?: boolean;
  readonly rounds?: RoundObserver;
  /** Called once if the proposer finds it can choose nothing more (the ballot ceiling). */
  readonly onCannotChoose?: (reason: string) => void;
  /** Called once the proposer has learned the chosen log and takes client work. */
  readonly onReady?: () => void;
  readonly logger: Logger;
}

/**
 * A proposer node with its core, chosen log and state machine, as main.ts runs it and the
 * node-level simulator does: one place that turns settings into the running parts.
 */
export function assembleProposer(settings: ProposerSettings, parts: ProposerParts): { node: ProposerNode; chosen: ChosenLog; quorum: Quorum } {
  const { links } = parts;
  const quorum = Quorum.majority(links.length);
  const core = new ProposerCore({
    proposerId: settings.id,
    quorum,
    acceptorIds: links.map((l) => l.nodeId),
    initialRound: parts.initialRound,
    origin: parts.origin,
    windowSlots: settings.windowSlots,
    batchCommandsMax: settings.batchCommands,
    partialSlotsMax: settings.partialSlots,
    acceptFanout: settings.acceptFanout,
    fanoutExpandTicks: Math.max(1, Math.ceil(settings.fanoutExpandMs / settings.tickMs)),
    batchBytesMax: settings.maxValueBytes,
    retransmitTicks: Math.max(1, Math.ceil(settings.requestDeadlineMs / settings.tickMs)),
    backoffTicksMin: Math.max(1, Math.ceil(20 / settings.tickMs)),
    backoffTicksMax: Math.max(2, Math.ceil(200 / settings.tickMs)),
    random: parts.random,
  });
  const stateOptions = { digest: valueBytesDigest, unsafeNoSessions: parts.unsafeNoSessions ?? false };
  const chosen = new ChosenLog({ retainedSlotsMax: settings.retainChosenSlots, retainedBytesMax: settings.retainChosenBytes, state: new AgreedState(stateOptions) });
  const node = new ProposerNode(core, links, quorum, chosen, {
    tickMs: settings.tickMs,
    catchUpBatchSlots: 64,
    catchUpBytesPerPass: CATCH_UP_BYTES_PER_PASS,
    catchUpIntervalMs: 500,
    windowSlots: settings.windowSlots,
    restoreState: (snapshot) => new AgreedState(stateOptions, snapshot),
    ...(parts.rounds ? { rounds: parts.rounds } : {}),
    ...(parts.onCannotChoose ? { onCannotChoose: parts.onCannotChoose } : {}),
    ...(parts.onReady ? { onReady: parts.onReady } : {}),
    certifier: new ClaimCertifier(links, { deadlineMs: settings.requestDeadlineMs, unsafeForgeCertificates: parts.unsafeForgeCertificates ?? false, logger: parts.logger }),
    logger: parts.logger,
  });
  return { node, chosen, quorum };
}
