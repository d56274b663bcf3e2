// The nodes take a certificate the CA signed with a name not of ours ("billing", no client-
// prefix) as a client's, counted by that name. Its calls were counted by connection instead: each
// new connection brought a fresh share of --max-calls-per-client.
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './logger';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { type RunningServer, startGrpcServer } from './server';
import { loadTls, tlsFilesIn } from './tls';

const logger = createLogger('call-bounds-tls-names-test');
logger.level = 'silent';

const pass = (b: Buffer) => b;
const definition = {
  hang: { path: '/t.Calls/Hang', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
};

describe("calls of a certificate whose name is not one of ours", () => {
  let dir: string;
  let running: RunningServer;
  const answers: (() => void)[] = [];
  let handled = 0;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'calls-tls-'));
    ensureNetworkCertificates(dir, ['acceptor-0']);
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'billing.key', '-subj', '/CN=billing', '-out', 'billing.csr']);
    writeFileSync(join(dir, 'billing.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    run(['x509', '-req', '-in', 'billing.csr', '-CA', 'ca.crt', '-CAkey', caKeyFile(dir), '-set_serial', '0x1234', '-days', '30', '-extfile', 'billing.ext', '-out', 'billing.crt']);
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024,
      transport: loadTls(tlsFilesIn(dir, 'acceptor-0')),
      maxCalls: 64,
      maxCallsPerClient: 16,
      services: [{ name: 't.Calls', definition, implementation: { hang: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => (handled++, answers.push(() => cb(null, Buffer.from('ok')))) } }],
      logger,
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await running.shutdown(100);
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  /** A connection of its own holding the certificate "billing". */
  const connection = () => {
    const creds = grpc.credentials.createSsl(readFileSync(join(dir, 'ca.crt')), readFileSync(join(dir, 'billing.key')), readFileSync(join(dir, 'billing.crt')));
    const c = new grpc.Client(`localhost:${running.port}`, creds);
    clients.push(c);
    return c;
  };
  const call = (c: grpc.Client) =>
    new Promise<{ code: string; details: string }>((resolve) =>
      c.makeUnaryRequest('/t.Calls/Hang', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (e) => resolve(e ? { code: String(grpc.status[e.code]), details: e.details } : { code: 'OK', details: '' })),
    );

  it("are held to one client's share however many connections it opens", async () => {
    const open = Array.from({ length: 16 }, () => call(connection()));
    while (handled < 16) await new Promise((r) => setTimeout(r, 10));
    expect(await call(connection())).toEqual({ code: 'RESOURCE_EXHAUSTED', details: expect.stringMatching(/^billing has 16 calls open/) });
    for (const answer of answers.splice(0)) answer();
    expect(new Set((await Promise.all(open)).map((r) => r.code))).toEqual(new Set(['OK']));
  });
});
