import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, ensureNetworkCertificates, INSECURE, loadTls, type RunningServer, startGrpcServer, tlsFilesIn } from '@paxos/grpc-kit';
import { runRead } from './read';
import { runSubmit } from './submit';
import { portProtocol } from './transport-mismatch';

const logger = createLogger('transport-mismatch-spec');
logger.level = 'silent';

describe('a client tool dialling a TLS port in plaintext, or the reverse', () => {
  jest.setTimeout(60_000);
  let root: string;
  let tlsServer: RunningServer;
  let plainServer: RunningServer;
  /** Writes a network.json in dir that names `address` as its proposer, with TLS or without. */
  const describeNetwork = (dir: string, address: string, tls: boolean): string => {
    mkdirSync(dir, { recursive: true });
    const nodes = [{ name: 'node_0', role: 'acceptor', id: 0, address: '127.0.0.1:1' }, { name: 'proposer', role: 'proposer', id: 1, address }];
    writeFileSync(join(dir, 'network.json'), JSON.stringify({ createdAt: '', nodes, proposer: address, lmfdbCacheDir: '/tmp/lmfdb', tls }));
    return dir;
  };
  let tlsDir: string;
  let plainDir: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'paxos-mismatch-'));
    // The TLS network's certificates are in its dir's tls/, as launch makes them.
    const certificates = join(root, 'says-tls', 'tls');
    ensureNetworkCertificates(certificates, ['proposer-1', 'client-cli']);
    tlsServer = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, logger, transport: loadTls(tlsFilesIn(certificates, 'proposer-1')), services: [] });
    plainServer = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, logger, transport: INSECURE, services: [] });
    // A dir that describes a network with TLS whose proposer's port speaks plaintext, and one
    // that describes a network launched with --insecure whose proposer's port speaks TLS.
    tlsDir = describeNetwork(join(root, 'says-tls'), `127.0.0.1:${plainServer.port}`, true);
    plainDir = describeNetwork(join(root, 'says-plaintext'), `127.0.0.1:${tlsServer.port}`, false);
  });
  afterAll(async () => {
    await tlsServer.shutdown(100);
    await plainServer.shutdown(100);
    rmSync(root, { recursive: true, force: true });
  });

  it('tells what a port speaks: TLS, plaintext gRPC, or not known (an HTTP/1 server, nothing listening)', async () => {
    expect(await portProtocol(`127.0.0.1:${tlsServer.port}`)).toBe('tls');
    expect(await portProtocol(`127.0.0.1:${plainServer.port}`)).toBe('plaintext-http2');
    const http1 = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => http1.listen(0, '127.0.0.1', r));
    try {
      expect(await portProtocol(`127.0.0.1:${(http1.address() as { port: number }).port}`)).toBe('unknown');
    } finally {
      http1.close();
    }
    expect(await portProtocol('127.0.0.1:1')).toBe('unknown');
  });

  it('read says the port speaks plaintext where the dir describes TLS, and which flag to change, not "wrong version number"', async () => {
    const lines: string[] = [];
    expect(await runRead(['leaderboard', '--dir', tlsDir, '--deadline-ms', '3000'], (l) => lines.push(l))).toBe(4);
    expect(lines).toEqual([
      `UNAVAILABLE: no connection: 127.0.0.1:${plainServer.port} speaks gRPC without TLS, and this tool dialled it with TLS because ${tlsDir}/network.json describes a network with mutual TLS: the node there was started with --insecure (another network, launched with --insecure, on these ports?); give --dir (or PAXOS_NETWORK_DIR) the dir of the network that runs there (grpcurl reaches it with -plaintext)`,
    ]);
  });

  it('read and submit say the port speaks TLS where the dir describes a network launched with --insecure, not "Failed to connect"', async () => {
    const lines: string[] = [];
    expect(await runRead(['leaderboard', '--dir', plainDir, '--deadline-ms', '3000'], (l) => lines.push(l))).toBe(4);
    const advice = `127.0.0.1:${tlsServer.port} speaks TLS, and this tool dialled it without TLS because ${plainDir}/network.json describes a network launched with --insecure: a network with mutual TLS runs on these ports; give --dir (or PAXOS_NETWORK_DIR) the dir of the network that runs there, whose tls/ holds the client-cli certificate`;
    expect(lines).toEqual([`UNAVAILABLE: no connection: ${advice}`]);
    const submitted: string[] = [];
    expect(await runSubmit(['1', '--dir', plainDir, '--client-request-id', 'r1', '--deadline-ms', '3000'], (l) => submitted.push(l))).toBe(4);
    expect(submitted.at(-1)).toBe(`not sent: UNAVAILABLE: no connection: ${advice}; retry with --client-request-id r1: it is chosen at most once, and a retry answers with its slot`);
  });
});
