// `npm run status-page`: the live status page of a network (launch starts one beside the nodes).
import { ConfigError, createLogger, exitWithError, helpText, isLoopbackHost, onShutdownSignal, startupTransport } from '@paxos/grpc-kit';
import { resolveStatusPageConfig, STATUS_CERT_NAME, statusPageCommand, type StatusPageConfig } from './config';
import { startStatusServer } from './http-server';
import { NetworkPoller } from './network-poller';

async function main(): Promise<void> {
  let config: StatusPageConfig | 'help';
  try {
    config = resolveStatusPageConfig(process.argv.slice(2));
  } catch (e) {
    exitWithError('status-page', e, e instanceof ConfigError ? 2 : 1);
  }
  if (config === 'help') {
    process.stdout.write(helpText(statusPageCommand) + '\n');
    return;
  }
  const logger = createLogger('status-page');
  const transport = await startupTransport('status-page', config.transport, STATUS_CERT_NAME, { role: 'client' }, logger, 'the page reads the nodes in plaintext');
  const poller = new NetworkPoller({ ...config, transport, logger });
  let server: Awaited<ReturnType<typeof startStatusServer>>;
  try {
    server = await startStatusServer(poller, { host: config.host, port: config.port, maxViewers: config.maxViewers, logger });
  } catch (e) {
    // A port in use (or not ours to take) exits 2, as the acceptor's and the proposer's do.
    exitWithError('status-page', e, 2);
  }
  poller.start();
  if (!isLoopbackHost(config.host)) logger.warn({ host: config.host }, 'the status page is served beyond loopback without authentication: anyone who reaches this address sees the network and can make it read slots');
  onShutdownSignal(logger, async () => {
    poller.stop();
    await server.close();
  });
  logger.info({ url: `http://${config.host}:${server.port}/`, acceptors: config.acceptors.length, proposer: config.proposer }, 'status page ready');
}

main().catch((e: unknown) => exitWithError('status-page', e, 1));
