// What the specs of the HTTP/1 ports (the metrics ports, the status page) share: a client that
// writes raw bytes, which no HTTP library sends (two Host headers, a body that never ends, CONNECT).
import { connect } from 'node:net';

/** What a raw connection read: the status lines, and whether the server (not the 3 s timer) closed it. */
export interface RawExchange {
  readonly statusLines: string[];
  readonly closedByServer: boolean;
}

/**
 * Writes `parts` on one connection to 127.0.0.1:`port`, one at a time (stopping once the server
 * closes it), and reads until the server closes it or 3 s pass.
 */
export function sendOnOneConnection(port: number, parts: readonly string[]): Promise<RawExchange> {
  return new Promise((resolve) => {
    let got = '';
    let closedByServer = true;
    const s = connect({ host: '127.0.0.1', port }, async () => {
      for (const part of parts) {
        if (s.destroyed) break;
        if (!s.write(part)) await new Promise((r) => s.once('drain', r).once('close', r));
      }
    });
    const timer = setTimeout(() => {
      closedByServer = false;
      s.destroy();
    }, 3000);
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ statusLines: got.split('\r\n').filter((l) => l.startsWith('HTTP/1.1 ')), closedByServer });
    });
  });
}
