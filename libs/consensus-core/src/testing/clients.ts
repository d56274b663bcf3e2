import type { SeededRandom } from '../rng';
import type { Command } from '../value';

const RESUBMIT_TICKS = 60;

interface ClientCommand {
  readonly command: Command;
  readonly home: number;
  readonly submitTick: number;
  lastSubmitTick: number;
  /** Submissions so far: a retry goes to the next proposer (through another proposer). */
  attempts: number;
  delivered: boolean;
}

/** Clients: each command has a home proposer, a first submit tick, and is retried until chosen. */
export class SimClients {
  private readonly commands: ClientCommand[] = [];
  private readonly byId = new Map<string, ClientCommand>();
  deliveredCount = 0;

  constructor(rng: SeededRandom, count: number, proposers: number, submitTicksMax: number) {
    for (let i = 0; i < count; i++) {
      const bytes = new Uint8Array(rng.int(1, 9));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rng.int(0, 256);
      const cmd: ClientCommand = {
        command: { clientRequestId: `c${i}`, contentType: 'application/octet-stream', data: bytes },
        home: rng.int(0, proposers),
        submitTick: rng.int(0, Math.max(1, submitTicksMax)),
        lastSubmitTick: -1,
        attempts: 0,
        delivered: false,
      };
      this.commands.push(cmd);
      this.byId.set(cmd.command.clientRequestId, cmd);
    }
  }

  all(): readonly Command[] {
    return this.commands.map((c) => c.command);
  }

  /**
   * Commands to (re)submit now: first submission, or retry after RESUBMIT_TICKS without a choice.
   * `target(preferred)` picks the proposer; a retry prefers the next proposer after the last one.
   */
  due(now: number, target: (preferred: number) => number | null): { command: Command; proposer: number }[] {
    const out: { command: Command; proposer: number }[] = [];
    for (const c of this.commands) {
      if (c.delivered || now < c.submitTick) continue;
      if (c.lastSubmitTick >= 0 && now - c.lastSubmitTick < RESUBMIT_TICKS) continue;
      const proposer = target(c.home + c.attempts);
      if (proposer === null) continue;
      c.lastSubmitTick = now;
      c.attempts += 1;
      out.push({ command: c.command, proposer });
    }
    return out;
  }

  /** A submission was refused (queue full, proposer down): retry soon. */
  retrySoon(id: string): void {
    const c = this.byId.get(id);
    if (c !== undefined) c.lastSubmitTick = -1;
  }

  /** Liveness phase: everything undelivered goes to the live proposer right away. */
  resubmitAllNow(): void {
    for (const c of this.commands) c.lastSubmitTick = -1;
  }

  markDelivered(id: string): void {
    const c = this.byId.get(id);
    if (c !== undefined && !c.delivered) {
      c.delivered = true;
      this.deliveredCount++;
    }
  }

  undelivered(): string[] {
    return this.commands.filter((c) => !c.delivered).map((c) => c.command.clientRequestId);
  }

  get total(): number {
    return this.commands.length;
  }
}
