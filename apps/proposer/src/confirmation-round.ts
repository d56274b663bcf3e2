// One confirmation of a linearizable read (raft's ReadIndex round): a quorum of acceptors shows,
// in its Status answers, that none has promised a ballot above ours. Asked first of the acceptors
// that confirmed the last round first, the rest only when one of those does not confirm or they
// are slow: a read costs a quorum's Status calls, not every acceptor's.
import { status } from '@grpc/grpc-js';
import { type Ballot, type Quorum, ballotEquals, ballotGreater, formatBallot, nextBallotAbove } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { ballotFromWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';

/** Deadline of the Status calls that confirm leadership. */
export const STATUS_DEADLINE_MS = 1000;
/** How long the first acceptors asked may take before the others are asked too. */
export const CONFIRM_EXPAND_MS = 50;

/** A confirmation round found a promise above our ballot: the read may lead again and retry. */
export class OutbidError extends GrpcError {
  constructor(message: string) {
    super(status.UNAVAILABLE, message);
  }
}

export interface ConfirmationDeps {
  readonly links: readonly AcceptorLink[];
  readonly quorum: Quorum;
  /** An acceptor's Status showed a promise above our ballot (the core learns it as a reject). */
  readonly outbid: (from: number, promised: Ballot, ballot: Ballot) => void;
  /** Fewer than a quorum hold our ballot (none higher): stop leading, so the next read runs phase 1 again. */
  readonly stepDown: () => void;
  /** An acceptor's committed index, seen in its Status answer. */
  readonly noteCommitted?: (nodeId: number, committedIndex: bigint) => void;
}

export class ConfirmationRounds {
  /** The acceptors that confirmed the last round first (a quorum of them), asked first next time. */
  private preferred: readonly AcceptorLink[] | undefined;

  constructor(private readonly deps: ConfirmationDeps) {}

  /**
   * Resolves once a quorum holds `ballot`; rejects with OutbidError when one answer shows a higher
   * promise, or UNAVAILABLE (and steps down) when a quorum can no longer hold it.
   */
  run(ballot: Ballot): Promise<void> {
    const { deps } = this;
    const { quorum, links } = deps;
    const n = links.length;
    return new Promise<void>((resolve, reject) => {
      const confirmers: AcceptorLink[] = [];
      let lower = 0;
      /** Acceptors that promised a ballot at the round ceiling that no ballot of ours passes. */
      let ceiling = 0;
      let failed = 0;
      let failure = '';
      let settled = false;
      const asked = new Set<AcceptorLink>();
      const askRest = () => {
        for (const l of links) ask(l);
      };
      const first = this.preferred ?? links;
      const expand = first.length < n ? setTimeout(askRest, CONFIRM_EXPAND_MS) : undefined;
      const settle = (outcome: 'confirmed' | 'failed') => {
        settled = true;
        clearTimeout(expand);
        this.preferred = outcome === 'confirmed' ? confirmers.slice(0, quorum.q) : undefined;
      };
      const decide = () => {
        if (settled) return;
        if (quorum.isQuorum(confirmers.length)) {
          settle('confirmed');
          resolve();
        } else if (!quorum.isQuorum(n - lower - ceiling - failed)) {
          // Some that promised our ballot are gone (or paused past the round's deadline), the
          // others hold lower promises that only a phase 1 raises: the next read runs one.
          settle('failed');
          deps.stepDown();
          reject(
            new GrpcError(
              status.UNAVAILABLE,
              `could not confirm leadership with a quorum: ${confirmers.length} of ${n} acceptors hold our ballot, ${lower} a lower promise,${ceiling > 0 ? ` ${ceiling} a promise at the ballot round ceiling that no ballot of ours passes,` : ''} ${n - confirmers.length - lower - ceiling} did not answer${failure ? ` (${failure.slice(0, 200)})` : ''}; ${quorum.q} needed; the next read runs phase 1 again: retry the read`,
            ),
          );
        }
      };
      function ask(link: AcceptorLink): void {
        if (asked.has(link)) return;
        asked.add(link);
        link.status(STATUS_DEADLINE_MS).then(
          (answer) => {
            // Only while the round is open: a late answer may be older than what an accept reply said since.
            if (settled) return;
            deps.noteCommitted?.(link.nodeId, answer.committedIndex);
            const promised = ballotFromWire(answer.promised ?? { round: 0n, proposerId: 0 });
            if (ballotEquals(promised, ballot)) confirmers.push(link);
            else if (ballotGreater(promised, ballot) && nextBallotAbove(promised, ballot.proposerId) === undefined) {
              // A promise at the round ceiling that no ballot of ours passes: leading again would
              // not help, so it is a no, not an outbid. The core learns it; a quorum of the others
              // holding our ballot still confirms (a value chosen under that ballot would show at one).
              ceiling += 1;
              deps.outbid(link.nodeId, promised, ballot);
              askRest();
            } else if (ballotGreater(promised, ballot)) {
              settle('failed');
              deps.outbid(link.nodeId, promised, ballot);
              reject(new OutbidError(`another proposer leads now (an acceptor promised ballot ${formatBallot(promised)}, above ours ${formatBallot(ballot)}); retry the read`));
              return;
            } else {
              lower += 1;
              // One asked does not hold our ballot: the others may.
              askRest();
            }
            decide();
          },
          (err: unknown) => {
            failed += 1;
            failure ||= err instanceof Error ? err.message : String(err);
            if (!settled) askRest();
            decide();
          },
        );
      }
      first.forEach(ask);
    });
  }
}
