import * as childProcess from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caKeyFile, ensureNetworkCertificates } from './pki';

/**
 * openssl on a full disk: its output files are made but stay empty, and it exits 0 all the same
 * (measured with OpenSSL 3.0 writing its -out and -keyout to /dev/full). Emulated by emptying what
 * the real openssl wrote, while `diskFull` is set.
 */
let diskFull = false;
jest.mock('node:child_process', () => {
  const real = jest.requireActual<typeof childProcess>('node:child_process');
  return {
    ...real,
    execFileSync: (file: string, args: readonly string[], ...rest: unknown[]) => {
      const result = (real.execFileSync as (...a: unknown[]) => unknown)(file, args, ...rest);
      if (diskFull && file === 'openssl') {
        for (const [i, a] of args.entries()) if ((a === '-out' || a === '-keyout') && args[i + 1] !== undefined) truncateSync(args[i + 1] as string, 0);
      }
      return result;
    },
  };
});

describe('certificates issued on a full disk', () => {
  let dir: string;
  const names = ['acceptor-0', 'proposer-1', 'client-cli'];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pki-full-'));
    ensureNetworkCertificates(dir, names);
    diskFull = true;
  });
  afterEach(() => {
    diskFull = false;
    for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
  });

  it('keeps the key there was when openssl wrote nothing, and says so (it was replaced with an empty file, and an empty certificate put beside it)', () => {
    const key = readFileSync(join(dir, 'acceptor-0.key'));
    rmSync(join(dir, 'acceptor-0.crt')); // to be issued again
    expect(() => ensureNetworkCertificates(dir, names, ['proposer'])).toThrow(/openssl did not write a whole key and certificate for .*acceptor-0\.crt \(.*\): is its disk full\? The files there before are kept/);
    expect(readFileSync(join(dir, 'acceptor-0.key')).equals(key)).toBe(true);
    expect(existsSync(join(dir, 'acceptor-0.crt'))).toBe(false);
    expect(existsSync(join(dir, 'acceptor-0.key.tmp')) || existsSync(join(dir, 'acceptor-0.crt.tmp'))).toBe(false);
  });

  it("keeps the CA's key when a new CA could not be written (it was emptied)", () => {
    const caKey = readFileSync(caKeyFile(dir));
    rmSync(join(dir, 'ca.crt')); // nothing runs: a new CA is made
    expect(() => ensureNetworkCertificates(dir, names)).toThrow(/openssl did not write a whole key and certificate for .*ca\.crt/);
    expect(readFileSync(caKeyFile(dir)).equals(caKey)).toBe(true);
  });
});
