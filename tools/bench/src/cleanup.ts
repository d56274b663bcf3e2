import { constants } from 'node:os';

/**
 * What the bench must undo however it ends (processes it started that are not NodeProcesses, such
 * as etcd's members, and their data dirs): each undo runs once, at its own release or when this
 * process exits, whichever comes first. Undos are synchronous, as an 'exit' listener must be.
 */
const pending = new Set<() => void>();

process.once('exit', () => {
  for (const undo of [...pending]) {
    pending.delete(undo);
    try {
      undo();
    } catch {
      // Exiting: the next undo still runs.
    }
  }
});

/** Registers `undo` for exit; the function returned runs it now (once) and forgets it. */
export function atExit(undo: () => void): () => void {
  pending.add(undo);
  return () => {
    if (pending.delete(undo)) undo();
  };
}

let signalsHandled = false;

/**
 * SIGINT, SIGTERM and SIGHUP end the bench through process.exit (128 + the signal's number, as a
 * shell reports it), so the 'exit' listeners run: the nodes' (NodeProcess kills its children) and
 * atExit's. Without a handler Node dies of the signal without them, leaving every process the
 * bench started running and their dirs behind (the npm wrapper forwards a Ctrl-C or a kill to the
 * bench alone).
 */
export function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping what it started\n`);
      process.exit(128 + constants.signals[signal]);
    });
  }
}
