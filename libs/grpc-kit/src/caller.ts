// Who a call comes from, for the bounds a server keeps per client, and whether it still waits.
import { deadlineLeft } from './clock';
import { type PeerAuth, peerCertificateName, peerIdentity } from './tls';

/**
 * Who a call comes from, for per-client bounds: its certificate's name (one of ours, or any other
 * a certificate of the CA states); without one, its connection (address and port: on plaintext
 * every local process shares an address, so one client at its bound would hold back the
 * network's own calls) or, asked for, its host.
 */
export function callerKey(call: { getAuthContext(): PeerAuth | null; getPeer(): string }, without: 'connection' | 'host' = 'connection'): string {
  const identity = peerIdentity(call);
  if (identity) return identity.name;
  const named = peerCertificateName(call);
  if (named !== undefined) return named;
  const peer = call.getPeer();
  if (without === 'connection') return peer;
  const colon = peer.lastIndexOf(':');
  return colon > 0 ? peer.slice(0, colon) : peer;
}

/** A caller waiting for work done for it: who it is, and whether it left (cancelled, or past its deadline). */
export interface Caller {
  readonly key: string;
  gone(): boolean;
}

/** The caller of a server call. */
export function callerOf(call: { getAuthContext(): PeerAuth | null; getPeer(): string; getDeadline(): Date | number; readonly cancelled: boolean }): Caller {
  const left = deadlineLeft(call);
  return { key: callerKey(call), gone: () => call.cancelled || left() < 0 };
}
