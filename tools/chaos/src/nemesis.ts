// The seeded nemesis: kills (-9), pauses (SIGSTOP) and restarts acceptors — never more than n - q
// of them down or paused at once — and kills, pauses and restarts the proposers. Off by default,
// more faults (NemesisExtras): partitions between proposers and acceptors, pauses longer than the
// clients' deadlines, kills the moment an acceptor creates a file (a state snapshot or a history
// segment being written), a full disk and a read-only data dir on one acceptor, and proposers
// restarted with their wall clock set back or forth.
import { execFileSync } from 'node:child_process';
import { closeSync, type FSWatcher, openSync, rmSync, statfsSync, watch, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Quorum, type SeededRandom } from '@paxos/consensus-core';
import type { TestCluster } from '@paxos/test-cluster';
import type { CutDirection, PartitionProxies } from './partition-proxy';

export interface FaultCounts {
  proposerKills: number;
  proposerPauses: number;
  acceptorKills: number;
  acceptorPauses: number;
  partitions?: number;
  longPauses?: number;
  fileEventKills?: number;
  diskFull?: number;
  readOnlyStarts?: number;
  clockJumps?: number;
}

/** The faults a default run does not inject. */
export interface NemesisExtras {
  /** Proxies between every proposer and every acceptor: cut some links, one way or both. */
  readonly partitions?: PartitionProxies;
  /** Pause a proposer or an acceptor for 4-10 s (past the clients' 3 s deadlines). */
  readonly longPauses?: boolean;
  /** Arm a kill -9 of an acceptor on its next file created or renamed in its data dir or history/. */
  readonly fileEventKills?: boolean;
  /** This acceptor's data dir is a small tmpfs: fill it for a while, or restart the node on it read-only. */
  readonly diskFaults?: { readonly acceptor: number; readonly dataDir: string };
  /** Restart proposers with Date.now set back or forth (or to exactly their last start's clock). */
  readonly clockJumps?: boolean;
  /** How a proposer (by key) is started or restarted, with the clock it should see at start (ms), if any. */
  readonly startProposer: (key: number, clockAt?: number) => Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly faults: FaultCounts = { proposerKills: 0, proposerPauses: 0, acceptorKills: 0, acceptorPauses: 0 };
  private readonly out = new Set<number>();
  private readonly proposersDown = new Set<number>();
  private readonly pending: Array<Promise<unknown>> = [];
  private readonly tolerance: number;

  private readonly watchers: FSWatcher[] = [];
  private armed: number | undefined;
  /** The clock each proposer last started at (clock jumps). */
  private readonly lastClock = new Map<number, number>();
  private readonly firstClock: number;

  constructor(
    private readonly cluster: TestCluster,
    private readonly proposerIds: readonly number[],
    private readonly random: SeededRandom,
    private readonly log: (line: string) => void,
    private readonly extras: NemesisExtras = { startProposer: (key) => cluster.startProposer(key) },
  ) {
    this.tolerance = Quorum.majority(cluster.acceptorPorts.length).crashTolerance;
    // eslint-disable-next-line no-restricted-properties -- the wall clock the proposers' clocks are moved from
    this.firstClock = Date.now();
  }

  private get anyExtra(): boolean {
    const x = this.extras;
    return x.partitions !== undefined || x.longPauses === true || x.fileEventKills === true || x.diskFaults !== undefined || x.clockJumps === true;
  }

  private count(kind: Exclude<keyof FaultCounts, 'proposerKills' | 'proposerPauses' | 'acceptorKills' | 'acceptorPauses'>): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  /** The clock a restarted proposer sees (clock jumps): its last start's exactly, or that moved back or forth by up to 20 s. */
  clockFor(key: number): number | undefined {
    if (this.extras.clockJumps !== true) return undefined;
    const last = this.lastClock.get(key);
    // eslint-disable-next-line no-restricted-properties -- the wall clock the proposers' clocks are moved from
    const now = Date.now();
    let at: number;
    if (last === undefined) at = this.firstClock + 1000; // the twins start at one clock
    else if (this.random.chance(0.4)) at = last;
    else at = Math.max(this.firstClock, last + this.random.int(-20_000, 20_001));
    this.lastClock.set(key, at);
    if (last !== undefined) this.count('clockJumps');
    if (last !== undefined) this.log(`proposer ${key} restarts with its clock at ${at} (${at - now} ms from now${at === last ? ', its last start\'s exactly' : ''})`);
    return at;
  }

