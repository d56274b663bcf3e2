import { randomBytes } from 'node:crypto';
import { SeededRandom } from '@paxos/consensus-core';
import { answerBudgetFor, claimsCheckedCounter, ConfigError, createLogger, createMetricsRegistry, exitWithError, helpText, onShutdownSignal, startGrpcServer, startMetricsServer, startupTransport } from '@paxos/grpc-kit';
import { loadSources } from '@paxos/lmfdb-client';
import { Consistency, ProposerServiceService, ReadServiceService } from '@paxos/proto';
import { READ_LOG_VALUE_BYTES_MAX, readService } from '@paxos/read-service';
import { GrpcAcceptorLink } from './grpc-acceptor-link';
import { type ProposerConfig, proposerCommand, resolveProposerConfig } from './config';
import { assembleProposer } from './proposer-assembly';
import { proposerService } from './proposer-service';
import { proposerMetrics } from './proposer-metrics';
import { learnedIdTaken, ValueChecker } from './value-check';
import { markCannotChoose, markLearned, markLearning } from './proposer-health';

/** Bytes an accept may carry beyond its value (ballot, slot, batch framing). */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;
const BULK_MESSAGE_BYTES_MIN = 4 * 1024 * 1024;
/** How long a linearizable read may wait for its barrier (leadership confirmed, slots applied) when its client set no deadline; at most the _MAX. */
const READ_BARRIER_DEADLINE_MS = 5000;
const READ_BARRIER_DEADLINE_MS_MAX = 30_000;
/** Largest promise the proposer reads from an acceptor. */
const PROMISE_BYTES_MAX = 64 * 1024 * 1024;

