import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './logger';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { loadTls, tlsFilesIn } from './tls';
import { startupTransport } from './transport-options';

const logger = createLogger('tls-self-check-test');
logger.level = 'silent';

// OpenSSL refuses in the handshake what node:crypto cannot show (a keyUsage without
// digitalSignature): such a node started, and then every connection it made failed.
describe('a node tries its certificate as its peers will at start', () => {
  let dir: string;
  let exit: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-self-'));
    ensureNetworkCertificates(dir, ['proposer-1']);
  });
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    exit.mockRestore();
    stderr.mockRestore();
  });
  afterAll(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  /** proposer-1's certificate issued again as `name` with this keyUsage. */
  const issue = (name: string, keyUsage: string) => {
    const files = tlsFilesIn(dir, name);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '30', '-subj', '/CN=proposer-1', '-CA', join(dir, 'ca.crt'), '-CAkey', caKeyFile(dir), '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', `keyUsage=critical,${keyUsage}`], { stdio: 'ignore' });
    return files;
  };
  const start = (files: ReturnType<typeof tlsFilesIn>) => startupTransport('proposer', { 'tls-ca': files.ca, 'tls-cert': files.cert, 'tls-key': files.key }, 'proposer-1', { role: 'proposer', id: 1 }, logger, 'test');

  it('refuses a keyUsage without digitalSignature, which the start-up checks took, saying what is wrong', async () => {
    const files = issue('no-signature', 'keyEncipherment');
    expect(loadTls(files, { role: 'proposer', id: 1 }).kind).toBe('tls');
    await expect(start(files)).rejects.toThrow('exit 2');
    const said = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(said).toMatch(/proposer-1's certificate would be refused by its peers in the TLS handshake as a client: its keyUsage or extendedKeyUsage does not allow this use .*issue it again/);
  });

  it('starts on the certificates the network issues, and on a keyUsage with digitalSignature', async () => {
    expect((await start(tlsFilesIn(dir, 'proposer-1'))).kind).toBe('tls');
    expect((await start(issue('signature', 'digitalSignature,keyEncipherment'))).kind).toBe('tls');
    expect(exit).not.toHaveBeenCalled();
  });
});
