import { Metadata } from '@grpc/grpc-js';
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

/** One grpc.health.v1 Check of the whole server (or of `service`), with a deadline: true only for SERVING. */
export async function isServing(address: string, deadlineMs: number, transport: Transport = INSECURE, service = ''): Promise<boolean> {
  return (await readHealth(address, deadlineMs, transport, service)).serving;
}
