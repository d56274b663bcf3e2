import { AcceptorCore, DEFAULT_LIMITS, Quorum } from '@paxos/consensus-core';
import {
  ConfigError,
  createLogger,
  exitWithError,
  helpText,
  onShutdownSignal,
  ServingStatus,
  startGrpcServer,
  workspaceVersion,
} from '@paxos/grpc-kit';
import { AcceptorServiceService, Consistency, ReadServiceService } from '@paxos/proto';
import { readService } from '@paxos/read-service';
import { decodeAcceptRequest } from '@paxos/wire';
import { AcceptorNode } from './acceptor-node';
import { acceptorService } from './acceptor-service';
import { acceptorCommand, type AcceptorConfig, resolveAcceptorConfig } from './config';
import { loadSourceHolder } from './source-holder';
import { restoreAgreedState } from './restore-state';
import { STATE_SNAPSHOT_EVERY_SLOTS, StateApplier } from './state-applier';
import { joinChosenHistory } from './join-history';
import { AcceptorStorage } from './storage';

/** The generated definition, with an Accept decoder that keeps each value's received bytes for storage. */
const acceptorServiceDefinition = {
  ...AcceptorServiceService,
  accept: { ...AcceptorServiceService.accept, requestDeserialize: decodeAcceptRequest },
} as const;

/** About how many bytes of values one ReadLog answer carries. */
const READ_LOG_BYTES_MAX = 4 * 1024 * 1024;

/** Bytes a request may carry beyond its value (ballot, ids, framing). */
const REQUEST_OVERHEAD_BYTES = 64 * 1024;

async function main(): Promise<void> {
  let config: AcceptorConfig | 'help';
  try {
    config = resolveAcceptorConfig(process.argv.slice(2));
  } catch (e) {
    exitWithError('acceptor', e, e instanceof ConfigError ? 2 : 1);
  }
  if (config === 'help') {
    process.stdout.write(helpText(acceptorCommand) + '\n');
    return;
  }
  const startedAtMs = Date.now();
  const logger = createLogger('acceptor', { node: config.id });
  const quorum = Quorum.majority(config.clusterSize);
  const source = await loadSourceHolder(config.lmfdbCacheDir, config.source, logger);

  let opened: Awaited<ReturnType<typeof AcceptorStorage.open>>;
  try {
    opened = await AcceptorStorage.open({ dataDir: config.dataDir, nodeId: config.id, logger });
  } catch (e) {
    exitWithError('acceptor', e, 2);
  }
  const { storage, recovered } = opened;
  const core = new AcceptorCore({
    limits: { ...DEFAULT_LIMITS, valueBytesMax: config.maxValueBytes },
    validate: source.validate,
    ...(recovered.snapshot ? { restored: recovered.snapshot } : {}),
  });
  for (const change of recovered.changes) core.apply(change);
  try {
    joinChosenHistory(core, storage.history, logger);
  } catch (e) {
    await storage.close();
    exitWithError('acceptor', e, 2);
  }

  let onStorageFailure: (error: string) => void = () => undefined;
  let onStorageRecovered: () => void = () => undefined;
  const node = new AcceptorNode(core, storage, {
    nodeId: config.id,
    quorum,
    proposerIds: config.proposerIds,
    checkpointEveryRecords: config.checkpointEveryRecords,
    logger,
    onStorageFailure: (error) => onStorageFailure(error),
    onStorageRecovered: () => onStorageRecovered(),
  });
  const state = restoreAgreedState(config.dataDir, storage.history, { clusterSize: config.clusterSize }, logger);
  const applier = new StateApplier(storage.history, state, logger, { dir: config.dataDir, everySlots: STATE_SNAPSHOT_EVERY_SLOTS });
  node.onChosenPrefix((records) => applier.appended(records));
  applier.catchUp();
  const statusContext = { node, startedAtMs, version: workspaceVersion(), dataSource: source.status, appliedSlot: () => state.appliedSlot };

  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer({
      host: config.host,
      port: config.port,
      maxReceiveBytes: config.maxValueBytes + REQUEST_OVERHEAD_BYTES,
      logger,
      services: [
        { name: 'paxos.v1.AcceptorService', definition: acceptorServiceDefinition, implementation: acceptorService(node, statusContext, logger) },
        {
          name: 'paxos.v1.ReadService',
          definition: ReadServiceService,
          implementation: readService({
            state,
            defaultConsistency: Consistency.CONSISTENCY_STALE,
            settle: () => applier.settle(),
            readLog: async (from, max) => storage.history.read(from, max, READ_LOG_BYTES_MAX),
          }),
        },
      ],
    });
  } catch (e) {
    await storage.close();
    exitWithError('acceptor', e, 2);
  }
  onStorageFailure = () => server.health.setAll(ServingStatus.NOT_SERVING);
  onStorageRecovered = () => server.health.setAll(ServingStatus.SERVING);

  onShutdownSignal(logger, async () => {
    await applier.stop();
    await server.shutdown(5000);
    await node.drain();
    await storage.close();
  });
  logger.info(
    {
      port: server.port,
      dataDir: config.dataDir,
      promised: `${core.promised.round}.${core.promised.proposerId}`,
      committedIndex: core.committedIndex.toString(),
      history: `${storage.history.firstSlot}..${storage.history.endSlot}`,
      quorum: `${quorum.q} of ${quorum.n}`,
      source: source.status().table || config.source,
      sourceLoaded: source.status().loaded,
    },
    'acceptor ready',
  );
}

void main().catch((e: unknown) => exitWithError('acceptor', e));
