import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
        for (let i = 0; i < 40_000; i++) logger.error({ i, pad: 'x'.repeat(200) }, 'storage failed'); // 10 MB: past the bound
      }).not.toThrow();
      expect((destination as unknown as { _len: number })._len).toBeLessThanOrEqual(LOG_BUFFER_MAX_BYTES);
    } finally {
      closeSync(fd);
    }
  });

  it('a line over the bound is replaced by a line that says it was dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-destination-'));
    const file = join(dir, 'node.log');
    const fd = openSync(file, 'w');
    try {
      const logger = pino({}, logDestination(fd));
      logger.info({ pad: 'x'.repeat(LOG_BUFFER_MAX_BYTES + 10) }, 'too big');
      logger.info('after it');
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
      expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^a log line of \d+ bytes was dropped: the log file cannot be written, or the line is over/), 'after it']);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes C1 controls and bidirectional overrides as escapes: the same JSON to a reader, nothing a terminal acts on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-destination-'));
    const file = join(dir, 'node.log');
    const fd = openSync(file, 'w');
    // A server's error text as the ingest logs it: CSI as a C1 code, a right-to-left override, a line separator.
    const hostile = 'bad gateway \u009b2J \u202egnp.exe \u2028 next';
    try {
      pino({}, logDestination(fd)).warn({ reason: hostile }, 'the LMFDB answered 502');
      const text = readFileSync(file, 'utf8');
      expect(text).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2028]/);
      expect(text).toContain('\\u009b2J');
      expect((JSON.parse(text) as { reason: string }).reason).toBe(hostile);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
