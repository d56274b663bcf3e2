// Places held per client host. A bound for everyone alone lets one host take every place: 64
// connections that never finish a request (each closed after a few seconds and opened again) kept
// every other scraper off a metrics port, and 128 TCP connections that never start TLS kept every
// client off a proposer. Counting by host leaves the others room. An IPv6 host is counted by its
// /64 prefix (one machine is given a whole /64 and may pick any address in it); an IPv4-mapped
// address counts as its IPv4 address. Behind one NAT or on loopback every client is one host. The
// HTTP ports count by host in `boundHttpConnections` (http-bounds.ts).
import { isIPv6 } from 'node:net';

/** The host a remote address counts toward: the IPv4 address, or an IPv6 address's /64 prefix. */
export function hostKeyOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head, tail] = address.toLowerCase().split('::') as [string, string | undefined];
  const front = head ? head.split(':') : [];
  const back = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** A whole HTTP/1.1 answer written on a raw socket (no request object to answer through): `message` as its plain-text body, then the connection closes. */
export function rawHttpAnswer(statusLine: string, message: string, headers: Readonly<Record<string, string | number>> = {}): string {
  const body = `${message}\n`;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${statusLine}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`;
}

/** A whole HTTP/1.1 503 answer, sent before any request was read, for a connection refused as it arrives. */
export function httpRefusal(message: string, retryAfterSeconds: number): string {
  return rawHttpAnswer('503 Service Unavailable', message, { 'retry-after': retryAfterSeconds });
}
