// The network's own certificates, made with the system's openssl (no library needed for a CA of
// a few dozen certificates; openssl is on every machine that runs the network, and .ci/run
// installs it): a CA, and one certificate per node named by role and id (tls.ts). Keys are EC
// P-256, readable by the owner only. The CA's key is kept apart from the folder the nodes are
// given (`<tls dir>-ca/`), so a copy of a node's folder cannot issue certificates. A certificate
// still valid for 30 days (and matching its key) is kept; one that is not, or is missing, is issued
// again; each is written to temporary files and renamed into place.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { identityOfName, keyMatches, loadTls, type TlsFiles, tlsFilesIn } from './tls';

const CA_DAYS = 3650;
const NODE_DAYS = 825;
/**
 * A certificate valid for fewer days than this is issued again (and `check` warns of one a node
 * presents): a node reads its certificate when it starts, so the margin leaves time to restart
 * the nodes one at a time.
 */
export const CERTIFICATE_RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;
const RENEW_BEFORE_MS = CERTIFICATE_RENEW_BEFORE_DAYS * DAY_MS;
const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
/** The CA certificate's name and extensions: a certificate re-issued from the CA's key with them verifies every certificate the key issued (their authority key id names the key alone, not the CA certificate's serial). */
const CA_ARGS = ['-days', String(CA_DAYS), '-subj', '/CN=paxos-lmfdb network CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];

/** Where the CA's key of the TLS folder `dir` is kept. */
export function caKeyFile(dir: string): string {
  return join(`${dir}-ca`, 'ca.key');
}

/**
 * Makes sure `dir` holds the CA and a valid certificate for each of `names` ("acceptor-0",
 * "proposer-1", "client-cli"); returns the names it issued. A CA is made only when there is none
 * (or it expired); a certificate to issue without the CA's key is an error that says so.
 * `running` names the network's processes that run now: they trust the CA they started with, so
 * while any runs a new CA is refused (with what to do) before anything is written.
 */
export function ensureNetworkCertificates(dir: string, names: readonly string[], running: readonly string[] = []): string[] {
  for (const n of names) if (identityOfName(n) === undefined) throw new Error(`assertion: "${n}" is not a certificate name of ours`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCrt = join(dir, 'ca.crt');
  const caKey = caKeyFile(dir);
  let newCa = false;
  // With nothing running a CA near its end is made again (every node then starts with the new
  // one); while the network runs, only one that is gone or expired, and that is refused below.
  // Checked against its key where that is here: a renewal killed between renaming the new key
  // into place and the new certificate left the old certificate beside the new key, and every
  // certificate issued then would be signed by a key the nodes' CA certificate does not name.
  if (!validFor(caCrt, existsSync(caKey) ? caKey : undefined, running.length === 0 ? RENEW_BEFORE_MS : 0)) {
    // A CA certificate damaged in place (emptied, cut short, overwritten) or deleted while the
    // network runs: issued again from the CA's key, under the same name, once it verifies the
    // certificates in the folder (the running nodes trust the old one and the new one alike: same
    // key, same name). A deleted one was refused, while an emptied one was issued again.
    if (running.length > 0 && existsSync(caKey) && (isDamaged(caCrt) || !existsSync(caCrt))) reissueCa(dir, caKey, caCrt, names);
    else {
      if (running.length > 0) {
        const shown = running.length > 3 ? `${running.slice(0, 3).join(', ')} and ${running.length - 3} more` : running.join(', ');
        throw new Error(
          `the CA certificate ${caCrt} is missing, unreadable, expired or not that of the CA's key ${caKey}, so a new CA would issue every certificate again, but ${shown} still run with the old CA and would refuse every node started with the new one: stop the network (npm run stop) and launch it again`,
        );
      }
      mkdirSync(join(caKey, '..'), { recursive: true, mode: 0o700 });
      issue(caKey, caCrt, CA_ARGS);
      newCa = true;
    }
  }
  // The CA's key and every key kept are readable by their owner only, as when they were issued: a
  // key copied in or loosened by hand (mode 644) was kept as it was, and the CA's key so let any
  // user of the machine issue itself a proposer's certificate.
  if (existsSync(caKey)) keepPrivate(caKey);
  const issued: string[] = [];
  for (const name of names) {
    const files = tlsFilesIn(dir, name);
    if (!newCa && keptFor(files, name, RENEW_BEFORE_MS)) {
      keepPrivate(files.key);
      continue;
    }
    if (!existsSync(caKey)) throw new Error(`${name}'s certificate in ${dir} must be issued, and the CA's key ${caKey} is not there: put it back, or remove ${caCrt} to start a new CA`);
    issue(files.key, files.cert, [
      '-days', String(nodeDays(caCrt)), '-subj', `/CN=${name}`, '-CA', caCrt, '-CAkey', caKey,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature',
    ]);
    issued.push(name);
  }
  return issued;
}

/** Makes a private key readable and writable by its owner only, or says why it cannot be. */
function keepPrivate(keyFile: string): void {
  const mode = statSync(keyFile).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(keyFile, mode & 0o700);
  } catch (e) {
    throw new Error(`the private key ${keyFile} is readable by others (mode ${mode.toString(8)}) and cannot be made private (${(e as Error).message}): run chmod 600 ${keyFile} as its owner`);
  }
}

/** A file that is there but holds no certificate (empty, cut short, overwritten): damaged, not missing. */
function isDamaged(file: string): boolean {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return false;
  }
  try {
    new X509Certificate(bytes);
    return false;
  } catch {
    return true;
  }
}

