import { Metadata } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@paxos/proto';
import { channelCredentials, INSECURE, type Transport } from './tls';

/** One grpc.health.v1 Check of the whole server, with a deadline: true only for SERVING. */
export function isServing(address: string, deadlineMs: number, transport: Transport = INSECURE): Promise<boolean> {
  const client = new HealthClient(address, channelCredentials(transport));
  return new Promise<boolean>((resolve) => {
    client.check({ service: '' }, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      resolve(!err && res.status === HealthCheckResponse_ServingStatus.SERVING);
    });
  });
}
