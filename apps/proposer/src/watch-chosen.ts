// ProposerService.WatchChosen: the chosen log from any slot, then every slot as it is chosen.
// A watcher that does not read is bounded twice: at most `bufferBytes` of written slots wait for
// it (past that the pump stops), and if nothing it was sent moves for `stallMs` it is cut off
// with RESOURCE_EXHAUSTED and told where to resume, so one stopped client cannot hold a proposer's
// memory or a watcher place for ever. What waits for watchers also counts in the server's budget of
// answers not yet read (with unary answers and ProposeStream's): 128 watchers of 4 MiB each held
// twice the server's whole budget beside it.
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import { merge } from 'rxjs';
import { type AnswerBudget, callerKey, CountsByKey, GrpcError, type Logger, peerIdentity, toServiceError } from '@paxos/grpc-kit';
import type { WatchChosenRequest, WatchChosenResponse } from '@paxos/proto';
import { logEntryToWire } from '@paxos/read-service';
import { type ChosenEntry, DEFAULT_LIMITS } from '@paxos/consensus-core';
import { HISTORY_FIRST_SLOT_TRAILER } from '@paxos/wire';
import type { ProposerNode } from './proposer-node';

/** Chosen slots WatchChosen reads at once (from memory or the acceptors' histories). */
const WATCH_PAGE_SLOTS = 256;
/** WatchChosen streams open at once, by default. */
export const WATCHERS_MAX = 128;
/** Bytes of written slots that may wait for one watcher, by default. */
export const WATCHER_BUFFER_BYTES = 4 * 1024 * 1024;
/** How long a watcher may read nothing while slots wait for it, by default. */
export const WATCHER_STALL_MS = 30_000;

/** How often a watcher paused by others' use of the answer budget looks again (none of its own bytes wait to wake it). */
const BUDGET_RECHECK_MS = 100;

/** How long a cut-off watcher has to take its status before its stream is reset. */
const CUT_OFF_GRACE_MS = 10_000;

/** WatchChosen streams one client (one certificate, or one host without TLS) may hold, by default. */
export const WATCHERS_PER_CLIENT_MAX = 16;

export interface WatchBounds {
  readonly maxWatchers: number;
  readonly maxWatchersPerClient: number;
  readonly bufferBytes: number;
  readonly stallMs: number;
  /** The server's budget of answers not yet read, shared with its other calls (startGrpcServer's `answers`). */
  readonly answers?: AnswerBudget;
}

/** About how many bytes a slot takes on the wire. */
function entryBytes(e: ChosenEntry): number {
  return e.value.kind === 'batch' ? 64 + e.value.commands.reduce((s, c) => s + 48 + c.clientRequestId.length + c.contentType.length + c.data.length, 0) : 64;
}

/** grpc-js keeps a call's HTTP/2 stream private: found by walking its wrappers, to reset it when a cut-off status cannot be delivered. */
function http2StreamOf(call: unknown): { close?: (code: number) => void; closed?: boolean } | undefined {
  let c = (call as { call?: unknown }).call as Record<string, unknown> | undefined;
  for (let i = 0; i < 8 && c; i++) {
    const s = c['stream'] as { close?: unknown; closed?: boolean } | undefined;
    if (s && typeof s.close === 'function') return s as { close: (code: number) => void; closed?: boolean };
    c = c['nextCall'] as Record<string, unknown> | undefined;
  }
  return undefined;
}

/** Who a watcher is for the per-client bound: its certificate's name, or its host without TLS. */
function clientKey(call: ServerWritableStream<WatchChosenRequest, WatchChosenResponse>): string {
  const c = call as unknown as Parameters<typeof callerKey>[0];
  return peerIdentity(c) ? `client ${callerKey(c)}` : `host ${callerKey(c, 'host')}`;
}