/**
 * Writes the CA certificate again from the CA's key, with the name and extensions it was made
 * with, when it verifies every certificate of `names` in `dir` (at least one): the proof that the
 * key is the one that issued the certificates the running nodes present. Otherwise nothing is
 * written and the refusal says why: a CA is never replaced by another key's.
 */
function reissueCa(dir: string, caKey: string, caCrt: string, names: readonly string[]): void {
  const tmp = `${caCrt}.tmp`;
  rmSync(tmp, { force: true });
  openssl(['req', '-x509', '-key', caKey, '-out', tmp, ...CA_ARGS]);
  const ca = new X509Certificate(readFileSync(tmp));
  const held = names.flatMap((n) => {
    try {
      return [{ name: n, cert: new X509Certificate(readFileSync(tlsFilesIn(dir, n).cert)) }];
    } catch {
      return [];
    }
  });
  const foreign = held.filter((h) => !h.cert.checkIssued(ca) || !h.cert.verify(ca.publicKey)).map((h) => h.name);
  if (held.length === 0 || foreign.length > 0) {
    rmSync(tmp, { force: true });
    const why = held.length === 0 ? `no certificate in ${dir} to check the CA's key ${caKey} against` : `the CA's key ${caKey} did not issue the certificates of ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''} in ${dir}`;
    throw new Error(`the CA certificate ${caCrt} is ${existsSync(caCrt) ? 'damaged' : 'missing'} and is not issued again from the CA's key: ${why}, so the running nodes would not trust it; put the CA certificate back, or stop the network (npm run stop) and launch it again`);
  }
  chmodSync(tmp, 0o644);
  fsyncPath(tmp);
  renameSync(tmp, caCrt);
  fsyncPath(dir);
}

/**
 * How many days a node certificate issued now under the CA in `caCrt` is given: NODE_DAYS, or
 * fewer so that it ends before the CA does. A peer refuses every certificate once the CA that
 * issued it has ended, so a later end only misled (check counted the node's days left from it).
 * Less than a day left is refused: a certificate issued for 0 days has already ended.
 */
function nodeDays(caCrt: string): number {
  const caEnd = Date.parse(new X509Certificate(readFileSync(caCrt)).validTo);
  // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
  const days = Math.min(NODE_DAYS, Math.floor((caEnd - Date.now()) / DAY_MS));
  if (days < 1) throw new Error(`the CA certificate ${caCrt} ends on ${new Date(caEnd).toISOString()}, too soon to issue a certificate under it: stop the network (npm run stop) and launch it again, which makes a new CA`);
  return days;
}

/**
 * One key and certificate, written beside their places, synced, and renamed into them (the key
 * first), the folders synced after: a power cut leaves the old pair or the new one, never an
 * empty certificate (which the next launch would take for a missing CA and make a new one).
 */
function issue(keyFile: string, certFile: string, args: readonly string[]): void {
  const tmpKey = `${keyFile}.tmp`;
  const tmpCert = `${certFile}.tmp`;
  rmSync(tmpKey, { force: true });
  openssl(['req', '-x509', ...CURVE, '-keyout', tmpKey, '-out', tmpCert, ...args]);
  // openssl exits 0 when it could not write its output (a full disk): its empty files, renamed
  // into place, replaced a key and certificate (the CA's among them) with nothing.
  try {
    new X509Certificate(readFileSync(tmpCert));
    createPrivateKey(readFileSync(tmpKey));
  } catch (e) {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
    throw new Error(`openssl did not write a whole key and certificate for ${certFile} (${(e as Error).message}): is its disk full? The files there before are kept`);
  }
  chmodSync(tmpKey, 0o600);
  fsyncPath(tmpKey);
  fsyncPath(tmpCert);
  renameSync(tmpKey, keyFile);
  renameSync(tmpCert, certFile);
  for (const dir of new Set([dirname(keyFile), dirname(certFile)])) fsyncPath(dir);
}

/** Syncs a file or a folder (opened read-only: fsync needs no write access). */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `name`'s node would start on its files (loadTls: issued by the CA, its name, its key,
 * its usages) and the certificate is valid for `marginMs` more, or ends within a day of the CA
 * (as late as one issued now would: nodeDays). Checking less kept files a node then refused:
 * another node's certificate and key copied over its own stayed, and the node would not start
 * until they were removed by hand. Without the CA's end, a running network's CA within the
 * margin had every certificate issued again at each launch, ending no later than before.
 */
function keptFor(files: TlsFiles, name: string, marginMs: number): boolean {
  const identity = identityOfName(name);
  if (identity === undefined) return false;
  try {
    const t = loadTls(files, identity.role === 'client' ? { role: 'client' } : { role: identity.role, ...(identity.id !== undefined ? { id: identity.id } : {}) });
    if (t.kind !== 'tls' || t.identity.name !== name) return false;
    const caEnd = Date.parse(new X509Certificate(t.ca).validTo);
    // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
    return t.notAfter.getTime() - Date.now() >= marginMs || t.notAfter.getTime() >= caEnd - DAY_MS;
  } catch {
    return false;
  }
}

/** True when the CA certificate exists, is valid for `marginMs` more and goes with its key (when given). */
function validFor(file: string, keyFile: string | undefined, marginMs: number): boolean {
  try {
    const cert = new X509Certificate(readFileSync(file));
    // eslint-disable-next-line no-restricted-properties -- a certificate's validity names moments
    if (Date.parse(cert.validTo) - Date.now() < marginMs) return false;
    return keyFile === undefined || keyMatches(readFileSync(keyFile), cert);
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
