// The certificate a running node presents in the TLS handshake: what its peers check, which may be
// older than the files in the network's TLS folder (a node reads its certificate when it starts).
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { issuedBy, serverNameOptions, type Transport } from './tls';

/** What a node presents: its certificate's name and last valid moment. */
export interface PresentedCertificate {
  readonly name: string;
  readonly notAfter: Date;
}

/**
 * Shakes hands with `address` ("host:port") as a client of the network (`transport`), reads the
 * certificate the server presents and closes; undefined on plaintext, when nothing answers the
 * handshake within `deadlineMs`, or when the server presents no certificate of the network (one
 * of the network's that expired is still read: that is what the caller wants to know).
 */
export function presentedCertificate(address: string, transport: Transport, deadlineMs: number): Promise<PresentedCertificate | undefined> {
  if (transport.kind !== 'tls') return Promise.resolve(undefined);
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  const servername = serverNameOptions(transport, address)['grpc.ssl_target_name_override'] as string | undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = (found: PresentedCertificate | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(found);
    };
    // Verified here rather than by the handshake, which would refuse an expired certificate
    // before it could be read: one of the network's CA that expired is still reported.
    const socket = connect({ host, port, ca: transport.ca, cert: transport.cert, key: transport.key, ALPNProtocols: ['h2'], rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) }, () => {
      const cert = socket.getPeerCertificate();
      if (!socket.authorized && !expiredOfTheNetwork(cert, String(socket.authorizationError), transport.ca, servername ?? host)) return finish(undefined);
      const cn = cert?.subject?.CN;
      const notAfter = cert?.valid_to ? new Date(cert.valid_to) : undefined;
      finish(typeof cn === 'string' && notAfter !== undefined && !Number.isNaN(notAfter.getTime()) ? { name: cn, notAfter } : undefined);
    });
    socket.on('error', () => finish(undefined));
    const timer = setTimeout(() => finish(undefined), deadlineMs);
  });
}

/**
 * Whether a certificate the handshake did not authorize is the network's and only expired. The
 * handshake's error names the last check that failed, and the expiry is checked after the
 * issuer: a certificate of another CA that expired, or one of the network's for another host
 * (the host is not checked once an error was found), also shows CERT_HAS_EXPIRED. Both are
 * checked here.
 */
function expiredOfTheNetwork(cert: PeerCertificate | undefined, error: string, ca: Buffer | string, host: string): boolean {
  if (!/CERT_HAS_EXPIRED/.test(error) || !cert?.raw) return false;
  try {
    if (!issuedBy(new X509Certificate(cert.raw), new X509Certificate(ca))) return false;
  } catch {
    return false;
  }
  return checkServerIdentity(host, cert) === undefined;
}
