import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caKeyFile, ensureNetworkCertificates } from './pki';
import { loadTls, tlsFilesIn } from './tls';

describe('the network certificates', () => {
  let dir: string;
  const names = ['acceptor-0', 'proposer-1', 'client-cli'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pki-'));
    ensureNetworkCertificates(dir, names);
  });
  afterEach(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a new CA while processes of the network run with the old one, and writes nothing', () => {
    const before = readFileSync(join(dir, 'acceptor-0.crt'));
    // Neither the CA certificate nor its key: only a new CA could issue certificates.
    rmSync(join(dir, 'ca.crt'));
    rmSync(caKeyFile(dir));
    expect(() => ensureNetworkCertificates(dir, names, ['proposer', 'node_1'])).toThrow(/proposer, node_1 still run with the old CA .*npm run stop/);
    expect(existsSync(join(dir, 'ca.crt'))).toBe(false);
    expect(readFileSync(join(dir, 'acceptor-0.crt')).equals(before)).toBe(true);
  });

  it('renews a certificate of a running network under the CA it runs with', () => {
    rmSync(join(dir, 'acceptor-0.crt'));
    expect(ensureNetworkCertificates(dir, names, ['proposer'])).toEqual(['acceptor-0']);
    expect(loadTls(tlsFilesIn(dir, 'acceptor-0'), { role: 'acceptor', id: 0 }).kind).toBe('tls');
  });

  it('takes a CA certificate beside another key (a renewal cut between its renames) for no CA: refused while the network runs, made again when it does not', () => {
    // The renewal's new key was renamed into place; the old certificate, still valid, stayed.
    copyFileSync(join(dir, 'proposer-1.key'), caKeyFile(dir));
    rmSync(join(dir, 'acceptor-0.crt'));
    expect(() => ensureNetworkCertificates(dir, names, ['proposer'])).toThrow(/not that of the CA's key .*npm run stop/);
    expect(existsSync(join(dir, 'acceptor-0.crt'))).toBe(false);
    expect(ensureNetworkCertificates(dir, names).sort()).toEqual([...names].sort());
    for (const n of names) expect(loadTls(tlsFilesIn(dir, n)).kind).toBe('tls');
  });

  it('recovers from a CA issue cut between its two renames: a new CA, and every certificate issued again', () => {
    // The new CA's key was renamed into place; its certificate was still the temporary file.
    copyFileSync(join(dir, 'proposer-1.key'), caKeyFile(dir));
    rmSync(join(dir, 'ca.crt'));
    writeFileSync(join(dir, 'ca.crt.tmp'), 'half');
    expect(ensureNetworkCertificates(dir, names).sort()).toEqual([...names].sort());
    for (const n of names) expect(loadTls(tlsFilesIn(dir, n)).kind).toBe('tls');
  });
});

describe('certificates a launch keeps', () => {
  let dir: string;
  const names = ['acceptor-1', 'acceptor-2', 'client-cli', 'client-status'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pki-keep-'));
    ensureNetworkCertificates(dir, names);
  });
  afterEach(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });
  const copyPair = (from: string, to: string) => {
    for (const ext of ['crt', 'key']) copyFileSync(join(dir, `${from}.${ext}`), join(dir, `${to}.${ext}`));
  };

  it("issues again a node's files that hold another node's certificate and key (the node would refuse to start on them)", () => {
    copyPair('acceptor-2', 'acceptor-1');
    copyPair('client-cli', 'client-status');
    expect(() => loadTls(tlsFilesIn(dir, 'acceptor-1'), { role: 'acceptor', id: 1 })).toThrow(/certificate of acceptor-2, not acceptor-1/);
    expect(ensureNetworkCertificates(dir, names, ['proposer']).sort()).toEqual(['acceptor-1', 'client-status']);
    expect(loadTls(tlsFilesIn(dir, 'acceptor-1'), { role: 'acceptor', id: 1 }).kind).toBe('tls');
    const status = loadTls(tlsFilesIn(dir, 'client-status'));
    expect(status.kind === 'tls' && status.identity).toEqual({ role: 'client', name: 'client-status' });
    expect(ensureNetworkCertificates(dir, names, ['proposer'])).toEqual([]);
  });
});

