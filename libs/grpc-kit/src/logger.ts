import pino, { type DestinationStream, type Logger } from 'pino';
import { logLineEscaped } from './printable';

// Loaded only for pretty output: a node launched with its log in a file (JSON) does not pay the
// library's load, about a tenth of its start-up CPU.
const pretty = () => require('pino-pretty') as typeof import('pino-pretty');

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
      ? pretty()({ destination: logDestination(2), colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
      : logDestination(2);
  return pino({ name, level: process.env['LOG_LEVEL'] ?? 'info', base: { pid: process.pid, ...bindings } }, destination);
}

/** Log bytes held while the log file cannot be written (a full disk); lines past it are dropped. */
export const LOG_BUFFER_MAX_BYTES = 8 * 1024 * 1024;

/**
 * JSON lines to `fd`, written synchronously. A write that fails (ENOSPC on a full log disk, EIO)
 * must not throw out of the logging call: pino's destination emits it as an 'error' event, which
 * without a listener throws into whatever code logged, so a storage failure handler that logs it
 * failed half-way and a process whose log disk was full crashed on its first line. The lines wait
 * in a bounded buffer (written once the file takes writes again) and are dropped past it; a line
 * dropped is followed by a short one saying so, when there is room for that. DEL, C1 controls and
 * bidirectional formatting characters (which JSON leaves raw) are written as \uNNNN escapes.
 */
export function logDestination(fd: number): DestinationStream {
  const destination = pino.destination({ fd, sync: true, maxLength: LOG_BUFFER_MAX_BYTES });
  destination.on('error', () => undefined);
  // Every line, JSON or pretty, with the controls JSON leaves raw (C1, bidi) written as escapes.
  const write = destination.write.bind(destination);
  destination.write = (line: string) => write(logLineEscaped(line));
  let noting = false;
  destination.on('drop', (line: string) => {
    if (noting) return; // the notice itself dropped: the buffer is full
    noting = true;
    try {
      const bytes = Buffer.byteLength(line);
      // eslint-disable-next-line no-restricted-properties -- a log line's time, as pino writes it
      destination.write(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: `a log line of ${bytes} bytes was dropped: the log file cannot be written, or the line is over ${LOG_BUFFER_MAX_BYTES} bytes` })}\n`);
    } finally {
      noting = false;
    }
  });
  return destination;
}