  /** Watches the acceptors' data dirs (file event kills); call once the acceptors are up. */
  watchFiles(dataDir: (i: number) => string): void {
    if (this.extras.fileEventKills !== true) return;
    for (const i of this.cluster.acceptorPorts.keys()) {
      for (const dir of [dataDir(i), join(dataDir(i), 'history')]) {
        try {
          this.watchers.push(watch(dir, (event, name) => event === 'rename' && this.onFileEvent(i, String(name))));
        } catch (e) {
          this.log(`cannot watch ${dir}: ${(e as Error).message}`);
        }
      }
    }
  }

  private onFileEvent(i: number, name: string): void {
    if (this.armed !== i || name.endsWith('.lock') || name === 'node.json') return;
    this.armed = undefined;
    const node = this.cluster.acceptors[i];
    const pid = node?.child.pid;
    if (!node?.running || pid === undefined) {
      this.out.delete(i);
      return;
    }
    try {
      process.kill(pid, 'SIGKILL'); // at once: the file is being written now
    } catch {
      // gone already
    }
    this.count('fileEventKills');
    const downMs = this.random.int(200, 1500);
    this.log(`kill -9 acceptor ${i} as ${name} changed, back in ${downMs} ms`);
    this.track(
      (async () => {
        await node.waitExit();
        await sleep(downMs);
        await this.cluster.startAcceptor(i);
        this.out.delete(i);
      })(),
    );
  }

  private extraFault(): void {
    const kinds: Array<() => void> = [];
    if (this.extras.partitions !== undefined) kinds.push(() => this.partition(), () => this.partition());
    if (this.extras.longPauses === true) kinds.push(() => this.longPause());
    if (this.extras.fileEventKills === true) kinds.push(() => this.armFileEventKill());
    if (this.extras.diskFaults !== undefined) kinds.push(() => this.diskFault());
    if (this.extras.clockJumps === true) kinds.push(() => this.killProposer());
    const k = kinds[this.random.int(0, kinds.length)];
    k?.();
  }

