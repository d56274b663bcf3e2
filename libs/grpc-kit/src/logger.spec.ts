import { closeSync, existsSync, openSync } from 'node:fs';
import pino from 'pino';
import { LOG_BUFFER_MAX_BYTES, logDestination, logFormat } from './logger';

describe('log format', () => {
  it('is readable lines at a terminal, JSON in a pipe or file, and LOG_FORMAT decides when set', () => {
    expect(logFormat({}, true)).toBe('pretty');
    expect(logFormat({}, false)).toBe('json');
    expect(logFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(logFormat({ LOG_FORMAT: 'yaml' }, false)).toBe('json');
  });
});

describe('log destination', () => {
  const onLinux = existsSync('/dev/full') ? it : it.skip;
  onLinux('a log file that cannot be written (a full disk) neither throws into the caller nor grows memory without bound', () => {
    const fd = openSync('/dev/full', 'w'); // every write fails with ENOSPC
    try {
      const destination = logDestination(fd);
      const logger = pino({}, destination);
      expect(() => {
        for (let i = 0; i < 20_000; i++) logger.error({ i, pad: 'x'.repeat(200) }, 'storage failed');
      }).not.toThrow();
      expect((destination as unknown as { _len: number })._len).toBeLessThanOrEqual(LOG_BUFFER_MAX_BYTES);
    } finally {
      closeSync(fd);
    }
  });
});
