import { onShutdownSignal } from './signals';
import type { Logger } from './logger';

describe('shutdown on a signal', () => {
  const handlers = new Map<string, (signal: NodeJS.Signals) => void>();
  let exits: number[];
  const logged: Array<{ level: string; obj: unknown; msg: string }> = [];
  const logger = {
    info: (obj: unknown, msg: string) => logged.push({ level: 'info', obj, msg }),
    warn: (obj: unknown, msg: string) => logged.push({ level: 'warn', obj, msg }),
    error: (obj: unknown, msg: string) => logged.push({ level: 'error', obj, msg }),
  } as unknown as Logger;

  beforeEach(() => {
    jest.useFakeTimers();
    handlers.clear();
    logged.length = 0;
    exits = [];
    jest.spyOn(process, 'on').mockImplementation(((event: string, h: (signal: NodeJS.Signals) => void) => {
      handlers.set(event, h);
      return process;
    }) as typeof process.on);
    jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exits.push(code ?? 0);
    }) as typeof process.exit);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('runs the shutdown once, takes a repeat of the signal within a second as the same request, and exits 130 on a later one', async () => {
    let runs = 0;
    onShutdownSignal(logger, () => {
      runs++;
      return new Promise(() => undefined);
    });
    handlers.get('SIGINT')?.('SIGINT');
    handlers.get('SIGTERM')?.('SIGTERM');
    expect([runs, exits]).toEqual([1, []]);
    jest.advanceTimersByTime(1500);
    handlers.get('SIGINT')?.('SIGINT');
    expect(exits).toEqual([130]);
  });

  it('exits 1 naming the step when the shutdown does not finish by its deadline', () => {
    onShutdownSignal(
      logger,
      (_signal, step) => {
        step('pending writes');
        return new Promise(() => undefined);
      },
      5000,
    );
    handlers.get('SIGTERM')?.('SIGTERM');
    jest.advanceTimersByTime(4999);
    expect(exits).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
    expect(logged.at(-1)).toMatchObject({ level: 'error', obj: { step: 'pending writes' }, msg: 'shutdown did not finish in time: exiting now' });
  });

  it('exits 0 once the shutdown is done', async () => {
    onShutdownSignal(logger, async () => undefined);
    handlers.get('SIGTERM')?.('SIGTERM');
    await Promise.resolve();
    await Promise.resolve();
    expect(exits).toEqual([0]);
  });
});
