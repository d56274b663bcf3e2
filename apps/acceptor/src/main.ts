import { AcceptorCore, DEFAULT_LIMITS, formatBallot, Quorum } from '@paxos/consensus-core';
import {
  claimsCheckedCounter,
  ConfigError,
  createLogger,
  createMetricsRegistry,
  startMetricsServer,
  startupTransport,
  exitWithError,
  helpText,
  onShutdownSignal,
  startGrpcServer,
  workspaceVersion,
} from '@paxos/grpc-kit';
import { AcceptorNode, HistoryRetention, joinChosenHistory, KeptStateSnapshots, restoreAgreedState, StateApplier } from '@paxos/acceptor-node';
import { REGISTRY_DEFAULTS } from '@paxos/state-machine';
import { acceptorServices } from './acceptor-services';
import { ProposerAccess } from './proposer-access';
import { acceptorMetrics } from './acceptor-metrics';
import { acceptorCommand, type AcceptorConfig, resolveAcceptorConfig } from './config';
import { loadSourceHolder } from './source-holder';
import { installStateSnapshotHandler } from './snapshot-install';
import { AcceptorStorage, stateSnapshotFiles, stateSnapshotReadsToGive } from './storage';
import { historyReadPacer } from './history-read-pacer';
import { followAcceptorHealth } from './node-health';
import { storageFailure } from './status';

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
  const startedAtMs = performance.now();
  const logger = createLogger('acceptor', { node: config.id });
  const metricsRegistry = createMetricsRegistry(`acceptor-${config.id}`);
  const metrics = acceptorMetrics(metricsRegistry);
  const transport = await startupTransport('acceptor', config.transport, `acceptor-${config.id}`, { role: 'acceptor', id: config.id }, logger, "every port answers anyone and any client can forge a proposer's ballot");
  const access = new ProposerAccess(transport);
  const quorum = Quorum.majority(config.clusterSize);
  const source = await loadSourceHolder(config.lmfdbCacheDir, config.source, config.clusterSize, logger, claimsCheckedCounter(metricsRegistry));

  let opened: Awaited<ReturnType<typeof AcceptorStorage.open>>;
  try {
    opened = await AcceptorStorage.open({
      dataDir: config.dataDir,
      nodeId: config.id,
      clusterSize: config.clusterSize,
      logger,
      historySegmentBytes: config.historySegmentBytes,
      onSync: metrics.synced,
      ...(config.rejoin !== undefined ? { rejoin: config.rejoin } : {}),
    });
  } catch (e) {
    exitWithError('acceptor', e, 2);
  }
  const { storage, recovered } = opened;
  const core = new AcceptorCore({
    limits: { ...DEFAULT_LIMITS, valueBytesMax: config.maxValueBytes },
    validate: source.validate,
    ...(recovered.snapshot ? { restored: recovered.snapshot } : {}),
    ...(recovered.rejoin ? { rejoin: recovered.rejoin } : {}),
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
  const registry = REGISTRY_DEFAULTS;
  // The snapshot files as the node last saw them: restore, writes and GetStateSnapshot reads keep it
  // current, and Learn, OUT_OF_RANGE and retention read from it which snapshot this node can give.
  const snapshots = new KeptStateSnapshots(stateSnapshotFiles(config.dataDir), stateSnapshotReadsToGive(config.dataDir));
  const retention = new HistoryRetention(storage.history, config.historyRetainSlots, logger, snapshots);
  const applier = new StateApplier(storage.history, restoreAgreedState(snapshots, storage.history, registry, logger), logger, {
    store: snapshots,
    everySlots: config.stateSnapshotEverySlots,
    written: () => retention.snapshotWritten(),
  });
  let rejoining = core.rejoining;
  if (rejoining) {
    logger.warn(
      { catchUpTo: core.rejoinCatchUpTo, committedIndex: core.committedIndex, promised: formatBallot(core.promised) },
      'this acceptor lost its data and rejoined: it promises and votes again once it has learned every chosen slot below catchUpTo',
    );
  }
  node.onChosenPrefix((records) => {
    applier.appended(records);
    if (rejoining && !core.rejoining) {
      rejoining = false;
      logger.info({ committedIndex: core.committedIndex }, 'rejoin complete: this acceptor learned the chosen log up to its floor and votes again');
    }
  });
  metrics.attach({ node, applier, retention });
  applier.catchUp();
  const statusContext = { node, startedAtMs, version: workspaceVersion(), dataSource: source.status, appliedSlot: () => applier.appliedSlot, stateError: () => applier.failure, stateSnapshotSlot: () => snapshots.slotToGive };
  const stateContext = {
    snapshotSlot: () => snapshots.slotToGive,
    installStateSnapshot: installStateSnapshotHandler({ node, access, applier, registry, logger }),
    quorumCommittedIs: (index: bigint) => retention.quorumCommittedIs(index),
  };
  const clientReads = historyReadPacer();
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer({
      host: config.host,
      port: config.port,
      maxReceiveBytes: config.maxValueBytes + REQUEST_OVERHEAD_BYTES,
      transport,
      metrics: metricsRegistry,
      ...config.bounds,
      logger,
      services: acceptorServices({ node, applier, snapshots, statusContext, stateContext, source, access, clientReads, logger }),
    });
  } catch (e) {
    await storage.close();
    exitWithError('acceptor', e, 2);
  }
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    metricsServer = await startMetricsServer(config.host, config.metricsPort, metricsRegistry, logger);
  } catch (e) {
    await server.shutdown(0);
    await storage.close();
    exitWithError('acceptor', e, 2);
  }
  // Health follows what Status says: the node stores (votes), AcceptorService votes (not while it
  // rejoins), ReadService's state machine applies. Setting every service from the storage events
  // alone left ReadService SERVING while reads answered UNAVAILABLE, and AcceptorService SERVING
  // while a rejoining node voted for nothing.
  const health = followAcceptorHealth(server.health, () => ({ storageFailure: storageFailure(node), rejoining: core.rejoining, stateError: applier.failure }));
  onStorageFailure = () => health.update();
  onStorageRecovered = () => health.update();

  onShutdownSignal(logger, async (_signal, step) => {
    health.stop();
    step('state machine');
    await applier.stop();
    step('metrics server');
    await metricsServer.close();
    step('gRPC server');
    await server.shutdown(5000);
    step('pending writes');
    await node.drain();
    node.stop();
    step('storage');
    await storage.close();
  });
  logger.info(
    {
      port: server.port,
      metricsPort: metricsServer.port,
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
