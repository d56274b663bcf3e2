// The seeded nemesis: kills (-9), pauses (SIGSTOP) and restarts acceptors — never more than n - q
// of them down or paused at once — and kills, pauses and restarts the proposers.
import { Quorum, type SeededRandom } from '@paxos/consensus-core';
import type { TestCluster } from '@paxos/test-cluster';

export interface FaultCounts {
  proposerKills: number;
  proposerPauses: number;
  acceptorKills: number;
  acceptorPauses: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly faults: FaultCounts = { proposerKills: 0, proposerPauses: 0, acceptorKills: 0, acceptorPauses: 0 };
  private readonly out = new Set<number>();
  private readonly proposersDown = new Set<number>();
  private readonly pending: Array<Promise<unknown>> = [];
  private readonly tolerance: number;

  constructor(
    private readonly cluster: TestCluster,
    private readonly proposerIds: readonly number[],
    private readonly random: SeededRandom,
    private readonly log: (line: string) => void,
  ) {
    this.tolerance = Quorum.majority(cluster.acceptorPorts.length).crashTolerance;
  }

  /** Faults, one every 0.5-2 s, until `stop()`. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await sleep(this.random.int(500, 2000));
      if (stop()) break;
      const roll = this.random.next();
      if (roll < 0.35) this.killProposer();
      else if (roll < 0.65) this.killAcceptor();
      else if (roll < 0.85) this.pauseAcceptor();
      else if (roll < 0.95) this.pauseProposer();
    }
  }

  private killProposer(): void {
    const up = this.proposerIds.filter((id) => !this.proposersDown.has(id));
    if (up.length === 0) return;
    const id = up[this.random.int(0, up.length)] as number;
    const downMs = this.random.int(100, 1000);
    this.proposersDown.add(id);
    this.faults.proposerKills += 1;
    this.log(`kill -9 proposer ${id}, back in ${downMs} ms`);
    this.track(
      (async () => {
        await this.cluster.proposers.get(id)?.kill('SIGKILL');
        await sleep(downMs);
        await this.cluster.startProposer(id);
        this.proposersDown.delete(id);
      })(),
    );
  }

  /** SIGSTOP a proposer (its clients' calls wait in its socket, then go elsewhere), then SIGCONT. */
  private pauseProposer(): void {
    const up = this.proposerIds.filter((id) => !this.proposersDown.has(id));
    if (up.length === 0) return;
    const id = up[this.random.int(0, up.length)] as number;
    const pausedMs = this.random.int(200, 1500);
    const pid = this.cluster.proposers.get(id)?.child.pid;
    if (pid === undefined) return;
    this.proposersDown.add(id);
    this.faults.proposerPauses += 1;
    this.log(`SIGSTOP proposer ${id} for ${pausedMs} ms`);
    try {
      process.kill(pid, 'SIGSTOP');
    } catch (e) {
      this.proposersDown.delete(id);
      this.log(`nemesis step failed: ${(e as Error).message}`);
      return;
    }
    this.track(
      (async () => {
        await sleep(pausedMs);
        process.kill(pid, 'SIGCONT');
        this.proposersDown.delete(id);
      })(),
    );
  }

  private pick(): number | undefined {
    if (this.out.size >= this.tolerance) return undefined;
    const candidates = this.cluster.acceptorPorts.map((_, i) => i).filter((i) => !this.out.has(i));
    return candidates[this.random.int(0, candidates.length)];
  }

  private killAcceptor(): void {
    const i = this.pick();
    if (i === undefined) return;
    const downMs = this.random.int(500, 3000);
    this.out.add(i);
    this.faults.acceptorKills += 1;
    this.log(`kill -9 acceptor ${i}, back in ${downMs} ms`);
    this.track(
      (async () => {
        await this.cluster.killAcceptor(i, 'SIGKILL');
        await sleep(downMs);
        await this.cluster.startAcceptor(i);
        this.out.delete(i);
      })(),
    );
  }

  private pauseAcceptor(): void {
    const i = this.pick();
    if (i === undefined) return;
    const pausedMs = this.random.int(500, 2000);
    this.out.add(i);
    this.faults.acceptorPauses += 1;
    this.log(`SIGSTOP acceptor ${i} for ${pausedMs} ms`);
    this.cluster.signalAcceptor(i, 'SIGSTOP');
    this.track(
      (async () => {
        await sleep(pausedMs);
        this.cluster.signalAcceptor(i, 'SIGCONT');
        this.out.delete(i);
      })(),
    );
  }

  private track(p: Promise<unknown>): void {
    this.pending.push(p.catch((e: unknown) => this.log(`nemesis step failed: ${(e as Error).message}`)));
  }

  /** Heals: every fault in progress ends (restarts and resumes) before this resolves. */
  async heal(): Promise<void> {
    await Promise.all(this.pending);
  }
}
