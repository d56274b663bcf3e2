// TLS handshakes a node refused. A caller refused before any call (no certificate, plaintext on a
// TLS port, a handshake OpenSSL fails) sees only "UNAVAILABLE: failed to connect", and the node
// said nothing: the operator could not tell a refused client from a network fault. The node now
// counts them by reason (grpc_server_tls_handshakes_refused_total{reason}) and logs them, at most
// one line per REPORT_EVERY_MS with the counts since the last one, so a port scanner or a client
// retrying in a loop cannot fill the log. A certificate that fails verification (another CA's, an
// expired one) is not among them: node:tls ends such a connection after the handshake without an
// event to hear.
import type { Server } from '@grpc/grpc-js';
import type { Logger } from './logger';
import { listeningServers } from './listening-servers';

/** At most one log line of refused handshakes this often (the counts of the others go in it). */
export const REPORT_EVERY_MS = 10_000;

/** Why a handshake was refused, as the metric's label and the log say it. */
export type HandshakeRefusal = 'no-certificate' | 'certificate-refused' | 'plaintext' | 'other';

const ADVICE: Record<HandshakeRefusal, string> = {
  'no-certificate': 'the caller presented no certificate: every caller needs one the network\'s CA signed (README, "A service of your own")',
  'certificate-refused': "the caller's certificate was refused (expired, not yet valid, or not signed by the network's CA): issue it again from this network's tls-ca",
  plaintext: 'the caller spoke plaintext to this TLS port: a client or node started with --insecure, or pointed at the wrong network',
  other: 'the handshake failed',
};

/** The reason of a handshake error as node:tls reports it on the server (undefined: not worth a word, e.g. the caller went away). */
export function handshakeRefusal(e: { readonly code?: string; readonly message?: string }): HandshakeRefusal | undefined {
  const code = e.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_SSL_SHUTDOWN_WHILE_IN_INIT') return undefined;
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no-certificate';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') return 'plaintext';
  if (/CERTIFICATE|CERT_|UNKNOWN_CA|VERIFY/i.test(code) || /certificate/i.test(e.message ?? '')) return 'certificate-refused';
  return 'other';
}

/** Counts refused handshakes and logs them, rate-limited (see the file's comment). */
export class RefusedHandshakes {
  private readonly since = new Map<HandshakeRefusal, number>();
  private lastPeer: string | undefined;
  private lastDetail: string | undefined;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly count?: (reason: HandshakeRefusal) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  note(e: { readonly code?: string; readonly message?: string; readonly reason?: string }, peer: string | undefined): void {
    const reason = handshakeRefusal(e);
    if (reason === undefined) return;
    this.count?.(reason);
    this.since.set(reason, (this.since.get(reason) ?? 0) + 1);
    this.lastPeer = peer;
    // OpenSSL's messages carry a source path and line: its reason alone, when it gives one.
    this.lastDetail = `${e.code ?? ''} ${e.reason ?? e.message ?? ''}`.trim().slice(0, 200);
    const wait = this.lastReportAt + REPORT_EVERY_MS - this.now();
    if (wait <= 0) this.report();
    else this.timer ??= setTimeout(() => this.report(), wait).unref();
  }

  private report(): void {
    this.timer = undefined;
    if (this.since.size === 0) return;
    this.lastReportAt = this.now();
    const counts = Object.fromEntries(this.since);
    const reasons = [...this.since.keys()].map((r) => ADVICE[r]);
    this.since.clear();
    this.logger.warn({ refused: counts, lastPeer: this.lastPeer, lastError: this.lastDetail }, `TLS handshakes refused: ${reasons.join('; ')}`);
  }

  /** Stops a pending report (the server is closing). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Listens for refused handshakes on every listening server of a TLS `server`. */
export function reportRefusedHandshakes(server: Server, logger: Logger, count?: (reason: HandshakeRefusal) => void): RefusedHandshakes {
  const refused = new RefusedHandshakes(logger, count);
  for (const s of listeningServers(server, logger, 'refused TLS handshakes are not reported')) {
    s.on('tlsClientError', (e: Error & { code?: string; reason?: string }, socket: { remoteAddress?: string; remotePort?: number } | undefined) => {
      refused.note(e, socket?.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort ?? ''}`);
    });
  }
  return refused;
}
