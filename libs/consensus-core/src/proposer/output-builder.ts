import type { ChosenEntry, FailedCommand, ProposerMessage, ProposerOutput, RoundEnd } from './proposer-types';

/** Collects what one call of the proposer asks its caller to do (etcd-raft's Ready). */
export class OutputBuilder {
  readonly messages: ProposerMessage[] = [];
  readonly chosen: ChosenEntry[] = [];
  readonly ownChosen: bigint[] = [];
  readonly failed: FailedCommand[] = [];
  readonly ended: RoundEnd[] = [];

  build(): ProposerOutput {
    return { messages: this.messages, chosen: this.chosen, ownChosen: this.ownChosen, failed: this.failed, ended: this.ended };
  }
}
