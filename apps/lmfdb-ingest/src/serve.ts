// The RecordService over gRPC, with health and server reflection (the shared bootstrap).
import type { Server } from '@grpc/grpc-js';
import { createLogger, type Logger, startGrpcServer, type Transport } from '@paxos/grpc-kit';
import type { SourceCache } from '@paxos/lmfdb-client';
import { RecordServiceService, type SourceStatus } from '@paxos/proto';
import { createRecordServiceHandlers } from './record-service';

/** Requests to the RecordService are small (a source and a label, or a claim). */
const MAX_RECEIVE_BYTES = 64 * 1024;

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
  transport: Transport,
  logger: Logger = createLogger('lmfdb-ingest'),
): Promise<RunningRecordServer> {
  const running = await startGrpcServer({
    host,
    port,
    maxReceiveBytes: MAX_RECEIVE_BYTES,
    transport,
    logger,
    services: [{ name: 'lmfdb.v1.RecordService', definition: RecordServiceService, implementation: createRecordServiceHandlers(caches, statuses) }],
  });
  return { server: running.server, port: running.port, stop: () => running.shutdown(3000) };
}