/** The WatchChosen handler, counting watchers against `bounds.maxWatchers` and `maxWatchersPerClient`. */
export function watchChosenHandler(node: ProposerNode, bounds: WatchBounds, logger: Logger): (call: ServerWritableStream<WatchChosenRequest, WatchChosenResponse>) => void {
  let watchers = 0;
  /** Streams open per client (bounded by maxWatchers entries). */
  const perClient = new CountsByKey(bounds.maxWatchersPerClient);
  return (call) => {
    // A slot no log reaches would be waited for until the client's deadline, or for ever without one.
    if (call.request.fromSlot > DEFAULT_LIMITS.slotMax) {
      call.emit('error', toServiceError(new GrpcError(status.INVALID_ARGUMENT, `from_slot ${call.request.fromSlot} is above the highest slot a log reaches (${DEFAULT_LIMITS.slotMax}, 2^62): watch from a slot at or below it`)));
      return;
    }
    if (watchers >= bounds.maxWatchers) {
      call.emit(
        'error',
        toServiceError(new GrpcError(status.RESOURCE_EXHAUSTED, `this proposer already serves ${bounds.maxWatchers} WatchChosen streams (--max-watchers): close one, or read the log page by page with ReadService/ReadLog`)),
      );
      return;
    }
    const client = clientKey(call);
    if (!perClient.take(client)) {
      call.emit(
        'error',
        toServiceError(new GrpcError(status.RESOURCE_EXHAUSTED, `${client} already holds ${perClient.of(client)} WatchChosen streams here (--max-watchers-per-client): close one`)),
      );
      return;
    }
    watchers += 1;
    const log = node.chosen;
    let next = call.request.fromSlot;
    let pumping = false;
    let done = false;
    /**
     * The watcher as its history reads know it: gone once its stream ended. Keyed as ReadLog's
     * reads are (callerOf), so one client's watchers and ReadLog calls share one share of the
     * waiting places.
     */
    const watcher = { key: callerKey(call as unknown as Parameters<typeof callerKey>[0]), gone: () => done };
    /** Bytes written to this watcher whose write has not completed (they wait in buffers for the client). */
    let waiting = 0;
    /** Who the answer budget counts this watcher's bytes for: its caller, as for the client's other calls. */
    const peer = bounds.answers === undefined ? undefined : watcher.key;
    /** Bytes held in the answer budget for this watcher; given back as writes complete, all at once when it ends. */
    let held = 0;
    const hold = (bytes: number) => {
      if (peer === undefined || bytes === 0) return;
      held += bytes;
      bounds.answers?.adjust(peer, bytes);
    };
    let wake: (() => void) | undefined;
    const moved = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on('drain', moved);
    /** Waits until the watcher takes what waits for it; false when nothing moved for stallMs. */
    const roomOrStall = async (): Promise<boolean> => {
      // The budget full while nothing of this watcher's waits: others hold it, so this one waits
      // without being blamed (cut off only for what it does not read itself).
      while (!done && waiting === 0 && peer !== undefined && bounds.answers?.full(peer)) await new Promise((r) => setTimeout(r, BUDGET_RECHECK_MS));
      while (!done && (call.writableNeedDrain || waiting > bounds.bufferBytes || (waiting > 0 && peer !== undefined && bounds.answers?.full(peer)))) {
        const progressed = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            wake = undefined;
            resolve(false);
          }, bounds.stallMs);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        if (!progressed) return false;
      }
      return true;
    };
    const cutOff = () => {
      const sentUpTo = next - 1n;
      logger.warn({ fromSlot: call.request.fromSlot.toString(), sentUpTo: sentUpTo.toString(), waitingBytes: waiting }, 'WatchChosen watcher read nothing in time: cut off');
      stop();
      call.emit(
        'error',
        toServiceError(
          new GrpcError(
            status.RESOURCE_EXHAUSTED,
            `this WatchChosen stream took nothing for ${bounds.stallMs} ms while ${waiting} bytes of chosen slots waited for it (--watcher-stall-ms, --watcher-buffer-bytes): closed. ` +
              `Resume with WatchChosen from_slot = the slot after the last one you received (slots up to ${sentUpTo} were sent)`,
          ),
        ),
      );
      // A client that reads nothing cannot take the status either: if it has not taken it after a
      // grace, its stream is reset, so what waits for it is freed.
      setTimeout(() => {
        const s = http2StreamOf(call);
        if (s && !s.closed) s.close?.(0x8); // NGHTTP2_CANCEL
      }, CUT_OFF_GRACE_MS).unref();
    };
    // Slots the proposer keeps come from memory, older ones from the acceptors' durable
    // histories, a page at a time; a watcher that falls behind the kept range reads history too.
    const pump = async (): Promise<void> => {
      if (pumping || done) return;
      pumping = true;
      try {
        while (!done && next < log.nextSlot) {
          const page = await node.reader.readForClient(next, WATCH_PAGE_SLOTS, Number.POSITIVE_INFINITY, watcher);
          if (page.length === 0) break;
          for (const e of page) {
            if (done) return;
            // An acceptor's history may reach past what this proposer has applied (another
            // proposer chose those slots, or this one is still learning them): such a slot waits
            // for its delivery, since its commands' outcomes come from the state that applied it
            // (sent now, a copy of an id not applied yet here read as forgotten, not duplicate).
            if (e.slot >= log.nextSlot) break;
            const room = await roomOrStall();
            if (done) return;
            if (!room) return cutOff();
            next = e.slot + 1n;
            const bytes = entryBytes(e);
            waiting += bytes;
            hold(bytes);
            call.write(logEntryToWire(e, log.state), () => {
              waiting -= bytes;
              if (!done) hold(-bytes);
              moved();
            });
          }
        }
      } catch (e) {
        if (!done) {
          stop();
          // A watcher refused mid-stream (history reads busy, an acceptor down) is told where to
          // resume. Below the kept history, resuming at `next` fails the same way: it is told where
          // the kept log goes on (the answer names the snapshot that covers the slots between).
          const sent = next === call.request.fromSlot ? 'nothing was sent' : `slots below ${next} were sent`;
          const keptFrom = e instanceof GrpcError && e.code === status.OUT_OF_RANGE ? e.trailers[HISTORY_FIRST_SLOT_TRAILER] : undefined;
          const resume =
            keptFrom !== undefined
              ? `${sent}; slot ${next} is no longer kept: resume with WatchChosen from_slot ${keptFrom}, where the kept log goes on`
              : `${sent}: resume with WatchChosen from_slot ${next}`;
          call.emit('error', toServiceError(e instanceof GrpcError ? new GrpcError(e.code, `${e.message} (${resume})`, e.trailers) : new GrpcError(status.INTERNAL, `internal error: ${(e as Error).message} (${resume})`)));
        }
      } finally {
        pumping = false;
      }
      // Slots delivered while this pump was writing.
      if (!done && next < log.nextSlot) void pump();
    };
    // A state snapshot installed moves delivery past slots a watcher below it will never be sent:
    // it is told then (OUT_OF_RANGE, naming the snapshot), not at the next slot delivered.
    const sub = merge(log.delivered$, log.snapshotInstalled$).subscribe(() => void pump());
    let counted = true;
    const stop = () => {
      done = true;
      // grpc-js drops what a call that ended did not send: its bytes are given back now.
      hold(-held);
      sub.unsubscribe();
      moved();
      if (counted) {
        watchers -= 1;
        perClient.give(client);
      }
      counted = false;
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    void pump();
  };
}
