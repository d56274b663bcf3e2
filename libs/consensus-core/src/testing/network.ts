import type { AcceptorRequest } from '../acceptor-types';
import type { ProposerEvent } from '../proposer/proposer-types';
import type { SeededRandom } from '../rng';

export type Envelope =
  | { readonly kind: 'request'; readonly from: number; readonly incarnation: number; readonly to: number; readonly req: AcceptorRequest }
  | { readonly kind: 'reply'; readonly from: number; readonly to: number; readonly incarnation: number; readonly event: ProposerEvent };

interface Partition {
  readonly endTick: number;
  /** Directed links "from -> to" cut by this partition (node ids: acceptors 0..n-1, proposers n..). */
  readonly cut: readonly number[];
}

/**
 * Links between nodes, with loss, duplication, random delay (reordering), late messages and
 * partitions. A late message arrives after up to `late.ticksMax` ticks, past the proposers' round
 * timers: a reply of an old round then meets a proposer that has moved on to another ballot.
 */
export class SimNetwork {
  private readonly buckets = new Map<number, Envelope[]>();
  private partitions: Partition[] = [];
  private blocked = new Set<number>();
  private isolated = new Set<number>();
  lossProbability: number;
  duplicateProbability: number;
  messagesSent = 0;
  messagesDropped = 0;

  constructor(
    private readonly rng: SeededRandom,
    private readonly nodeCount: number,
    lossProbability: number,
    duplicateProbability: number,
    private readonly delayTicksMax: number,
    /** Its own stream, so that a run without late messages draws what it drew before they existed. */
    private readonly late: { readonly rng: SeededRandom; probability: number; readonly ticksMax: number },
  ) {
    this.lossProbability = lossProbability;
    this.duplicateProbability = duplicateProbability;
  }

  set lateProbability(p: number) {
    this.late.probability = p;
  }

  linkUp(from: number, to: number): boolean {
    return !this.isolated.has(from) && !this.isolated.has(to) && !this.blocked.has(from * this.nodeCount + to);
  }

  /** Returns false when the message is dropped at once. */
  send(env: Envelope, fromNode: number, toNode: number, now: number): boolean {
    this.messagesSent++;
    if (!this.linkUp(fromNode, toNode) || this.rng.chance(this.lossProbability)) {
      this.messagesDropped++;
      return false;
    }
    const late = this.late.probability > 0 && this.late.rng.chance(this.late.probability);
    this.schedule(env, now + (late ? this.late.rng.int(this.delayTicksMax + 1, this.late.ticksMax + 1) : this.rng.int(1, this.delayTicksMax + 1)));
    if (this.rng.chance(this.duplicateProbability)) this.schedule(env, now + this.rng.int(1, this.delayTicksMax + 1));
    return true;
  }

  schedule(env: Envelope, tick: number): void {
    const bucket = this.buckets.get(tick);
    if (bucket === undefined) this.buckets.set(tick, [env]);
    else bucket.push(env);
  }

  take(tick: number): Envelope[] {
    const bucket = this.buckets.get(tick) ?? [];
    this.buckets.delete(tick);
    return bucket;
  }

  addPartition(nodes: readonly number[], now: number, durationTicks: number, symmetric: boolean): void {
    const inside = new Set(nodes);
    const cut: number[] = [];
    for (let a = 0; a < this.nodeCount; a++) {
      for (let b = 0; b < this.nodeCount; b++) {
        if (!inside.has(a) || inside.has(b)) continue;
        cut.push(a * this.nodeCount + b);
        if (symmetric) cut.push(b * this.nodeCount + a);
      }
    }
    this.partitions.push({ endTick: now + durationTicks, cut });
    this.rebuild();
  }

  expirePartitions(now: number): void {
    const before = this.partitions.length;
    this.partitions = this.partitions.filter((p) => p.endTick > now);
    if (this.partitions.length !== before) this.rebuild();
  }

  healAll(): void {
    this.partitions = [];
    this.rebuild();
  }

  /** Cut a node off from everyone (liveness phase: nodes outside the healed core). */
  isolate(node: number): void {
    this.isolated.add(node);
  }

  private rebuild(): void {
    this.blocked = new Set();
    for (const p of this.partitions) for (const link of p.cut) this.blocked.add(link);
  }
}