async function main(): Promise<void> {
  let config: ProposerConfig | 'help';
  try {
    config = resolveProposerConfig(process.argv.slice(2));
  } catch (e) {
    exitWithError('proposer', e, e instanceof ConfigError ? 2 : 1);
  }
  if (config === 'help') {
    process.stdout.write(helpText(proposerCommand) + '\n');
    return;
  }
  const logger = createLogger('proposer', { proposer: config.id });
  const transport = await startupTransport('proposer', config.transport, `proposer-${config.id}`, { role: 'proposer', id: config.id }, logger, 'to the acceptors and for clients; anyone can propose');
  const { caches, statuses } = await loadSources(config.lmfdbCacheDir);
  for (const s of statuses) if (!s.loaded) logger.warn({ source: s.source, reason: s.error }, 'LMFDB source not loaded: claims on it cannot be verified here (UNAVAILABLE: the client may retry)');

  // A promise may carry many accepted entries (the core bounds its bytes); an accept carries one value.
  const maxMessageBytes = Math.max(PROMISE_BYTES_MAX, config.maxValueBytes + MESSAGE_OVERHEAD_BYTES);
  // What waits for a paused acceptor's stream: a few of the largest requests (an accept or a
  // catch-up batch: one value and its overhead), then requests fail at once.
  const unsentBytesMax = Math.max(16 * 1024 * 1024, 4 * (config.maxValueBytes + MESSAGE_OVERHEAD_BYTES));
  const links = config.acceptors.map(
    (address, nodeId) =>
      new GrpcAcceptorLink(nodeId, address, {
        requestDeadlineMs: config.requestDeadlineMs,
        inFlightMax: config.inFlightPerAcceptor,
        unsentBytesMax,
        reconnectBackoffMsMin: 200,
        reconnectBackoffMsMax: 2000,
        maxMessageBytes,
        transport,
        logger,
      }),
  );
  // A negative control for the chaos test (a build option in effect): no exactly-once. Never in production.
  const unsafeNoSessions = process.env['PAXOS_UNSAFE_NO_SESSIONS'] === '1';
  if (unsafeNoSessions) logger.error('PAXOS_UNSAFE_NO_SESSIONS=1: client sessions are OFF, a retried command can take effect twice (negative control only)');
  const metricsRegistry = createMetricsRegistry(`proposer-${config.id}`);
  const metrics = proposerMetrics(metricsRegistry);
  // A ballot is never reused across restarts: rounds start above the wall clock in ms.
  // The wall clock, meant: a restarted proposer's first ballots are then likely above the ones it
  // used before (and when the clock was set back, the core outbids what the acceptors answer).
  // eslint-disable-next-line no-restricted-properties
  const initialRound = BigInt(Date.now());
  const seeded = new SeededRandom(Number(initialRound % 2n ** 31n) ^ (config.id << 16));
  // Names this run's batches: another proposer (or this one's next run) never builds equal values from a command and its retry.
  const origin = randomBytes(8).readBigUInt64BE() | 1n;
  // Health turns NOT_SERVING (all but the reads) once the proposer can choose nothing more (the ballot ceiling): npm
  // run check then says so, naming the cause from ClusterStatus.cannot_choose. Noted when it comes
  // before the server exists, and set once it does.
  let cannotChoose = false;
  let markNotServing: (() => void) | undefined;
  const onCannotChoose = () => {
    cannotChoose = true;
    markNotServing?.();
  };
  // ProposerService turns SERVING once the proposer has learned the chosen log (ClusterStatus.learning till then).
  let learned = false;
  let markServing: (() => void) | undefined;
  const onReady = () => {
    learned = true;
    markServing?.();
  };
  const { node, chosen, quorum } = assembleProposer(config, { links, initialRound, random: () => seeded.next(), origin, unsafeNoSessions, rounds: metrics.rounds, onCannotChoose, onReady, logger });
  metrics.attach(node, links);
  const checker = new ValueChecker(config.maxValueBytes, (n) => caches.get(n), claimsCheckedCounter(metricsRegistry), undefined, (n) => {
    let found: ReturnType<typeof chosen.state.registry.proposal>;
    try {
      found = chosen.state.registry.proposal(n);
    } catch {
      return undefined; // no applied state yet: the registry decides once the proposal is chosen
    }
    return found && !('forgotten' in found) ? found : undefined;
  }, learnedIdTaken(() => node.learningAt !== undefined, (id) => chosen.result(id)));

  // Shared by unary answers and ProposeStream/ProposeBulk answers not yet read.
  const answers = answerBudgetFor(config.bounds);
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer({
      host: config.host,
      port: config.port,
      // A ProposeBulk message carries many values: at least 4 MiB.
      maxReceiveBytes: Math.max(BULK_MESSAGE_BYTES_MIN, config.maxValueBytes + MESSAGE_OVERHEAD_BYTES),
      transport,
      metrics: metricsRegistry,
      ...config.bounds,
      answers,
      logger,
      services: [
        {
          name: 'paxos.v1.ProposerService',
          readMethods: ['clusterStatus'],
          definition: ProposerServiceService,
          implementation: proposerService({
            node,
            links,
            checker,
            proposeTimeoutMs: config.proposeTimeoutMs,
            maxWatchers: config.maxWatchers,
            maxWatchersPerClient: config.maxWatchersPerClient,
            watcherBufferBytes: config.watcherBufferBytes,
            watcherStallMs: config.watcherStallMs,
            maxInFlightPerStream: config.maxInFlightPerStream,
            streamIdleMs: config.streamIdleMs,
            answers,
            metrics,
            logger,
          }),
        },
        {
          name: 'paxos.v1.ReadService',
          readMethods: 'all',
          definition: ReadServiceService,
          implementation: readService({
            get state() {
              return chosen.state;
            },
            defaultConsistency: Consistency.CONSISTENCY_LINEARIZABLE,
            // Within the client's deadline (at most 30 s), 5 s when it set none.
            // A read whose client cancels it stops waiting at once (gone).
            linearizable: (deadlineMs, gone) => node.readBarrier(Math.min(deadlineMs ?? READ_BARRIER_DEADLINE_MS, READ_BARRIER_DEADLINE_MS_MAX), gone),
            // About 4 MiB of values per answer, as an acceptor's ReadLog (the retained slots in memory reach 64 MiB).
            readLog: (from, max, caller) => node.reader.readForClient(from, max, READ_LOG_VALUE_BYTES_MAX, caller),
          }),
        },
      ],
    });
    const started = server;
    markNotServing = () => markCannotChoose(started.health);
    markServing = () => markLearned(started.health, cannotChoose);
    if (!learned) markLearning(started.health);
    if (cannotChoose) markNotServing();
  } catch (e) {
    exitWithError('proposer', e, 2);
  }
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    metricsServer = await startMetricsServer(config.host, config.metricsPort, metricsRegistry, logger);
  } catch (e) {
    await server.shutdown(0);
    exitWithError('proposer', e, 2);
  }
  node.start();
  onShutdownSignal(logger, async () => {
    await metricsServer.close();
    await server.shutdown(3000);
    node.stop();
  });
  logger.info({ port: server.port, metricsPort: metricsServer.port, acceptors: config.acceptors.length, quorum: `${quorum.q} of ${quorum.n}`, initialRound: initialRound.toString() }, 'proposer ready');
}

void main().catch((e: unknown) => exitWithError('proposer', e));
