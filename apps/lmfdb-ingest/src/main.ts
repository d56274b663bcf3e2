// lmfdb-ingest: pull the LMFDB sources into the cache (or install the offline snapshot), and/or
// serve them over gRPC. See HELP in args.ts.
import { loadSources } from '@paxos/lmfdb-client';
import { createLogger, finishWhenOutputCloses, type Logger, printable, resolveTransport } from '@paxos/grpc-kit';
import { HELP, type IngestCliOptions, parseCli, UsageError } from './args';
import { CacheInUseError, ingestSources } from './ingest';
import { watchParent } from './parent-watch';
import { createReporter, summaryTable } from './progress';
import { startRecordServer } from './serve';

export async function run(opts: IngestCliOptions, logger: Logger): Promise<number> {
  if (opts.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.command === 'ingest') {
    const abort = new AbortController();
    const onSigint = () => {
      logger.warn({}, 'interrupted: stopping after the current page; run again to resume');
      abort.abort();
    };
    process.once('SIGINT', onSigint);
    const parentGone = watchParent(logger, abort, process.env['PAXOS_PARENT_PID']);
    const summary = await ingestSources({
      sources: opts.sources,
      cacheDir: opts.cacheDir,
      offline: opts.offline,
      snapshotDir: opts.snapshotDir,
      baseUrl: opts.baseUrl,
      limit: opts.limit,
      clientOptions: { minIntervalMs: opts.minIntervalMs, timeoutMs: opts.timeoutMs, botWallCooldownMs: opts.botWallCooldownMs, maxOffset: opts.maxOffset, logger },
      logger,
      reporter: createReporter(process.stdout),
      signal: abort.signal,
    });
    process.removeListener('SIGINT', onSigint);
    if (parentGone !== undefined) clearInterval(parentGone);
    // An error in the table may quote the LMFDB server's own text: written as visible escapes.
    process.stdout.write(`\n${printable(summaryTable(summary))}`);
    process.stdout.write(`cache: ${opts.cacheDir}\n`);
    if (abort.signal.aborted) return 130;
    if (summary.some((s) => s.status === 'failed')) return 1;
    if (!opts.serve) return 0;
  }
  const { caches, statuses } = await loadSources(opts.cacheDir, opts.sources);
  for (const s of statuses) if (!s.loaded) logger.warn({ source: s.source, reason: s.error }, 'source not loaded');
  const transport = resolveTransport({ 'tls-dir': opts.tlsDir, insecure: opts.insecure }, 'client-lmfdb', { role: 'client' });
  if (transport.kind === 'insecure') logger.warn('--insecure: the RecordService answers plaintext gRPC');
  const running = await startRecordServer(caches, statuses, opts.host, opts.port, transport, logger, opts.metricsPort);
  logger.info({ host: opts.host, port: running.port, metricsPort: running.metricsPort, sources: [...caches.keys()] }, 'RecordService serving');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.stop();
  return 0;
}

async function main(): Promise<void> {
  // Started by a launch whose reader closed the pipe (| head), its progress lines met EPIPE and
  // the fill died half way: the launch then failed on "LMFDB ingest failed".
  finishWhenOutputCloses();
  const logger = createLogger('lmfdb-ingest');
  let opts: IngestCliOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`lmfdb-ingest: ${printable((e as Error).message)}\n\n${HELP}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
  process.exitCode = await run(opts, logger);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`lmfdb-ingest: ${printable(e instanceof Error ? e.message : String(e))}\n`);
    process.exit(e instanceof CacheInUseError ? 3 : 1);
  });
}
