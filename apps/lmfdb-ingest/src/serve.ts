// A plain gRPC server for RecordService (reflection/health come with the shared server bootstrap).
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { SourceCache } from '@paxos/lmfdb-client';
import { RecordServiceService, type SourceStatus } from '@paxos/proto';
import { createRecordServiceHandlers } from './record-service';

export interface RunningRecordServer {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

export async function startRecordServer(
  caches: ReadonlyMap<number, SourceCache>,
  statuses: readonly SourceStatus[],
  host: string,
  port: number,
): Promise<RunningRecordServer> {
  const server = new Server();
  server.addService(RecordServiceService, createRecordServiceHandlers(caches, statuses));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port: bound,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
