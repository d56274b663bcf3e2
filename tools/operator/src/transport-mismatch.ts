// A client tool that dials a TLS port in plaintext (or the reverse) got only grpc-js's "Failed to
// connect" or OpenSSL's "wrong version number". When such a call fails, the port is asked what it
// speaks, in two exchanges whose answers cannot be mistaken: a TLS ClientHello (a TLS server
// answers with its ServerHello, or an alert, both TLS records) and, when that is not TLS, the
// HTTP/2 connection preface (a plaintext gRPC server answers with a SETTINGS frame).
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { status } from '@grpc/grpc-js';
import { notConnected, type Transport, unresolvedAddress } from '@paxos/grpc-kit';

export type PortProtocol = 'tls' | 'plaintext-http2' | 'unknown';

/** How long each of the two exchanges may take. */
const PROBE_MS = 1500;

const hostPort = (address: string): { host: string; port: number } => {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
};

/** OpenSSL's words for a peer that answered a ClientHello with something that is not TLS. */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request|record layer failure/i;

/** 'tls' when the port completes a TLS handshake or answers it with a TLS alert; 'not-tls' when its answer is no TLS record; undefined when it says nothing in time. */
function speaksTls(address: string): Promise<'tls' | 'not-tls' | undefined> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (r: 'tls' | 'not-tls' | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), PROBE_MS);
    socket.once('secureConnect', () => done('tls'));
    socket.once('error', (e: Error) => done(NOT_TLS.test(e.message) ? 'not-tls' : /alert|certificate/i.test(e.message) ? 'tls' : undefined));
  });
}

/** The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 3.4). */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** Whether the port answers the HTTP/2 preface in plaintext with a SETTINGS frame (type 4), as a plaintext gRPC server does. */
function speaksPlaintextHttp2(address: string): Promise<boolean> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const socket: Socket = tcpConnect({ host, port });
    let got = Buffer.alloc(0);
    const done = (r: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(false), PROBE_MS);
    socket.once('connect', () => socket.write(H2_PREFACE));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 9) done(got[3] === 4);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** What the port at address speaks: TLS, plaintext HTTP/2 (gRPC without TLS), or not known. */
export async function portProtocol(address: string): Promise<PortProtocol> {
  const tls = await speaksTls(address);
  if (tls === 'tls') return 'tls';
  if (tls === 'not-tls' && (await speaksPlaintextHttp2(address))) return 'plaintext-http2';
  return 'unknown';
}

/**
 * What to do when a call with `transport` found `protocol` at address (undefined when they agree
 * or nothing is known). `dir` is the network dir whose network.json chose the transport.
 */
export function mismatchAdvice(address: string, transport: Transport, protocol: PortProtocol, dir?: string): string | undefined {
  const layout = dir === undefined ? "the network dir's network.json" : `${dir}/network.json`;
  if (transport.kind === 'tls' && protocol === 'plaintext-http2') {
    return `${address} speaks gRPC without TLS, and this tool dialled it with TLS because ${layout} describes a network with mutual TLS: ` +
      `the node there was started with --insecure (another network, launched with --insecure, on these ports?); give --dir (or PAXOS_NETWORK_DIR) the dir of the network that runs there (grpcurl reaches it with -plaintext)`;
  }
  if (transport.kind === 'insecure' && protocol === 'tls') {
    return `${address} speaks TLS, and this tool dialled it without TLS because ${layout} describes a network launched with --insecure: ` +
      `a network with mutual TLS runs on these ports; give --dir (or PAXOS_NETWORK_DIR) the dir of the network that runs there, whose tls/ holds the client-cli certificate`;
  }
  return undefined;
}

/**
 * For a call that could not connect (not for a refused connection: nothing listens there), what
 * the port speaks when that is not what the tool dialled, said as advice; undefined otherwise.
 */
export async function transportMismatch(code: status, details: string, address: string, transport: Transport, dir?: string): Promise<string | undefined> {
  if (!notConnected(code, details) || /ECONNREFUSED/.test(details) || unresolvedAddress(code, details) !== undefined) return undefined;
  return mismatchAdvice(address, transport, await portProtocol(address), dir);
}