  /** Faults, one every 0.5-2 s, until `stop()`. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await sleep(this.random.int(500, 2000));
      if (stop()) break;
      if (this.anyExtra && this.random.chance(0.5)) {
        this.extraFault();
        continue;
      }
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
        await this.extras.startProposer(id, this.clockFor(id));
        this.proposersDown.delete(id);
      })(),
    );
  }

  /** SIGSTOP a proposer (its clients' calls wait in its socket, then go elsewhere), then SIGCONT. */
  private pauseProposer(pausedMs = this.random.int(200, 1500)): void {
    const up = this.proposerIds.filter((id) => !this.proposersDown.has(id));
    if (up.length === 0) return;
    const id = up[this.random.int(0, up.length)] as number;
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

  private pauseAcceptor(pausedMs = this.random.int(500, 2000)): void {
    const i = this.pick();
    if (i === undefined) return;
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

  private longPause(): void {
    this.count('longPauses');
    if (this.random.chance(0.6)) this.pauseProposer(this.random.int(4000, 10_000));
    else this.pauseAcceptor(this.random.int(4000, 10_000));
  }

  /** Cuts one proposer (or every one) off from a random subset of the acceptors, one way or both, for 0.5-5 s. */
  private partition(): void {
    const proxies = this.extras.partitions as PartitionProxies;
    const n = this.cluster.acceptorPorts.length;
    const keys = this.random.chance(0.25) ? [...this.proposerIds] : [this.proposerIds[this.random.int(0, this.proposerIds.length)] as number];
    const size = this.random.int(1, n + 1);
    const all = Array.from({ length: n }, (_, i) => i);
    const cut: number[] = [];
    while (cut.length < size) cut.push(...all.splice(this.random.int(0, all.length), 1));
    cut.sort((a, b) => a - b);
    const directions: CutDirection[] = ['both', 'to-acceptor', 'to-proposer'];
    const direction = directions[this.random.int(0, 3)] as CutDirection;
    const ms = this.random.int(500, 5000);
    const reset = this.random.chance(0.5);
    this.count('partitions');
    this.log(`cut proposer(s) ${keys.join(',')} from acceptors ${cut.join(',')} (${direction}) for ${ms} ms, then ${reset ? 'reset the connections' : 'deliver what waited'}`);
    for (const k of keys) for (const i of cut) proxies.cut(k, i, direction);
    this.track(
      (async () => {
        await sleep(ms);
        for (const k of keys) for (const i of cut) proxies.heal(k, i, reset);
      })(),
    );
  }

  private armFileEventKill(): void {
    if (this.armed !== undefined) return;
    const i = this.pick();
    if (i === undefined) return;
    this.out.add(i);
    this.armed = i;
    this.log(`armed: kill -9 acceptor ${i} on its next file change`);
    // Disarmed after a while if nothing changed (no snapshot or segment came).
    this.track(
      (async () => {
        await sleep(5000);
        if (this.armed === i) {
          this.armed = undefined;
          this.out.delete(i);
          this.log(`disarmed: acceptor ${i} changed no file in 5 s`);
        }
      })(),
    );
  }

  private diskFault(): void {
    const d = this.extras.diskFaults as NonNullable<NemesisExtras['diskFaults']>;
    if (this.out.has(d.acceptor) || this.out.size >= this.tolerance) return;
    this.out.add(d.acceptor);
    if (this.random.chance(0.6)) {
      const ms = this.random.int(1000, 5000);
      this.count('diskFull');
      this.log(`fill acceptor ${d.acceptor}'s disk for ${ms} ms`);
      this.track(
        (async () => {
          const filler = join(d.dataDir, 'chaos-filler');
          try {
            fillDisk(filler);
            await sleep(ms);
          } finally {
            rmSync(filler, { force: true });
          }
          const node = this.cluster.acceptors[d.acceptor];
          if (!node?.running) {
            this.log(`acceptor ${d.acceptor} exited on the full disk (${lastLine(node?.stderrText)}); starting it again`);
            await this.cluster.startAcceptor(d.acceptor);
          }
          this.out.delete(d.acceptor);
        })(),
      );
      return;
    }
    this.count('readOnlyStarts');
    this.log(`restart acceptor ${d.acceptor} on a read-only data dir, then read-write`);
    this.track(
      (async () => {
        await this.cluster.killAcceptor(d.acceptor, 'SIGKILL');
        try {
          execFileSync('mount', ['-o', 'remount,ro', d.dataDir]);
          await this.cluster.startAcceptor(d.acceptor);
          this.log(`acceptor ${d.acceptor} started on a read-only data dir`);
        } catch (e) {
          this.log(`acceptor ${d.acceptor} on a read-only data dir: ${lastLine((e as Error).message)}`);
        } finally {
          await this.cluster.killAcceptor(d.acceptor, 'SIGKILL');
          execFileSync('mount', ['-o', 'remount,rw', d.dataDir]);
        }
        await this.cluster.startAcceptor(d.acceptor);
        this.out.delete(d.acceptor);
      })(),
    );
  }

  private track(p: Promise<unknown>): void {
    this.pending.push(p.catch((e: unknown) => this.log(`nemesis step failed: ${(e as Error).message}`)));
  }

  /** Heals: every fault in progress ends (restarts and resumes) before this resolves. */
  async heal(): Promise<void> {
    for (const w of this.watchers) w.close();
    this.armed = undefined;
    await Promise.all(this.pending);
    // A step that failed (a restart that did not come up, a remount refused) left its node down:
    // started here, so that "healed: every node is up" is true before the history is checked.
    for (const [i, node] of this.cluster.acceptors.entries()) {
      if (node?.running) continue;
      this.log(`acceptor ${i} is still down after its fault: starting it`);
      await this.cluster.startAcceptor(i);
    }
    for (const id of this.proposerIds) {
      if (this.cluster.proposers.get(id)?.running) continue;
      this.log(`proposer ${id} is still down after its fault: starting it`);
      await this.extras.startProposer(id, this.clockFor(id));
    }
    this.out.clear();
    this.proposersDown.clear();
    this.extras.partitions?.healAll();
  }
}

/** The last non-empty line of a text (a node's stderr, an error). */
function lastLine(text: string | undefined): string {
  const lines = (text ?? '').trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 400);
}

/** Writes zeros to `file` until the file system is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    const free = Number(statfsSync(file).bavail) * Number(statfsSync(file).bsize);
    for (let written = 0; written <= free + chunk.length; ) {
      try {
        written += writeSync(fd, chunk);
      } catch {
        break; // full
      }
    }
    for (;;) {
      try {
        if (writeSync(fd, chunk, 0, 512) === 0) break;
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}
