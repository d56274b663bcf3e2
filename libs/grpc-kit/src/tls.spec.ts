import { credentials, Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { type ConnectionOptions, TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { AcceptorServiceClient, AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { ConfigError } from './config';
import { createLogger } from './logger';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { startGrpcServer } from './server';
import { channelCredentials, INSECURE, loadTls, peerIdentity, serverNameOptions, tlsFilesIn, type Transport } from './tls';

const logger = createLogger('tls-test');
// node:tls itself (what grpc-js calls), not a module namespace wrapping it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsModule = require('tls') as typeof import('node:tls');
const originalConnect = tlsModule.connect;
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

  /** acceptor-0's server (or one holding `name`'s certificate), answering Status (each call shown to `onStatus` first). */
  const acceptor0 = (onStatus: (call: ServerUnaryCall<unknown, unknown>) => void = () => undefined, name = 'acceptor-0') =>
    startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      logger,
      transport: loadTls(tlsFilesIn(dir, name)),
      services: [
        {
          name: 'paxos.v1.AcceptorService',
          definition: AcceptorServiceService,
          implementation: {
            status(call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) {
              onStatus(call);
              cb(null, StatusResponse.fromPartial({}));
            },
          },
        },
      ],
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

  it("makes a kept key, and the CA's key, readable by their owner only again (a launch kept a key loosened to 644 as it was)", () => {
    ensureNetworkCertificates(dir, ['proposer-5']);
    chmodSync(join(dir, 'proposer-5.key'), 0o644);
    chmodSync(caKeyFile(dir), 0o640);
    expect(ensureNetworkCertificates(dir, ['proposer-5'])).toEqual([]);
    expect(statSync(join(dir, 'proposer-5.key')).mode & 0o777).toBe(0o600);
    expect(statSync(caKeyFile(dir)).mode & 0o777).toBe(0o600);
  });

  it('refuses a key whose private part was damaged while its public part still matches the certificate, and issues it again', () => {
    expect(ensureNetworkCertificates(dir, ['proposer-4'])).toEqual(['proposer-4']);
    const keyFile = join(dir, 'proposer-4.key');
    // One bit of the private scalar flipped (the octet string after the EC key's version, 02 01 01
    // 04 20): the public key the file also carries, and derives from, still equals the certificate's.
    const der = createPrivateKey(readFileSync(keyFile)).export({ type: 'pkcs8', format: 'der' });
    const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20])) + 5;
    der[at] = (der[at] as number) ^ 0x04;
    writeFileSync(keyFile, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }));
    // Loaded, it signed nothing a peer could verify: every handshake failed with "bad signature".
    expect(() => loadTls(tlsFilesIn(dir, 'proposer-4'))).toThrow(/does not go with/);
    expect(ensureNetworkCertificates(dir, ['proposer-4'])).toEqual(['proposer-4']);
    expect(() => loadTls(tlsFilesIn(dir, 'proposer-4'))).not.toThrow();
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
    let seen: unknown;
    const running = await acceptor0((call) => (seen = peerIdentity(call)));
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

  it("refuses a server that presents a client's certificate (one names localhost too: its holder could take a stopped node's port)", async () => {
    const posing = await acceptor0(undefined, 'client-cli');
    const genuine = await acceptor0();
    const t = loadTls(tlsFilesIn(dir, 'client-cli'));
    const call = (port: number) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        const address = `127.0.0.1:${port}`;
        const c = new AcceptorServiceClient(address, channelCredentials(t), serverNameOptions(t, address));
        c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => {
          c.close();
          resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' });
        });
      });
    try {
      expect(await call(genuine.port)).toEqual({ code: status.OK, details: '' });
      const refused = await call(posing.port);
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toMatch(/client-cli, not the certificate of an acceptor or a proposer/);
    } finally {
      await posing.shutdown(100);
      await genuine.shutdown(100);
    }
  });

  it('sends a name, never an IP address, as the TLS server name, and checks the certificate as strictly', async () => {
    const t = loadTls(tlsFilesIn(dir, 'proposer-1'));
    expect(serverNameOptions(INSECURE, '127.0.0.1:1')).toEqual({});
    expect(serverNameOptions(t, '127.0.0.1:1', 'acceptor-0')).toEqual({ 'grpc.ssl_target_name_override': 'acceptor-0' });
    expect(serverNameOptions(t, '127.0.0.1:1')).toEqual({ 'grpc.ssl_target_name_override': 'localhost' });
    expect(serverNameOptions(t, '[::1]:1')).toEqual({ 'grpc.ssl_target_name_override': 'localhost' });
    // Only the addresses the certificates name: another one keeps its own check.
    expect(serverNameOptions(t, '127.0.0.2:1')).toEqual({});
    expect(serverNameOptions(t, '10.0.0.1:1')).toEqual({});
    expect(serverNameOptions(t, 'node-3.example:1')).toEqual({});
    const running = await acceptor0();
    // The server name each connection sends (grpc-js calls node:tls's connect).
    const sent: unknown[] = [];
    const connect = jest.spyOn(tlsModule, 'connect').mockImplementation(((options: ConnectionOptions, listener?: () => void) => {
      sent.push(options.servername);
      return originalConnect(options, listener);
    }) as typeof tlsModule.connect);
    const address = `127.0.0.1:${running.port}`;
    const call = (peer?: string) =>
      new Promise<number>((resolve) => {
        const c = new AcceptorServiceClient(address, channelCredentials(t, peer), serverNameOptions(t, address, peer));
        c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => {
          c.close();
          resolve(e ? e.code : status.OK);
        });
      });
    try {
      expect(await call()).toBe(status.OK);
      expect(await call('acceptor-0')).toBe(status.OK);
      // The name checked is the peer's, not the one sent: another node's name is refused.
      expect(await call('acceptor-1')).toBe(status.UNAVAILABLE);
      expect(sent).toEqual(['localhost', 'acceptor-0', 'acceptor-1']);
    } finally {
      connect.mockRestore();
      await running.shutdown(100);
    }
  });

  it("reads a connection's certificate once, however many calls and checks ask who the peer is", async () => {
    // Every read of a certificate, by the server (its interceptors and the handler) and the clients.
    let reads = 0;
    const original = TLSSocket.prototype.getPeerCertificate;
    TLSSocket.prototype.getPeerCertificate = function (this: TLSSocket, detailed?: boolean) {
      reads++;
      return original.call(this, detailed as true);
    } as typeof original;
    const seen: unknown[] = [];
    const running = await acceptor0((call) => {
      for (let i = 0; i < 3; i++) seen.push(peerIdentity(call)?.name);
    });
    const clients = ['proposer-1', 'client-cli'].map((name) => new AcceptorServiceClient(`localhost:${running.port}`, channelCredentials(loadTls(tlsFilesIn(dir, name)))));
    const call = (c: AcceptorServiceClient) =>
      new Promise<void>((resolve, reject) => c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => (e ? reject(e) : resolve())));
    try {
      for (const c of clients) await call(c);
      const afterFirstCalls = reads;
      for (let i = 0; i < 4; i++) for (const c of clients) await call(c);
      // Each connection's identity is its own, read when its first call asks: not per call, nor per ask.
      expect(seen).toEqual(Array.from({ length: 5 }, () => ['proposer-1', 'proposer-1', 'proposer-1', 'client-cli', 'client-cli', 'client-cli']).flat());
      expect(reads).toBe(afterFirstCalls);
    } finally {
      TLSSocket.prototype.getPeerCertificate = original;
      for (const c of clients) c.close();
      await running.shutdown(100);
    }
  });
});
