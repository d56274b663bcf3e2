import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { loadTls, tlsFilesIn } from './tls';

// Certificates a peer refuses in the handshake must be refused at start too: otherwise the node
// runs and every connection to or from it fails with nothing said where it was started.
describe('a node refuses a certificate its peers would refuse', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-use-'));
    ensureNetworkCertificates(dir, ['proposer-1']);
  });
  afterAll(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  /** proposer-1's certificate issued again by `issuerCrt`/`issuerKey` with these extensions. */
  const issue = (name: string, ext: readonly string[], issuerCrt = join(dir, 'ca.crt'), issuerKey = caKeyFile(dir), cn = 'proposer-1') => {
    const files = tlsFilesIn(dir, name);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '30', '-subj', `/CN=${cn}`, '-CA', issuerCrt, '-CAkey', issuerKey, ...ext.flatMap((e) => ['-addext', e])], { stdio: 'ignore' });
    return files;
  };

  it('takes the certificates the network issues', () => {
    expect(loadTls(tlsFilesIn(dir, 'proposer-1'), { role: 'proposer', id: 1 }).kind).toBe('tls');
  });

  it('refuses a CA certificate as a node certificate', () => {
    const files = issue('ca-leaf', ['basicConstraints=critical,CA:TRUE']);
    expect(() => loadTls(files, { role: 'proposer', id: 1 })).toThrow(/is a CA certificate .*not a node's/);
  });

  it('refuses an extended key usage without what the role needs', () => {
    const serverOnly = issue('server-only', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=serverAuth']);
    expect(() => loadTls(serverOnly, { role: 'proposer', id: 1 })).toThrow(/extendedKeyUsage without clientAuth, which a proposer needs/);
    const clientOnly = issue('client-only', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=clientAuth']);
    expect(() => loadTls(clientOnly, { role: 'proposer', id: 1 })).toThrow(/without serverAuth, which a proposer needs/);
    const client = issue('client-x', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=clientAuth'], undefined, undefined, 'client-x');
    expect(loadTls(client, { role: 'client' }).kind).toBe('tls');
  });

  it('refuses a chain through an intermediate, and a CA file that is no CA', () => {
    const mid = issue('intermediate', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'], undefined, undefined, 'client-mid');
    const leaf = issue('through-mid', ['basicConstraints=critical,CA:FALSE'], mid.cert, mid.key);
    writeFileSync(leaf.cert, Buffer.concat([readFileSync(leaf.cert), readFileSync(mid.cert)]));
    expect(() => loadTls(leaf, { role: 'proposer', id: 1 })).toThrow(/was not issued by the CA .*issuer "CN=client-mid".*not through an intermediate/);
    expect(() => loadTls({ ...tlsFilesIn(dir, 'proposer-1'), ca: join(dir, 'proposer-1.crt') })).toThrow(/is not a CA certificate/);
  });
});
