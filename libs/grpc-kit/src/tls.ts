// Transport security of every gRPC port: mutual TLS with certificates from the network's own CA,
// or plaintext only when asked for by name (--insecure). A certificate names its holder in its
// common name: "acceptor-<id>", "proposer-<id>" or "client-<name>" (pki.ts writes them so), which
// is how an acceptor knows which proposer sent a ballot.
import { type ChannelCredentials, type ChannelOptions, credentials, ServerCredentials } from '@grpc/grpc-js';
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { join } from 'node:path';
import { ConfigError } from './config';
import { caFileProblem, certificateFileProblem, keyFileProblem } from './pem-files';

export type NodeRole = 'acceptor' | 'proposer' | 'client';

/** Who holds a certificate: its role, and its id (acceptors and proposers) or name (clients). */
export interface NodeIdentity {
  readonly role: NodeRole;
  readonly id?: number;
  readonly name: string;
}

export type Transport =
  | { readonly kind: 'insecure' }
  | { readonly kind: 'tls'; readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer; readonly identity: NodeIdentity; readonly notAfter: Date };

export const INSECURE: Transport = { kind: 'insecure' };

/** Where a certificate, its key and the CA are. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The files of `name` ("acceptor-3", "proposer-1", "client") in a network's TLS folder. */
export function tlsFilesIn(dir: string, name: string): TlsFiles {
  return { ca: join(dir, 'ca.crt'), cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

// An id in its one spelling (no leading zero): "proposer-01" is no name of ours, not a second name of proposer 1.
const CN_RE = /^(acceptor|proposer)-(0|[1-9]\d{0,8})$|^client-([A-Za-z0-9._-]{1,64})$/;

/** The identity a certificate's common name states; undefined when it states none of ours. */
export function identityOfName(cn: string): NodeIdentity | undefined {
  const m = CN_RE.exec(cn);
  if (!m) return undefined;
  if (m[3] !== undefined) return { role: 'client', name: cn };
  return { role: m[1] as 'acceptor' | 'proposer', id: Number(m[2]), name: cn };
}

/** A TLS file's largest size: a certificate chain or key is a few KiB. */
const TLS_FILE_BYTES_MAX = 1024 * 1024;

/**
 * A TLS file's bytes, or why it cannot be one: it is opened without waiting (a FIFO with no writer
 * blocked the start for good) and read only when it is a regular file of at most a MiB (a path to
 * /dev/zero grew the process's memory until it died).
 */
function readTlsFile(path: string): Buffer | string {
  const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 'is not a regular file (a device, pipe or directory): give the PEM file itself';
    if (st.size > TLS_FILE_BYTES_MAX) return `is ${st.size} bytes, more than any certificate or key (at most ${TLS_FILE_BYTES_MAX}): give the PEM file itself`;
    const buf = Buffer.alloc(st.size);
    let done = 0;
    // Bounded: each turn reads at least one byte, or the file ended early.
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and checks a node's certificate: issued by the CA, valid now, and for the expected role
 * (and id). Every failure is a ConfigError a person can act on.
 */
export function loadTls(files: TlsFiles, expected?: { readonly role: NodeRole; readonly id?: number }): Transport {
  const read = (what: string, path: string): Buffer => {
    if (!existsSync(path)) throw new ConfigError(`the ${what} ${path} does not exist: create the network's certificates with npm run launch, give --tls-ca/--tls-cert/--tls-key, or run with --insecure`);
    let data: Buffer | string;
    try {
      data = readTlsFile(path);
    } catch (e) {
      throw new ConfigError(`cannot read the ${what} ${path}: ${(e as Error).message}`);
    }
    if (typeof data === 'string') throw new ConfigError(`the ${what} ${path} ${data}`);
    return data;
  };
  const ca = read('CA certificate', files.ca);
  const cert = read('certificate', files.cert);
  const key = read('private key', files.key);
  const shape = ([['CA certificate', files.ca, caFileProblem(ca)], ['certificate', files.cert, certificateFileProblem(cert)], ['private key', files.key, keyFileProblem(key)]] as const).find(([, , p]) => p !== undefined);
  if (shape) throw new ConfigError(`the ${shape[0]} ${shape[1]} ${shape[2]}`);
  const parse = (what: string, path: string, data: Buffer): X509Certificate => {
    try {
      return new X509Certificate(data);
    } catch (e) {
      throw new ConfigError(`the ${what} ${path} is not a readable PEM certificate: ${(e as Error).message}`);
    }
  };
  const caCert = parse('CA certificate', files.ca, ca);
  const own = parse('certificate', files.cert, cert);
  if (!caCert.ca) throw new ConfigError(`${files.ca} is not a CA certificate (no basicConstraints CA:TRUE): give the network's CA certificate`);
  if (!issuedBy(own, caCert)) {
    throw new ConfigError(`${files.cert} was not issued by the CA in ${files.ca} (it names issuer "${oneLine(own.issuer)}"; a certificate of this network is signed by its CA directly, not through an intermediate)`);
  }
  // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
  const now = Date.now();
  const notAfter = new Date(own.validTo);
  if (Date.parse(own.validFrom) > now) throw new ConfigError(`${files.cert} is not valid before ${own.validFrom}: check this machine's clock, or issue it again`);
  if (Date.parse(caCert.validFrom) > now) throw new ConfigError(`the CA certificate ${files.ca} is not valid before ${caCert.validFrom}: check this machine's clock`);
  if (notAfter.getTime() <= now) throw new ConfigError(`${files.cert} expired on ${own.validTo}: issue a new one (npm run launch renews the network's certificates)`);
  if (Date.parse(caCert.validTo) <= now) throw new ConfigError(`the CA certificate ${files.ca} expired on ${caCert.validTo}`);
  const cns = [...own.subject.matchAll(/(?:^|\n)CN=([^\n]+)/g)].map((m) => m[1] as string);
  if (cns.length !== 1) throw new ConfigError(`${files.cert} names ${cns.length} holders (CN); a certificate of this network names exactly one`);
  const cn = cns[0] as string;
  if (!keyMatches(key, own)) throw new ConfigError(`${files.key} does not go with ${files.cert}: it is not that certificate's private key`);
  const identity = identityOfName(cn);
  if (identity === undefined) throw new ConfigError(`${files.cert} names "${cn}", not acceptor-<id>, proposer-<id> or client-<name>`);
  if (expected && (identity.role !== expected.role || (expected.id !== undefined && identity.id !== expected.id))) {
    const want = expected.role === 'client' ? 'a client certificate' : `${expected.role}-${expected.id ?? '<id>'}`;
    throw new ConfigError(`${files.cert} is the certificate of ${identity.name}, not ${want}: give this node its own certificate`);
  }
  // Peers check these in the handshake (OpenSSL's purposes): a certificate that fails them would
  // start, and then every connection to or from the node would be refused without a word here.
  const misuse = usageProblem(own, identity.role);
  if (misuse) throw new ConfigError(`${files.cert} ${misuse}: issue it again (npm run launch issues certificates that peers take)`);
  return { kind: 'tls', ca, cert, key, identity, notAfter };
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/**
 * Why `cert` cannot serve a node of `role` in TLS, or undefined: a CA certificate is not a node's
 * (it could sign any name), and an extended key usage must allow what the role does (every role
 * connects as a client; acceptors and proposers also serve).
 */
function usageProblem(cert: X509Certificate, role: NodeRole): string | undefined {
  if (cert.ca) return 'is a CA certificate (basicConstraints CA:TRUE), not a node\'s';
  const uses = cert.keyUsage as string[] | undefined;
  if (uses === undefined || uses.includes(ANY_EXTENDED_KEY_USAGE)) return undefined;
  const needed = role === 'client' ? [CLIENT_AUTH] : [SERVER_AUTH, CLIENT_AUTH];
  const missing = needed.filter((u) => !uses.includes(u)).map((u) => (u === SERVER_AUTH ? 'serverAuth' : 'clientAuth'));
  return missing.length === 0 ? undefined : `has an extendedKeyUsage without ${missing.join(' and ')}, which a ${role} needs`;
}

/** A certificate's distinguished name on one line. */
const oneLine = (dn: string): string => dn.split('\n').join(', ');

/** True when `ca` issued `cert` directly: named as its issuer, and its signature checks with the CA's key. */
export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/**
 * True when `key` (PEM) is the private key of `cert`: its public key is the certificate's, and what
 * it signs verifies with the certificate. An EC key file carries its public key beside the private
 * scalar, and the public key read from it is that copy: a damaged scalar passed the first test
 * alone, and the node then started and failed every handshake ("bad signature").
 */
export function keyMatches(key: Buffer, cert: X509Certificate): boolean {
  try {
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    const privateKey = createPrivateKey(key);
    if (!spki(createPublicKey(privateKey)).equals(spki(cert.publicKey))) return false;
    // Ed25519 and Ed448 take no digest; RSA and EC sign a SHA-256 digest.
    const digest = privateKey.asymmetricKeyType === 'ed25519' || privateKey.asymmetricKeyType === 'ed448' ? null : 'sha256';
    const probe = Buffer.from('paxos-lmfdb key check');
    return verify(digest, probe, cert.publicKey, sign(digest, probe, privateKey));
  } catch {
    return false;
  }
}

/** Server side: TLS that requires a client certificate from the same CA, or plaintext. */
export function serverCredentials(t: Transport): ServerCredentials {
  if (t.kind === 'insecure') return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(t.ca, [{ private_key: t.key, cert_chain: t.cert }], true);
}

/**
 * Client side: TLS presenting the node's certificate and trusting only the network's CA, or
 * plaintext. With `peer` ("acceptor-3"), the server must present that very certificate (another
 * certificate of the network at the same address is refused); without, its address is checked
 * against its certificate as usual.
 */
export function channelCredentials(t: Transport, peer?: string): ChannelCredentials {
  if (t.kind === 'insecure') return credentials.createInsecure();
  if (peer === undefined) {
    // A node's certificate, at the address asked for: a client certificate of the network names
    // localhost too, and its holder could otherwise serve as a stopped node on that node's port.
    return credentials.createSsl(t.ca, t.key, t.cert, {
      checkServerIdentity: (host, cert) => {
        const cn = cert.subject?.CN;
        const identity = typeof cn === 'string' ? identityOfName(cn) : undefined;
        if (identity === undefined || identity.role === 'client') return new Error(`the server presents ${typeof cn === 'string' ? cn : 'no single name'}, not the certificate of an acceptor or a proposer`);
        const problem = peerCertificateProblem(cert as DetailedCertificate);
        if (problem !== undefined) return new Error(`the server presents ${problem}: no certificate of a node of this network`);
        return checkServerIdentity(host, cert);
      },
    });
  }
  return credentials.createSsl(t.ca, t.key, t.cert, {
    checkServerIdentity: (_host, cert) => {
      const cn = cert.subject?.CN;
      if (cn !== peer) return new Error(`the server presents ${typeof cn === 'string' ? cn : 'no single name'}, not ${peer}`);
      // node:tls hands the certificate with its issuers (getPeerCertificate(true)).
      const problem = peerCertificateProblem(cert as DetailedCertificate);
      return problem === undefined ? undefined : new Error(`the server presents ${problem}: no certificate of a node of this network`);
    },
  });
}

/** The host of "host:port" or "[v6]:port". */
const hostOf = (address: string): string => {
  const m = /^\[([^\]]*)\](?::\d*)?$/.exec(address);
  if (m) return m[1] ?? '';
  const colon = address.lastIndexOf(':');
  return colon > 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
};

/**
 * Channel options for a client of `address` with channelCredentials(t, peer): the TLS server name
 * it sends. grpc-js sends the target's host, and Node warns (DEP0123) on every process's first
 * connection to an IP address, which a TLS server name may not be (RFC 6066). With `peer`, its
 * name (the certificate is checked against it, not the host); for a loopback address, "localhost",
 * which every certificate of ours names beside 127.0.0.1 and ::1 (only those two addresses are
 * taken for it, so the check stays as strict).
 * Another IP address keeps the default (the warning, and the check against that address).
 */
export function serverNameOptions(t: Transport, address: string, peer?: string): ChannelOptions {
  if (t.kind === 'insecure') return {};
  if (peer !== undefined) return { 'grpc.ssl_target_name_override': peer };
  const host = hostOf(address);
  return host === '127.0.0.1' || (isIP(host) === 6 && /^(0*:)*:?0*1$/.test(host)) ? { 'grpc.ssl_target_name_override': 'localhost' } : {};
}

/** What grpc-js tells of a call's peer (its AuthContext, which the package does not export). */
export interface PeerAuth {
  readonly sslPeerCertificate?: { readonly subject?: { readonly CN?: string | string[] } };
}

/** A peer's certificate as node:tls gives it (getPeerCertificate(true): with its issuers). */
export interface DetailedCertificate {
  readonly subject?: { readonly CN?: string | string[] };
  readonly ca?: boolean;
  readonly fingerprint256?: string;
  readonly issuerCertificate?: DetailedCertificate;
}

/** A certificate's common name for a message: printable, and said to be absent or several. */
function shownName(cert: DetailedCertificate): string {
  const cn = cert.subject?.CN;
  if (cn === undefined) return 'a certificate with no common name';
  const text = (Array.isArray(cn) ? cn.join(', ') : cn).replace(/[^ -~]/g, '?').slice(0, 80);
  return `the certificate "${text}"`;
}

/**
 * What makes a certificate the TLS handshake verified speak for no one of the network (the
 * certificate and why, for a message), or undefined. The handshake checks only that its chain ends at the network's CA, so it took a
 * CA certificate (one that can sign any name) and a certificate issued through an intermediate
 * CA: the holder of any CA:TRUE certificate the CA signed, a client's among them, could issue
 * itself proposer-0 and vote as that proposer. A node's own certificate must be signed by the CA
 * directly and be no CA (loadTls); a peer's is held to the same. `cert` must carry its issuers
 * (getPeerCertificate(true)); without them only the CA flag is checked.
 */
export function peerCertificateProblem(cert: DetailedCertificate): string | undefined {
  if (cert.ca === true) {
    return `${shownName(cert)}, a CA certificate (basicConstraints CA:TRUE), which could sign any name`;
  }
  const issuer = cert.issuerCertificate;
  // The network's CA signs itself: its own issuer is itself. Any other issuer is an intermediate.
  if (issuer !== undefined && issuer !== null && issuer.issuerCertificate !== undefined && issuer.issuerCertificate.fingerprint256 !== issuer.fingerprint256) {
    return `${shownName(cert)}, issued by ${shownName(issuer).replace(/^the certificate /, '')}, an intermediate CA, not by the network's CA directly`;
  }
  return undefined;
}

/** What a server makes of a connection's certificate: who it names, or why it names no one. */
export interface PeerStanding {
  readonly identity: NodeIdentity | undefined;
  /** Why the certificate speaks for no one of the network (every call on it is then refused UNAUTHENTICATED). */
  readonly refusal: string | undefined;
  /** What per-client bounds count the peer by: the common name it states, ours or not (undefined: no certificate). */
  readonly name: string | undefined;
}

const standingOfSocket = new WeakMap<object, PeerStanding>();

/**
 * The standing of a TLS connection's peer certificate, read once per socket (the raw socket and
 * the HTTP/2 session's view of it are asked alike). No identity while the handshake has not
 * ended, or for a socket already gone.
 */
export function peerStanding(socket: { getPeerCertificate(detailed: true): unknown }): PeerStanding {
  const known = standingOfSocket.get(socket);
  if (known !== undefined) return known;
  let cert: DetailedCertificate | undefined;
  try {
    cert = socket.getPeerCertificate(true) as DetailedCertificate | undefined;
  } catch {
    return { identity: undefined, refusal: undefined, name: undefined };
  }
  // An empty object: no certificate (yet).
  if (cert === undefined || cert === null || cert.fingerprint256 === undefined) return { identity: undefined, refusal: undefined, name: undefined };
  const problem = peerCertificateProblem(cert);
  const refusal = problem === undefined ? undefined : `this connection presents ${problem}: no certificate but one the network's CA signed itself, with CA:FALSE, is taken from a peer (npm run launch issues them; README, "A service of your own", says how to issue one)`;
  const cn = cert.subject?.CN;
  // A refused certificate is counted apart from the holder of the name it states.
  const standing = { identity: refusal === undefined && typeof cn === 'string' ? identityOfName(cn) : undefined, refusal, name: refusal === undefined ? String(cn) : `${String(cn)} (refused)` };
  standingOfSocket.set(socket, standing);
  return standing;
}

/** True when `socket` can show its peer's certificate (a TLS socket, or a session's view of one). */
const isTlsSocket = (socket: object): socket is { getPeerCertificate(detailed: true): unknown } =>
  typeof (socket as { getPeerCertificate?: unknown }).getPeerCertificate === 'function';

/**
 * The identity of the peer of a call (its TLS certificate); undefined on plaintext, an unknown
 * name, a certificate that speaks for no one (peerCertificateProblem), or a connection already
 * gone. Read once per connection: grpc-js's AuthContext parses the peer's whole certificate into
 * an object on every ask (about a tenth of a proposer's CPU at C=256 when every call asked two or
 * three times), and a connection's certificate does not change.
 */
export function peerIdentity(call: { getAuthContext(): PeerAuth | null }): NodeIdentity | undefined {
  const socket = socketOfCall(call);
  if (socket !== undefined && isTlsSocket(socket)) return peerStanding(socket).identity;
  const known = socket ? identityOfSocket.get(socket) : undefined;
  if (known !== undefined) return known === null ? undefined : known;
  let cn: unknown;
  try {
    cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  } catch {
    // grpc-js reads the certificate of a socket that may be gone (then it throws): no identity.
    return undefined;
  }
  const identity = typeof cn === 'string' ? identityOfName(cn) : undefined;
  if (socket) identityOfSocket.set(socket, identity ?? null);
  return identity;
}

/**
 * The name per-client bounds count a call's peer by when it presents a certificate (undefined on
 * plaintext): its identity's, or for a certificate the CA signed with a name not of ours
 * ("billing", several common names, none), that name as it stands, so that such a client is held
 * to one client's bounds however many connections it opens (connection-bounds counts it so too).
 */
export function peerCertificateName(call: { getAuthContext(): PeerAuth | null }): string | undefined {
  const socket = socketOfCall(call);
  if (socket !== undefined && isTlsSocket(socket)) return peerStanding(socket).name;
  let cert: PeerAuth['sslPeerCertificate'];
  try {
    cert = call.getAuthContext()?.sslPeerCertificate;
  } catch {
    return undefined;
  }
  return cert?.subject === undefined ? undefined : String(cert.subject.CN);
}

/** Each plaintext connection's peer identity (null: none), once read. */
const identityOfSocket = new WeakMap<object, NodeIdentity | null>();

/**
 * The socket under a server call, found through grpc-js's private fields (1.14: a handler's call
 * holds its intercepting call in `call`, each interceptor the next in `nextCall`, the innermost
 * the HTTP/2 stream); undefined when a later version keeps them elsewhere, and then the
 * identity is read from the AuthContext on every ask, as before.
 */
function socketOfCall(call: object): object | undefined {
  let c = call as { stream?: { session?: { socket?: unknown } }; nextCall?: unknown; call?: unknown } | undefined;
  for (let depth = 0; depth < 16 && c !== null && typeof c === 'object'; depth++) {
    const socket = c.stream?.session?.socket;
    if (socket !== null && typeof socket === 'object') return socket;
    c = (c.nextCall ?? c.call) as typeof c;
  }
  return undefined;
}
