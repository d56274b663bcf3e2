import { credentials, Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptorServiceClient, AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { ConfigError } from './config';
import { createLogger } from './logger';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { startGrpcServer } from './server';
import { channelCredentials, loadTls, peerIdentity, tlsFilesIn, type Transport } from './tls';

const logger = createLogger('tls-test');
logger.level = 'silent';

describe('mutual TLS between nodes', () => {
  let dir: string;
  let other: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-'));
    other = mkdtempSync(join(tmpdir(), 'tls-other-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-1', 'client-cli']);
    ensureNetworkCertificates(other, ['proposer-1']);
  });
  afterAll(() => {
    for (const d of [dir, other, `${dir}-ca`, `${other}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  it('issues keys readable by the owner only, keeps valid certificates, and keeps the CA key apart', () => {
    expect(statSync(join(dir, 'acceptor-0.key')).mode & 0o077).toBe(0);
    expect(existsSync(join(dir, 'ca.key'))).toBe(false);
    expect(statSync(caKeyFile(dir)).mode & 0o077).toBe(0);
    expect(ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-2'])).toEqual(['proposer-2']);
    // A key that does not go with its certificate (a crash between the two renames) is issued again.
    copyFileSync(join(dir, 'proposer-2.key'), join(dir, 'acceptor-0.key'));
    expect(() => loadTls(tlsFilesIn(dir, 'acceptor-0'))).toThrow(/does not go with/);
    expect(ensureNetworkCertificates(dir, ['acceptor-0'])).toEqual(['acceptor-0']);
    // Without the CA's key nothing new is issued, and the error says why.
    renameSync(caKeyFile(dir), `${caKeyFile(dir)}.away`);
    expect(() => ensureNetworkCertificates(dir, ['proposer-3'])).toThrow(/CA's key .* is not there/);
    renameSync(`${caKeyFile(dir)}.away`, caKeyFile(dir));
  });

  it('loads a certificate for its role, and says why when it cannot', () => {
    const t = loadTls(tlsFilesIn(dir, 'proposer-1'), { role: 'proposer', id: 1 });
    expect(t.kind === 'tls' && t.identity).toEqual({ role: 'proposer', id: 1, name: 'proposer-1' });
    expect(() => loadTls(tlsFilesIn(dir, 'proposer-1'), { role: 'acceptor', id: 1 })).toThrow(/certificate of proposer-1, not acceptor-1/);
    expect(() => loadTls(tlsFilesIn(dir, 'proposer-1'), { role: 'proposer', id: 2 })).toThrow(ConfigError);
    expect(() => loadTls({ ...tlsFilesIn(other, 'proposer-1'), ca: join(dir, 'ca.crt') })).toThrow(/was not issued by the CA/);
    expect(() => loadTls(tlsFilesIn(dir, 'proposer-9'))).toThrow(/does not exist/);
  });

  it('serves only clients with a certificate from the same CA, and names the peer', async () => {
    const server = loadTls(tlsFilesIn(dir, 'acceptor-0'));
    let seen: unknown;
    const running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      logger,
      transport: server,
      services: [
        {
          name: 'paxos.v1.AcceptorService',
          definition: AcceptorServiceService,
          implementation: {
            status(call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) {
              seen = peerIdentity(call);
              cb(null, StatusResponse.fromPartial({}));
            },
          },
        },
      ],
    });
    const check = (creds: ReturnType<typeof channelCredentials>) =>
      new Promise<number>((resolve) => {
        const c = new AcceptorServiceClient(`localhost:${running.port}`, creds);
        c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => {
          c.close();
          resolve(e ? e.code : status.OK);
        });
      });
    try {
      const as = (t: Transport) => channelCredentials(t);
      expect(await check(as(loadTls(tlsFilesIn(dir, 'proposer-1'))))).toBe(status.OK);
      expect(seen).toEqual({ role: 'proposer', id: 1, name: 'proposer-1' });
      expect(await check(credentials.createInsecure())).toBe(status.UNAVAILABLE);
      expect(await check(as(loadTls(tlsFilesIn(other, 'proposer-1'))))).toBe(status.UNAVAILABLE);
    } finally {
      await running.shutdown(100);
    }
  });
});
