// The network's own certificates, made with the system's openssl (no library needed for a CA of
// a few dozen certificates; openssl is on every machine that runs the network, and .ci/run
// installs it): a CA, and one certificate per node named by role and id (tls.ts). Keys are EC
// P-256, readable by the owner only. A certificate still valid for a week is kept; one that is
// not, or is missing, is issued again; a new CA reissues them all.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { identityOfName, tlsFilesIn } from './tls';

const CA_DAYS = 3650;
const NODE_DAYS = 825;
/** A certificate valid for less than this is issued again. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Makes sure `dir` holds the CA and a valid certificate for each of `names` ("acceptor-0",
 * "proposer-1", "client-cli"); returns the names it issued.
 */
export function ensureNetworkCertificates(dir: string, names: readonly string[]): string[] {
  for (const n of names) if (identityOfName(n) === undefined) throw new Error(`assertion: "${n}" is not a certificate name of ours`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCrt = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  let newCa = false;
  if (!validFor(caCrt, RENEW_BEFORE_MS * 4) || !existsSync(caKey)) {
    openssl(['req', '-x509', ...CURVE, '-keyout', caKey, '-out', caCrt, '-days', String(CA_DAYS), '-subj', '/CN=paxos-lmfdb network CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    chmodSync(caKey, 0o600);
    newCa = true;
  }
  const issued: string[] = [];
  for (const name of names) {
    const files = tlsFilesIn(dir, name);
    if (!newCa && existsSync(files.key) && validFor(files.cert, RENEW_BEFORE_MS, caCrt)) continue;
    rmSync(files.key, { force: true });
    openssl(['req', '-x509', ...CURVE, '-keyout', files.key, '-out', files.cert, '-days', String(NODE_DAYS), '-subj', `/CN=${name}`, '-CA', caCrt, '-CAkey', caKey,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature']);
    chmodSync(files.key, 0o600);
    issued.push(name);
  }
  return issued;
}

/** True when the certificate exists, is valid for `marginMs` more and (when given) was issued by the CA in `caFile`. */
function validFor(file: string, marginMs: number, caFile?: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(file));
    if (Date.parse(cert.validTo) - Date.now() < marginMs) return false;
    if (caFile === undefined) return true;
    const ca = new X509Certificate(readFileSync(caFile));
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; message: string };
    if (err.code === 'ENOENT') throw new Error('openssl is not installed: install it (apt-get install openssl) or run the network with --insecure');
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}
