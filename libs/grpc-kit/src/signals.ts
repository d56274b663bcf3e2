import { printable } from './printable';
import type { Logger } from './logger';

/**
 * Runs `shutdown` once on SIGTERM or SIGINT, then exits 0 (1 if shutdown threw). A second signal
 * while shutting down exits at once with 130.
 */
export function onShutdownSignal(logger: Logger, shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
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
