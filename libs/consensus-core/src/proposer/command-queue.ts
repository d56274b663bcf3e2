import { assert } from '../assert';
import { type Command, commandWireBytes } from '../value';

interface QueuedCommand {
  readonly command: Command;
  /** Proposed alone: it was in a batch the acceptors refused, and may be the culprit. */
  readonly solo: boolean;
}

/**
 * FIFO of client commands waiting for a slot. Bounded by the caller on submit. Batches are measured
 * in the bytes their commands take on the wire (commandWireBytes), so that a batch within the value
 * bound is an accept within the acceptors' receive bound.
 */
export class CommandQueue {
  /** Commands from `head` on wait; the slots before it are emptied as they are taken. */
  private items: (QueuedCommand | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(command: Command): void {
    this.items.push({ command, solo: false });
    this.queuedBytes += commandWireBytes(command);
  }

  /** True when the next batch would be full: by count, by bytes, or a command that goes alone. */
  hasFullBatch(batchCommandsMax: number, batchBytesMax: number): boolean {
    if (this.length === 0) return false;
    return this.length >= batchCommandsMax || this.queuedBytes >= batchBytesMax || (this.items[this.head] as QueuedCommand).solo;
  }

  /** Put commands back at the front, keeping their order (they were proposed before the rest). */
  requeueFront(commands: readonly Command[], solo: boolean): void {
    if (commands.length === 0) return;
    const rest = this.items.slice(this.head);
    this.items = [...commands.map((command) => ({ command, solo })), ...rest];
    this.head = 0;
    for (const c of commands) this.queuedBytes += commandWireBytes(c);
  }

  /**
   * Takes the queued commands whose client request id is in `ids` out of the queue, and returns
   * them (a value that carries them is already chosen or adopted: proposing them again would put
   * a second copy in the log).
   */
  dropIds(ids: ReadonlySet<string>): Command[] {
    const dropped: Command[] = [];
    if (ids.size === 0 || this.length === 0) return dropped;
    const kept: (QueuedCommand | undefined)[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const q = this.items[i] as QueuedCommand;
      if (ids.has(q.command.clientRequestId)) {
        this.queuedBytes -= commandWireBytes(q.command);
        dropped.push(q.command);
      } else kept.push(q);
    }
    this.items = kept;
    this.head = 0;
    return dropped;
  }

  /** Take the next batch: up to batchCommandsMax commands and batchBytesMax bytes (at least one). */
  takeBatch(batchCommandsMax: number, batchBytesMax: number): Command[] {
    assert(this.length > 0, 'takeBatch on an empty queue');
    const first = this.take();
    const batch: Command[] = [first.command];
    if (!first.solo) {
      let bytes = commandWireBytes(first.command);
      while (this.length > 0 && batch.length < batchCommandsMax) {
        const next = this.items[this.head] as QueuedCommand;
        const size = commandWireBytes(next.command);
        if (next.solo || bytes + size > batchBytesMax) break;
        this.take();
        bytes += size;
        batch.push(next.command);
      }
    }
    for (const c of batch) this.queuedBytes -= commandWireBytes(c);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /**
   * The command at the head, its slot emptied: a taken slot kept its command (a value of up to
   * 1 MiB) reachable until more than 1,024 had passed, up to a GiB of proposed commands per proposer.
   */
  private take(): QueuedCommand {
    const item = this.items[this.head] as QueuedCommand;
    this.items[this.head++] = undefined;
    return item;
  }
}
