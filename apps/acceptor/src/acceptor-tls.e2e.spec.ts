// Mutual TLS at an acceptor: only a proposer's certificate may send votes, and only under its own
// proposer id; any certificate of the network may read; no certificate, no connection.
import { Verdict } from '@paxos/proto';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { credentials, status } from '@grpc/grpc-js';
import { caKeyFile, channelCredentials, ensureNetworkCertificates, loadTls, tlsFilesIn } from '@paxos/grpc-kit';
import { freePorts, spawnNode } from '@paxos/test-cluster';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptorWireClient } from './testing/wire-client';

jest.setTimeout(60_000);

describe('an acceptor with mutual TLS', () => {
  let dir: string;
  let address: string;
  let node: ReturnType<typeof spawnNode>;
  const as = (name: string) => channelCredentials(loadTls(tlsFilesIn(join(dir, 'tls'), name)));
  const clients: AcceptorWireClient[] = [];
  const client = (name: string | undefined) => {
    const c = new AcceptorWireClient(address.replace('127.0.0.1', 'localhost'), name === undefined ? credentials.createInsecure() : as(name));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acceptor-tls-'));
    ensureNetworkCertificates(join(dir, 'tls'), ['acceptor-0', 'proposer-1', 'proposer-2', 'acceptor-1', 'client-test']);
    const [port] = await freePorts(1);
    address = `127.0.0.1:${port}`;
    node = spawnNode({
      app: 'acceptor',
      name: 'acceptor 0 (tls)',
      address,
      args: ['--id', '0', '--cluster-size', '3', '--port', String(port), '--data-dir', join(dir, 'node_0.data'), '--lmfdb-cache', join(dir, 'none'), '--tls-dir', join(dir, 'tls'), '--metrics-port', '0'],
      transport: loadTls(tlsFilesIn(join(dir, 'tls'), 'client-test')),
    });
    await node.waitServing();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes a ballot only from the proposer it names', async () => {
    const ok = await client('proposer-1').prepare({ ballot: { round: 5n, proposerId: 1 }, fromSlot: 0n });
    expect(ok.outcome?.$case).toBe('promised');
    const forged = client('proposer-2');
    await expect(forged.prepare({ ballot: { round: 9n, proposerId: 1 }, fromSlot: 0n })).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringMatching(/names proposer 1.*proposer-2/) });
    for (const name of ['client-test', 'acceptor-1']) {
      await expect(client(name).prepare({ ballot: { round: 10n, proposerId: 1 }, fromSlot: 0n })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
      await expect(
        client(name).accept({ commits: [{ ballot: { round: 5n, proposerId: 1 }, fromSlot: 0n, toSlot: 1n, values: [] }] }),
      ).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    }
    // A commit notice carries the ballot its slot was chosen under, maybe another proposer's
    // (catch-up after a failover): any proposer's certificate may send it.
    const notice = await client('proposer-2').accept({ commits: [{ ballot: { round: 5n, proposerId: 1 }, fromSlot: 0n, toSlot: 1n, values: [] }] });
    expect(notice.outcome?.$case).toBe('committed');
    // Nothing of the refused ones was kept: the promise is still round 5 of proposer 1.
    const st = await client('client-test').status();
    expect(st.promised).toMatchObject({ round: 5n, proposerId: 1 });
  });

  it("takes no vote from a proposer's certificate issued through an intermediate CA (a CA:TRUE certificate the CA signed)", async () => {
    const tls = join(dir, 'tls');
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const issue = (name: string, cn: string, ext: string, issuer: string, issuerKey: string) => {
      run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
      writeFileSync(join(dir, `${name}.ext`), ext);
      run(['x509', '-req', '-in', `${name}.csr`, '-CA', issuer, '-CAkey', issuerKey, '-set_serial', `0x${name.length}${Date.now().toString(16)}`, '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
      return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
    };
    // A client's certificate issued CA:TRUE by mistake; its holder issues itself proposer-2.
    const inter = issue('inter', 'client-inter', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\n', join(tls, 'ca.crt'), caKeyFile(tls));
    const forged = issue('forged', 'proposer-2', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n', join(dir, 'inter.crt'), join(dir, 'inter.key'));
    const c = new AcceptorWireClient(address.replace('127.0.0.1', 'localhost'), credentials.createSsl(readFileSync(join(tls, 'ca.crt')), forged.key, Buffer.concat([forged.cert, inter.cert])));
    clients.push(c);
    const before = (await client('client-test').status()).promised;
    await expect(c.prepare({ ballot: { round: 1000n, proposerId: 2 }, fromSlot: 0n })).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringContaining('"proposer-2", issued by "client-inter", an intermediate CA, not by the network\'s CA directly'),
    });
    await expect(c.accept({ commits: [{ ballot: { round: 5n, proposerId: 1 }, fromSlot: 0n, toSlot: 1n, values: [] }] })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect((await client('client-test').status()).promised).toEqual(before);
  });

  it('gives claim verdicts (computation on its event loop) to proposers only', async () => {
    const command = { clientRequestId: 'v', value: encodeProposalValue(buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '1' }] })), verifiedBy: [] };
    const verdict = await client('proposer-2').verifyClaims({ command });
    expect(verdict).toMatchObject({ acceptorId: 0, source: 0, clusterSize: 3, verdict: Verdict.VERDICT_UNKNOWN }); // its cache is missing
    await expect(client('client-test').verifyClaims({ command })).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringContaining("VerifyClaims is taken only from a proposer's certificate") });
  });

  it('answers reads to any certificate of the network and nothing to a connection without one', async () => {
    expect((await client('client-test').status()).nodeId).toBe(0);
    await expect(client(undefined).status()).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});
