import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caKeyFile, createLogger, ensureNetworkCertificates, loadTls, type RunningServer, startGrpcServer, tlsFilesIn, INSECURE } from '@paxos/grpc-kit';
import { certificateExpiry, formatCertificateExpiry } from './certificate-expiry';
import type { NetworkLayout } from './network-dir';

const logger = createLogger('certificate-expiry-test');
logger.level = 'silent';
const DAY_MS = 24 * 3600 * 1000;

describe('check: certificate expiry', () => {
  let dir: string;
  const servers: RunningServer[] = [];
  let layout: NetworkLayout;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cert-expiry-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-1', 'client-cli']);
    for (const name of ['acceptor-0', 'proposer-1']) servers.push(await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, logger, transport: loadTls(tlsFilesIn(dir, name)), services: [] }));
    layout = {
      createdAt: 'x',
      proposer: `127.0.0.1:${servers[1]?.port}`,
      lmfdbCacheDir: '/c',
      nodes: [
        { name: 'node_0', role: 'acceptor', id: 0, address: `127.0.0.1:${servers[0]?.port}` },
        { name: 'proposer', role: 'proposer', id: 1, address: `127.0.0.1:${servers[1]?.port}` },
        // Nothing listens here: a node that is down presents nothing, and is left out.
        { name: 'node_1', role: 'acceptor', id: 1, address: '127.0.0.1:1' },
      ],
    };
  });
  afterAll(async () => {
    for (const s of servers) await s.shutdown(100);
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  it('reads what each running node presents, and warns in time to renew one node at a time', async () => {
    const client = loadTls(tlsFilesIn(dir, 'client-cli'));
    const nodeEnd = new X509Certificate(readFileSync(join(dir, 'acceptor-0.crt'))).validTo;
    // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
    const now = Date.now();
    const today = await certificateExpiry(layout, client, 2000, now);
    expect(today?.soonest?.name).toMatch(/^(acceptor-0|proposer-1)$/);
    expect(today?.expiring).toEqual([]);
    expect(formatCertificateExpiry(today, '/net')).toEqual([]);
    // Ten days before the nodes' certificates end: both are named, with what to do.
    const late = await certificateExpiry(layout, client, 2000, Date.parse(nodeEnd) - 10 * DAY_MS);
    expect(late?.expiring.map((c) => [c.name, c.daysLeft]).sort()).toEqual([
      ['acceptor-0', 10],
      ['proposer-1', 10],
    ]);
    const lines = formatCertificateExpiry(late, '/net');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/acceptor-0's expires on .* \(in 10 days\).*one node at a time.*npm run launch -- --restart-missing --dir \/net/);
    // Past the CA's end: the CA is named first, and it takes a new launch.
    const caEnd = new X509Certificate(client.kind === 'tls' ? client.ca : Buffer.alloc(0)).validTo;
    const gone = await certificateExpiry(layout, client, 2000, Date.parse(caEnd) + DAY_MS);
    expect(formatCertificateExpiry(gone, '/net')[0]).toMatch(/the network's CA expired on .*npm run stop -- --dir \/net/);
    // A plaintext network has no certificates to read.
    expect(await certificateExpiry(layout, INSECURE, 2000, now)).toBeUndefined();
  });

  /**
   * A server presenting `cn`'s certificate valid for one day in 2020 (openssl ca sets both dates),
   * issued by the CA of network dir `caDir` for `altNames`.
   */
  async function expiredServer(caDir: string, cn: string, altNames = 'DNS:localhost,IP:127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
    const work = mkdtempSync(join(tmpdir(), 'cert-expired-'));
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    writeFileSync(join(work, 'index.txt'), '');
    writeFileSync(join(work, 'serial'), '01\n');
    writeFileSync(join(work, 'ext.cnf'), `extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${altNames}\n`);
    writeFileSync(join(work, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n');
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'n.key', '-out', 'n.csr', '-subj', `/CN=${cn}`]);
    run(['ca', '-batch', '-config', 'ca.cnf', '-cert', join(caDir, 'ca.crt'), '-keyfile', caKeyFile(caDir), '-in', 'n.csr', '-out', 'n.crt', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', 'ext.cnf', '-notext']);
    const ca = readFileSync(join(caDir, 'ca.crt'));
    const cert = readFileSync(join(work, 'n.crt'));
    const server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      logger,
      transport: { kind: 'tls', ca, cert, key: readFileSync(join(work, 'n.key')), identity: { role: 'acceptor', id: 7, name: 'acceptor-7' }, notAfter: new Date(new X509Certificate(cert).validTo) },
      services: [],
    });
    return {
      port: server.port,
      close: async () => {
        await server.shutdown(100);
        rmSync(work, { recursive: true, force: true });
      },
    };
  }
  const at = (port: number): NetworkLayout => ({ createdAt: 'x', proposer: '127.0.0.1:1', lmfdbCacheDir: '/c', nodes: [{ name: 'node_7', role: 'acceptor', id: 7, address: `127.0.0.1:${port}` }] });

  it('reports a certificate a node still presents after it expired (the handshake alone would refuse it unread)', async () => {
    const expired = await expiredServer(dir, 'acceptor-7');
    try {
      // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
      const e = await certificateExpiry(at(expired.port), loadTls(tlsFilesIn(dir, 'client-cli')), 2000, Date.now());
      expect(e?.expiring.map((c) => c.name)).toEqual(['acceptor-7']);
      expect(formatCertificateExpiry(e, '/net')[0]).toMatch(/acceptor-7's expired on 2020-01-02/);
    } finally {
      await expired.close();
    }
  });

  it('does not report an expired certificate of another CA, nor one of the network for another host', async () => {
    // Another network's CA (another network on these ports): its expired certificate is not ours to renew.
    const other = mkdtempSync(join(tmpdir(), 'cert-other-'));
    ensureNetworkCertificates(other, ['client-cli']);
    const servers = [await expiredServer(other, 'acceptor-7'), await expiredServer(dir, 'acceptor-7', 'DNS:elsewhere.example')];
    try {
      for (const s of servers) {
        // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
        const e = await certificateExpiry(at(s.port), loadTls(tlsFilesIn(dir, 'client-cli')), 2000, Date.now());
        expect(e?.expiring).toEqual([]);
        expect(e?.soonest).toBeUndefined();
      }
    } finally {
      for (const s of servers) await s.close();
      for (const d of [other, `${other}-ca`]) rmSync(d, { recursive: true, force: true });
    }
  });
});