describe('certificates issued under a CA near its end', () => {
  let dir: string;
  afterEach(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });
  /** A network folder whose CA (same name and extensions as ours) ends in `days` days. */
  const caFor = (days: number) => {
    dir = mkdtempSync(join(tmpdir(), 'pki-ca-end-'));
    mkdirSync(`${dir}-ca`, { mode: 0o700 });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKeyFile(dir), '-out', join(dir, 'ca.crt'), '-days', String(days), '-subj', '/CN=paxos-lmfdb network CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  };
  const end = (file: string) => Date.parse(new X509Certificate(readFileSync(file)).validTo);

  it("ends a node's certificate no later than the CA that issued it (peers refuse it once the CA has ended)", () => {
    caFor(100);
    expect(ensureNetworkCertificates(dir, ['acceptor-0'])).toEqual(['acceptor-0']);
    expect(end(join(dir, 'acceptor-0.crt'))).toBeLessThanOrEqual(end(join(dir, 'ca.crt')));
    const t = loadTls(tlsFilesIn(dir, 'acceptor-0'), { role: 'acceptor', id: 0 });
    expect(t.kind === 'tls' && t.notAfter.getTime()).toBeLessThanOrEqual(end(join(dir, 'ca.crt')));
  });

  it('keeps a certificate that ends as late as one issued now would, while the network runs on a CA within the renewal margin', () => {
    caFor(20);
    expect(ensureNetworkCertificates(dir, ['acceptor-0', 'client-cli'], ['proposer']).sort()).toEqual(['acceptor-0', 'client-cli']);
    const before = readFileSync(join(dir, 'acceptor-0.crt'));
    // A new one would end with the CA too: issuing again only rewrote every running node's files.
    expect(ensureNetworkCertificates(dir, ['acceptor-0', 'client-cli'], ['proposer'])).toEqual([]);
    expect(readFileSync(join(dir, 'acceptor-0.crt')).equals(before)).toBe(true);
  });

  it('refuses to issue under a CA that ends within a day, saying how to get a new one', () => {
    caFor(1);
    expect(() => ensureNetworkCertificates(dir, ['acceptor-0'], ['proposer'])).toThrow(/ends on .*too soon to issue .*launch it again, which makes a new CA/);
  });
});

describe('a CA certificate damaged while the network runs', () => {
  let dir: string;
  const names = ['acceptor-0', 'proposer-1', 'client-cli'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pki-damaged-'));
    ensureNetworkCertificates(dir, names);
  });
  afterEach(() => {
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  it.each([
    ['emptied', Buffer.alloc(0)],
    ['cut short', (d: string) => readFileSync(join(d, 'ca.crt')).subarray(0, 200)],
    // It was refused as needing a new CA (stop the network and launch it again), while an emptied one was issued again.
    ['deleted', undefined],
  ])('is issued again from the kept key when %s: it verifies the certificates the running nodes hold, which are kept', (_what, damage) => {
    const before = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    const nodeCert = readFileSync(join(dir, 'acceptor-0.crt'));
    if (damage === undefined) rmSync(join(dir, 'ca.crt'));
    else writeFileSync(join(dir, 'ca.crt'), typeof damage === 'function' ? damage(dir) : damage);
    expect(ensureNetworkCertificates(dir, names, ['proposer', 'node_1'])).toEqual([]);
    const after = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    expect(after.subject).toBe(before.subject);
    expect(after.publicKey.export({ format: 'der', type: 'spki' }).equals(before.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    expect(readFileSync(join(dir, 'acceptor-0.crt')).equals(nodeCert)).toBe(true);
    for (const n of names) expect(loadTls(tlsFilesIn(dir, n)).kind).toBe('tls');
    // openssl agrees: the old node certificates chain to the re-issued CA.
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'acceptor-0.crt')]).toString()).toMatch(/: OK/);
  });

  it('is not replaced when the kept key did not issue the certificates in tls/ (another CA\'s key), and nothing is written', () => {
    copyFileSync(join(dir, 'proposer-1.key'), caKeyFile(dir));
    writeFileSync(join(dir, 'ca.crt'), '');
    expect(() => ensureNetworkCertificates(dir, names, ['proposer'])).toThrow(/ca\.crt is damaged and is not issued again from the CA's key: the CA's key .* did not issue the certificates of acceptor-0, proposer-1, client-cli .*npm run stop/);
    expect(readFileSync(join(dir, 'ca.crt')).length).toBe(0);
    expect(existsSync(join(dir, 'ca.crt.tmp'))).toBe(false);
  });
});
