// The RecordService over gRPC, with health and server reflection (the shared bootstrap).
import type { Server } from '@grpc/grpc-js';
import { claimsCheckedCounter, createLogger, createMetricsRegistry, type Logger, startGrpcServer, startMetricsServer, type Transport } from '@paxos/grpc-kit';
import type { SourceCache } from '@paxos/lmfdb-client';
import { RecordServiceService, type SourceStatus } from '@paxos/proto';
import { createRecordServiceHandlers } from './record-service';

/** Requests to the RecordService are small (a source and a label, or a claim). */
const MAX_RECEIVE_BYTES = 64 * 1024;

export interface RunningRecordServer {
  server: Server;
  port: number;
  /** Where Prometheus scrapes it (absent when started without metrics). */
  metricsPort?: number;
  stop(): Promise<void>;
}

export async function startRecordServer(
  caches: ReadonlyMap<number, SourceCache>,
  statuses: readonly SourceStatus[],
  host: string,
  port: number,
  transport: Transport,
  logger: Logger = createLogger('lmfdb-ingest'),
  metricsPort?: number,
): Promise<RunningRecordServer> {
  const registry = createMetricsRegistry('lmfdb-ingest');
  const onVerdict = claimsCheckedCounter(registry);
  const running = await startGrpcServer({
    host,
    port,
    maxReceiveBytes: MAX_RECEIVE_BYTES,
    transport,
    logger,
    metrics: registry,
    services: [{ name: 'lmfdb.v1.RecordService', definition: RecordServiceService, implementation: createRecordServiceHandlers(caches, statuses, onVerdict), readMethods: 'all' }],
  });
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (metricsPort !== undefined) {
    try {
      metrics = await startMetricsServer(host, metricsPort, registry, logger);
    } catch (e) {
      await running.shutdown(1000);
      throw e;
    }
  }
  return {
    server: running.server,
    port: running.port,
    ...(metrics ? { metricsPort: metrics.port } : {}),
    stop: async () => {
      await metrics?.close();
      await running.shutdown(3000);
    },
  };
}
