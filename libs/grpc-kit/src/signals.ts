import { printable } from './printable';
import type { Logger } from './logger';

/** How long a graceful shutdown may take before the process exits anyway (each step has its own, shorter bound). */
export const SHUTDOWN_DEADLINE_MS = 20_000;
/** A repeat of the signal within this long is the same request (a terminal's Ctrl-C reaches the process group and the npm wrapper forwards it too). */
const REPEAT_WINDOW_MS = 1000;

/**
 * Runs `shutdown` once on SIGTERM or SIGINT, then exits 0 (1 if shutdown threw). A second signal
 * while shutting down (a second one, not the repeat of the first within a second) exits at once
 * with 130. A shutdown that has not finished within `deadlineMs` exits 1, naming the step it was
 * in (`shutdown` reports its steps through `step`).
 */
export function onShutdownSignal(logger: Logger, shutdown: (signal: string, step: (name: string) => void) => Promise<void>, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stoppingAt: number | undefined;
  let current = 'starting';
  const handle = (signal: NodeJS.Signals) => {
    if (stoppingAt !== undefined) {
      if (performance.now() - stoppingAt < REPEAT_WINDOW_MS) return;
      logger.warn({ signal, step: current }, 'second signal during shutdown: exiting now');
      process.exit(130);
    }
    stoppingAt = performance.now();
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ step: current, deadlineMs }, 'shutdown did not finish in time: exiting now');
      process.exit(1);
    }, deadlineMs);
    shutdown(signal, (name) => {
      current = name;
    }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err, step: current }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/** Prints a ConfigError-like failure the way every CLI here does, and sets the exit code. */
export function exitWithError(program: string, err: unknown, code = 1): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${printable(`${program}: ${message}`)}\n`);
  process.exit(code);
}
