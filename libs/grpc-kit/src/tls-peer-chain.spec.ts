// The TLS handshake checks only that a peer's chain ends at the network's CA. A CA:TRUE certificate
// the CA signed (a client's issued with the wrong extensions, an intermediate of a deployment's
// PKI) could then issue any name, proposer-0 among them, and its holder voted as that proposer.
// A peer's certificate is held to what a node's own must be: signed by the CA directly, no CA.
import { Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptorServiceClient, AcceptorServiceService, StatusResponse } from '@paxos/proto';
import { createLogger } from './logger';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { startGrpcServer } from './server';
import { channelCredentials, loadTls, peerIdentity, serverNameOptions, tlsFilesIn, type Transport } from './tls';

const logger = createLogger('tls-peer-chain-test');
logger.level = 'silent';

describe("a peer's certificate through an intermediate CA, or a CA's", () => {
  let dir: string;
  const node = (usage: string) => `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n${usage}`;
  const caTrue = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
  /** A key and certificate named `cn`, signed by `issuer` (default: the network's CA) with `ext`. */
  const issue = (file: string, cn: string, ext: string, issuer = { crt: join(dir, 'ca.crt'), key: caKeyFile(dir) }) => {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${file}.key`, '-subj', `/CN=${cn}`, '-out', `${file}.csr`]);
    writeFileSync(join(dir, `${file}.ext`), ext);
    run(['x509', '-req', '-in', `${file}.csr`, '-CA', issuer.crt, '-CAkey', issuer.key, '-set_serial', `0x${Date.now().toString(16)}${file.length}`, '-days', '30', '-extfile', `${file}.ext`, '-out', `${file}.crt`]);
    return { crt: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) };
  };
  /** A transport holding `files` as they are (loadTls refuses such certificates as a node's own), the intermediate's certificate after its own. */
  const holding = (files: { crt: string; key: string }, name: string, chain: readonly string[] = []): Transport => ({
    kind: 'tls',
    ca: readFileSync(join(dir, 'ca.crt')),
    cert: Buffer.concat([readFileSync(files.crt), ...chain.map((f) => readFileSync(f))]),
    key: readFileSync(files.key),
    identity: { role: name.startsWith('acceptor') ? 'acceptor' : 'proposer', id: Number(name.split('-')[1]), name },
    notAfter: new Date(Date.now() + 86_400_000),
  });
  let intermediate: { crt: string; key: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-chain-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-1', 'client-cli']);
    // A client's certificate issued CA:TRUE by mistake: the CA signed it, so the handshake takes it.
    intermediate = issue('client-inter', 'client-inter', caTrue);
  });
  afterAll(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  const server = (transport: Transport, onStatus: (call: ServerUnaryCall<unknown, unknown>) => void = () => undefined) =>
    startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      logger,
      transport,
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
  const call = (port: number, t: Transport, peer?: string) =>
    new Promise<{ code: number; details: string }>((resolve) => {
      const address = `127.0.0.1:${port}`;
      const c = new AcceptorServiceClient(address, channelCredentials(t, peer), serverNameOptions(t, address, peer));
      c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e) => {
        c.close();
        resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' });
      });
    });

  it('is refused UNAUTHENTICATED by a server, saying why, and never names a proposer', async () => {
    const seen: unknown[] = [];
    const running = await server(loadTls(tlsFilesIn(dir, 'acceptor-0')), (c) => seen.push(peerIdentity(c)));
    const forged = issue('forged-proposer-1', 'proposer-1', node(''), intermediate);
    const caProposer = issue('ca-proposer-1', 'proposer-1', caTrue);
    try {
      expect(await call(running.port, loadTls(tlsFilesIn(dir, 'proposer-1')))).toEqual({ code: status.OK, details: '' });
      expect(await call(running.port, holding(forged, 'proposer-1', [intermediate.crt]))).toEqual({
        code: status.UNAUTHENTICATED,
        details: expect.stringMatching(/"proposer-1", issued by "client-inter", an intermediate CA, not by the network's CA directly/),
      });
      expect(await call(running.port, holding(caProposer, 'proposer-1'))).toEqual({
        code: status.UNAUTHENTICATED,
        details: expect.stringMatching(/"proposer-1", a CA certificate \(basicConstraints CA:TRUE\)/),
      });
      expect(await call(running.port, holding(intermediate, 'proposer-1'))).toMatchObject({ code: status.UNAUTHENTICATED });
      // Only the genuine proposer's call reached the service.
      expect(seen).toEqual([{ role: 'proposer', id: 1, name: 'proposer-1' }]);
    } finally {
      await running.shutdown(100);
    }
  });

  it("is refused by a client, as a proposer's link to acceptor-0 and as any other client", async () => {
    const forged = issue('forged-acceptor-0', 'acceptor-0', node(''), intermediate);
    const posing = await server(holding(forged, 'acceptor-0', [intermediate.crt]));
    const genuine = await server(loadTls(tlsFilesIn(dir, 'acceptor-0')));
    try {
      const proposer = loadTls(tlsFilesIn(dir, 'proposer-1'));
      const cli = loadTls(tlsFilesIn(dir, 'client-cli'));
      expect(await call(genuine.port, proposer, 'acceptor-0')).toEqual({ code: status.OK, details: '' });
      expect(await call(genuine.port, cli)).toEqual({ code: status.OK, details: '' });
      for (const refused of [await call(posing.port, proposer, 'acceptor-0'), await call(posing.port, cli)]) {
        expect(refused.code).toBe(status.UNAVAILABLE);
        expect(refused.details).toMatch(/"acceptor-0", issued by "client-inter", an intermediate CA/);
      }
    } finally {
      await posing.shutdown(100);
      await genuine.shutdown(100);
    }
  });
});
