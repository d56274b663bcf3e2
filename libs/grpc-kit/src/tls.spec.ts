import { credentials, Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptorServiceClient, AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { ConfigError } from './config';
import { createLogger } from './logger';
import { ensureNetworkCertificates } from './pki';
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
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });

  it('issues keys readable by the owner only, and keeps valid certificates', () => {
    expect(statSync(join(dir, 'acceptor-0.key')).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'ca.key')).mode & 0o077).toBe(0);
    expect(ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-2'])).toEqual(['proposer-2']);
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
