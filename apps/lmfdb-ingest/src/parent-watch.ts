import type { Logger } from '@paxos/grpc-kit';

/** How often an ingest a launch started looks for that launch. */
const PARENT_POLL_MS = 500;

/**
 * An ingest started by a launch (PAXOS_PARENT_PID: the launch's pid) stops, as on SIGINT, once
 * that launch is gone (its parent is then another process): a launch killed while it filled the
 * cache left the ingest running, holding the cache's lock, and the next launch failed on it.
 */
export function watchParent(logger: Logger, abort: AbortController, parentPid: string | undefined): NodeJS.Timeout | undefined {
  const parent = Number(parentPid);
  if (!Number.isSafeInteger(parent) || parent <= 0) return undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent || abort.signal.aborted) return;
    logger.warn({ launch: parent }, 'the launch that started this ingest is gone: stopping after the current page; run again to resume');
    abort.abort();
  }, PARENT_POLL_MS);
  timer.unref();
  return timer;
}
