// A node's certificate tried as its peers will take it: one TLS handshake with itself on loopback,
// each side verifying the other as grpc-js's do (OpenSSL's chain and purpose checks). loadTls
// checks what node:crypto can read; OpenSSL also refuses a keyUsage without digitalSignature, which
// node:crypto does not show, and such a node started and then failed every connection it made.
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { Transport } from './tls';

type TlsTransport = Extract<Transport, { kind: 'tls' }>;

/** What OpenSSL's verification codes mean for the holder of the certificate. */
const MEANING: Readonly<Record<string, string>> = {
  INVALID_PURPOSE: 'its keyUsage or extendedKeyUsage does not allow this use (a node needs keyUsage digitalSignature, extendedKeyUsage serverAuth and clientAuth)',
};

/**
 * Why peers would refuse `t`'s certificate in the handshake ("as a client: ..."), or undefined
 * when both sides took it, or when the handshake could not be tried within `deadlineMs` (the
 * start-up checks then stand alone; a node is not kept from starting by its own loopback).
 */
export function handshakeProblem(t: TlsTransport, deadlineMs = 5000): Promise<string | undefined> {
  const keys = { ca: t.ca, cert: t.cert, key: t.key };
  return new Promise((resolve) => {
    let client: TLSSocket | undefined;
    // What each side found of the other's certificate (null: taken), once its handshake ended.
    let serverSeen: string | null | undefined;
    let clientSeen: string | null | undefined;
    const finish = (problem: string | undefined) => {
      clearTimeout(timer);
      client?.destroy();
      server.close();
      resolve(problem);
    };
    const both = () => {
      if (serverSeen === undefined || clientSeen === undefined) return;
      const said = (use: string, code: string) => `as a ${use}: ${MEANING[code] ?? code}`;
      finish(clientSeen !== null ? said('server', clientSeen) : serverSeen !== null ? said('client', serverSeen) : undefined);
    };
    // Both sides verify but do not refuse, so each can say what it found.
    const server = createServer({ ...keys, requestCert: true, rejectUnauthorized: false }, (socket) => {
      serverSeen = socket.authorized ? null : String(socket.authorizationError);
      both();
    });
    server.on('tlsClientError', () => finish(undefined));
    server.on('error', () => finish(undefined));
    const timer = setTimeout(() => finish(undefined), deadlineMs);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return finish(undefined);
      // The host is not checked: which names a certificate holds depends on where it is deployed.
      client = connect({ ...keys, host: '127.0.0.1', port: address.port, servername: 'localhost', rejectUnauthorized: false, checkServerIdentity: () => undefined }, () => {
        clientSeen = client?.authorized ? null : String(client?.authorizationError);
        both();
      });
      client.on('error', () => finish(undefined));
    });
  });
}
