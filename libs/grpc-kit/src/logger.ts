import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** How log lines are written: JSON for pipes and files, readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set (json or pretty), else pretty on a terminal and JSON anywhere else. */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTty = process.stderr.isTTY === true): LogFormat {
  const asked = env['LOG_FORMAT'];
  if (asked === 'json' || asked === 'pretty') return asked;
  return isTty ? 'pretty' : 'json';
}

/**
 * Structured logs on stderr (stdout stays free for a tool's own output). LOG_LEVEL sets the level,
 * LOG_FORMAT the format (see logFormat). Pretty lines are formatted in this thread, synchronously,
 * like the JSON ones: nothing is lost when the process exits.
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const destination: DestinationStream =
    logFormat() === 'pretty'
      ? pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
      : pino.destination({ fd: 2, sync: true });
  return pino({ name, level: process.env['LOG_LEVEL'] ?? 'info', base: { pid: process.pid, ...bindings } }, destination);
}
