import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    rmSync(join(dir, 'ca.crt'));
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
