import { createLogger } from '@paxos/grpc-kit';
import { watchParent } from './parent-watch';

const logger = createLogger('parent-watch-spec');
logger.level = 'silent';

describe('an ingest a launch started', () => {
  it('stops once that launch is gone (its parent is another process), as on SIGINT', async () => {
    const abort = new AbortController();
    // The pid of a launch that is not this process's parent: it died and the ingest was adopted.
    const timer = watchParent(logger, abort, String(process.ppid === 1 ? 2 : 1));
    await new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve()));
    expect(abort.signal.aborted).toBe(true);
    clearInterval(timer);
  });

  it('goes on while its launch lives, and is not watched when no launch started it', async () => {
    const abort = new AbortController();
    const timer = watchParent(logger, abort, String(process.ppid));
    await new Promise((r) => setTimeout(r, 1200));
    expect(abort.signal.aborted).toBe(false);
    clearInterval(timer);
    expect(watchParent(logger, abort, undefined)).toBeUndefined();
    expect(watchParent(logger, abort, 'x')).toBeUndefined();
  });
});
