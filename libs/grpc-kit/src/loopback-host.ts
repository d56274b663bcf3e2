// An HTTP port that listens on a loopback address answers only requests whose Host header names
// loopback: a page of another site whose name resolves to 127.0.0.1 (DNS rebinding) is sent by
// the browser with its own name as Host, and so cannot read what the port serves (the status
// page's view of the network, a node's metrics). On any other address the port is reachable by
// its address anyway, and every Host is answered.

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Whether `host` (an address or name a server listens on) is one of the loopback names. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_NAMES.has(host.toLowerCase());

/** Whether a request with this Host header is answered by a server listening on `bindHost`. */
export function hostHeaderAllowed(bindHost: string, hostHeader: string | undefined): boolean {
  if (!isLoopbackHost(bindHost)) return true;
  if (!hostHeader) return false;
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : (hostHeader.split(':')[0] as string);
  return LOOPBACK_NAMES.has(name.toLowerCase());
}
