import { Metadata } from '@grpc/grpc-js';
import { connect, isIP } from 'node:net';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@paxos/proto';
import { describeGrpcError } from './grpc-errors';
import { channelCredentials, INSECURE, serverNameOptions, type Transport } from './tls';
import { deadlineAfter } from './clock';

/** What one health Check found: SERVING, or why not (the status it answered, or the call's error). */
export interface HealthReading {
  readonly serving: boolean;
  /** Absent when serving. */
  readonly reason?: string;
  /** The gRPC status the call failed with (absent when it was answered). */
  readonly code?: number;
}

/** One grpc.health.v1 Check, with a deadline: of the whole server, or of `service` (e.g. paxos.v1.ProposerService). */
export function readHealth(address: string, deadlineMs: number, transport: Transport = INSECURE, service = ''): Promise<HealthReading> {
  const client = new HealthClient(address, channelCredentials(transport), serverNameOptions(transport, address));
  return new Promise<HealthReading>((resolve) => {
    client.check({ service }, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => {
      client.close();
      if (err) resolve({ serving: false, reason: describeGrpcError(err), code: err.code });
      else if (res.status === HealthCheckResponse_ServingStatus.SERVING) resolve({ serving: true });
      else resolve({ serving: false, reason: `health answers ${HealthCheckResponse_ServingStatus[res.status] ?? res.status}` });
    });
  });
}

/**
 * One grpc.health.v1 Check of the whole server (or of `service`), with a deadline: true only for
 * SERVING. A port nothing listens on yet is found with a bare TCP connect first: launch and the
 * test clusters ask every starting node several times a second, and each Check of a port that
 * refuses costs a grpc-js channel (about 1.2 ms of CPU against 0.2 ms), a quarter of a core taken
 * from 23 starting nodes on two cores.
 */
export async function isServing(address: string, deadlineMs: number, transport: Transport = INSECURE, service = ''): Promise<boolean> {
  if ((await tcpAnswer(address, deadlineMs)) === 'refused') return false;
  return (await readHealth(address, deadlineMs, transport, service)).serving;
}

/**
 * Host and port of "ip:port" or "[v6]:port"; undefined for anything else: a name (the gRPC
 * resolver tries each of its addresses, one refused connect would not say the node is down).
 */
function hostAndPort(address: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:/[\]]+):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  return m && port > 0 && port < 65536 && isIP(m[1] as string) !== 0 ? { host: m[1] as string, port } : undefined;
}

/**
 * Whether a TCP connection to `address` is refused (nothing listens), within `deadlineMs`; 'maybe'
 * when it connects, times out, fails otherwise, or the address is not host:port: the Check decides.
 */
export function tcpAnswer(address: string, deadlineMs: number): Promise<'refused' | 'maybe'> {
  const at = hostAndPort(address);
  if (at === undefined) return Promise.resolve('maybe');
  return new Promise((resolve) => {
    const socket = connect({ host: at.host, port: at.port });
    const done = (answer: 'refused' | 'maybe') => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done('maybe'), Math.max(1, deadlineMs));
    socket.once('connect', () => done('maybe'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'maybe'));
  });
}
