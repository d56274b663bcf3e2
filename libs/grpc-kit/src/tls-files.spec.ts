import { Metadata, status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptorServiceClient, AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { createLogger } from './logger';
import { ensureNetworkCertificates } from './pki';
import { startGrpcServer } from './server';
import { channelCredentials, loadTls, serverNameOptions, tlsFilesIn, type Transport } from './tls';

const logger = createLogger('tls-files-test');
logger.level = 'silent';

// A node's TLS files are taken as grpc-js takes them (PEM; every certificate of the CA file
// trusted), not only as node:crypto reads their first certificate.
describe("a node's TLS files", () => {
  let dir: string;
  let other: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-files-'));
    other = mkdtempSync(join(tmpdir(), 'tls-files-other-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'client-cli']);
    ensureNetworkCertificates(other, ['proposer-0']);
  });
  afterAll(() => {
    for (const d of [dir, other, `${dir}-ca`, `${other}-ca`]) rmSync(d, { recursive: true, force: true });
  });
  const own = () => tlsFilesIn(dir, 'acceptor-0');
  const write = (name: string, data: Buffer | string) => {
    writeFileSync(join(dir, name), data);
    return join(dir, name);
  };

  it("refuses a CA file holding a second CA, whose certificates would be trusted too (another CA's proposer-0 voted)", async () => {
    const bundle = write('bundle.crt', Buffer.concat([readFileSync(own().ca), readFileSync(join(other, 'ca.crt'))]));
    expect(() => loadTls({ ...own(), ca: bundle }, { role: 'acceptor', id: 0 })).toThrow(/bundle\.crt holds 2 PEM blocks .*trusts exactly one CA/);
    // What it let in: a server started on that file answered another CA's proposer-0.
    const theirs = tlsFilesIn(other, 'proposer-0');
    const intruder: Transport = { kind: 'tls', ca: readFileSync(bundle), cert: readFileSync(theirs.cert), key: readFileSync(theirs.key), identity: { role: 'proposer', id: 0, name: 'proposer-0' }, notAfter: new Date(8.64e15) };
    const server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      logger,
      transport: { ...loadTls(own()), ca: readFileSync(bundle) } as Transport,
      services: [{ name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: { status: (_c: unknown, cb: (e: null, r: StatusResponse) => void) => cb(null, StatusResponse.fromPartial({})) } }],
    });
    try {
      const address = `127.0.0.1:${server.port}`;
      const client = new AcceptorServiceClient(address, channelCredentials(intruder), serverNameOptions(intruder, address));
      const code = await new Promise<number>((resolve) => client.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e ? e.code : status.OK)));
      client.close();
      expect(code).toBe(status.OK);
    } finally {
      await server.shutdown(100);
    }
  });

  it('refuses DER files, which grpc-js cannot read (a DER CA started the node and failed every handshake)', () => {
    const der = (from: string, name: string) => {
      execFileSync('openssl', ['x509', '-in', from, '-outform', 'DER', '-out', join(dir, name)]);
      return join(dir, name);
    };
    expect(() => loadTls({ ...own(), ca: der(own().ca, 'ca.der') })).toThrow(/the CA certificate .*ca\.der is not PEM .*openssl x509 -inform DER/);
    expect(() => loadTls({ ...own(), cert: der(own().cert, 'acceptor-0.der') })).toThrow(/the certificate .*acceptor-0\.der is not PEM/);
  });

  it('says what is wrong with a key file that is empty, not a key or encrypted, rather than that it belongs to another certificate', () => {
    expect(() => loadTls({ ...own(), key: write('empty.key', '') })).toThrow(/the private key .*empty\.key holds no PEM private key/);
    expect(() => loadTls({ ...own(), key: own().cert })).toThrow(/acceptor-0\.crt holds no PEM private key/);
    execFileSync('openssl', ['pkey', '-in', own().key, '-aes256', '-passout', 'pass:x', '-out', join(dir, 'enc.key')]);
    expect(() => loadTls({ ...own(), key: join(dir, 'enc.key') })).toThrow(/enc\.key is encrypted, and a node has no passphrase/);
    execFileSync('openssl', ['ec', '-in', own().key, '-aes256', '-passout', 'pass:x', '-out', join(dir, 'enc-legacy.key')], { stdio: 'ignore' });
    expect(() => loadTls({ ...own(), key: join(dir, 'enc-legacy.key') })).toThrow(/enc-legacy\.key is encrypted/);
  });

  it('names the one file that is not a certificate, and still takes a certificate file with its key or chain after it', () => {
    expect(() => loadTls({ ...own(), cert: write('garbage.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') })).toThrow(/^the certificate .*garbage\.crt is not a readable PEM certificate/);
    expect(() => loadTls({ ...own(), cert: own().key })).toThrow(/the certificate .*acceptor-0\.key begins with a PEM block "PRIVATE KEY"/);
    const withKey = write('with-key.crt', Buffer.concat([readFileSync(own().cert), readFileSync(own().key)]));
    expect(loadTls({ ...own(), cert: withKey }, { role: 'acceptor', id: 0 }).kind).toBe('tls');
    const crlf = write('crlf.crt', readFileSync(own().cert, 'latin1').replace(/\n/g, '\r\n'));
    expect(loadTls({ ...own(), cert: crlf, ca: write('crlf-ca.crt', readFileSync(own().ca, 'latin1').replace(/\n/g, '\r\n')) }).kind).toBe('tls');
  });

  it('refuses a path that is not a regular file of certificate size, without waiting on it or reading it whole', () => {
    // A FIFO with no writer blocked the start for good; /dev/zero grew memory until the process died.
    const fifo = join(dir, 'ca.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => loadTls({ ...own(), ca: fifo }, { role: 'acceptor', id: 0 })).toThrow(/ca\.fifo is not a regular file \(a device, pipe or directory\)/);
    expect(() => loadTls({ ...own(), key: '/dev/zero' }, { role: 'acceptor', id: 0 })).toThrow(/\/dev\/zero is not a regular file/);
    expect(() => loadTls({ ...own(), cert: dir }, { role: 'acceptor', id: 0 })).toThrow(/is not a regular file/);
    const huge = write('huge.crt', Buffer.alloc(2 * 1024 * 1024, 0x41));
    expect(() => loadTls({ ...own(), cert: huge }, { role: 'acceptor', id: 0 })).toThrow(/huge\.crt is 2097152 bytes, more than any certificate or key/);
    // The node's own files still load.
    expect(loadTls(own(), { role: 'acceptor', id: 0 }).kind).toBe('tls');
  });
});
