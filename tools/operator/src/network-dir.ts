import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, DirInUseError, INSECURE, loadTls, lockDirAcrossProcesses, networkTlsDir, tlsFilesIn, type Transport } from '@paxos/grpc-kit';
import { shellWord } from './shell-word';

/** Where launch keeps pid files, logs, data, TLS files and the layout of the running network. */
export { defaultNetworkDir, networkTlsDir } from '@paxos/grpc-kit';

/** The certificate the operator tools present (check, submit, read). */
export const CLIENT_CERT_NAME = 'client-cli';
/** The certificate `npm run ingest -- serve` presents. */
export const INGEST_CERT_NAME = 'client-lmfdb';
/** The certificate the status page presents (the app's default name for --tls-dir). */
export const STATUS_CERT_NAME = 'client-status';
/** Where launch keeps the status page's pid and log (status-page.pid, status-page.log). */
export const STATUS_PAGE_NAME = 'status-page';

/**
 * How the operator tools reach the network in dir: with its client certificate, or plaintext when
 * it was launched with --insecure (or has no TLS folder).
 */
export function clientTransport(dir: string): Transport {
  const layoutFile = join(dir, LAYOUT_FILE);
  const files = tlsFilesIn(networkTlsDir(dir), CLIENT_CERT_NAME);
  // A network described without `tls` was launched before TLS existed: plaintext.
  if (existsSync(layoutFile)) return readLayout(dir).tls === true ? loadClientTls(dir, files) : INSECURE;
  return existsSync(files.cert) ? loadClientTls(dir, files) : INSECURE;
}

/**
 * The operator tools' certificate. They take no --tls-* or --insecure flags, so the node's advice
 * ("give --tls-ca/--tls-cert/--tls-key, or run with --insecure") is replaced by theirs.
 */
function loadClientTls(dir: string, files: ReturnType<typeof tlsFilesIn>): Transport {
  try {
    return loadTls(files, { role: 'client' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const message = e.message.replace(/: create the network's certificates with npm run launch, give --tls-ca\/--tls-cert\/--tls-key, or run with --insecure$/, '');
    throw new ConfigError(`${message}: the operator tools present the network's ${CLIENT_CERT_NAME} certificate from ${networkTlsDir(dir)}; launch (or launch -- --restart-missing --dir ${shellWord(dir)}) issues it again while the CA's key is in ${dir}/tls-ca`);
  }
}

/** The repository root, from a bundle in dist/tools/operator/. */
export function workspaceRoot(): string {
  return resolve(__dirname, '../../..');
}

export interface NodeLayout {
  readonly name: string; // "node_0" or "proposer"
  readonly role: 'acceptor' | 'proposer';
  readonly id: number;
  readonly address: string;
  readonly source?: number;
  /** Where Prometheus scrapes it (http://<metricsAddress>/metrics). */
  readonly metricsAddress?: string;
}

export interface NetworkLayout {
  readonly createdAt: string;
  readonly nodes: readonly NodeLayout[];
  readonly proposer: string;
  readonly lmfdbCacheDir: string;
  /** Mutual TLS with the certificates in tls/ (false or absent: plaintext, --insecure or a network from before TLS). */
  readonly tls?: boolean;
  /** Where the live status page is served (http://<statusPage>/); absent on networks launched before it existed. */
  readonly statusPage?: string;
  /**
   * True while the launch of a new network (no acceptor held votes) has not yet started every
   * acceptor: launch writes it before the first acceptor and removes it before it starts the
   * proposer, so an acceptor that holds no data meanwhile never gave a promise or a vote (it was
   * never started, not a node that lost its data).
   */
  readonly acceptorsStarting?: boolean;
}

export const LAYOUT_FILE = 'network.json';

/** The port of an address "host:port". */
export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

export function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function logFile(dir: string, name: string): string {
  return join(dir, `${name}.log`);
}

export function dataDir(dir: string, name: string): string {
  return join(dir, `${name}.data`);
}

/**
 * Writes network.json whole and durably (synced, renamed, the dir synced): the acceptorsStarting
 * mark it clears says which acceptors may have voted, and a power cut must not bring it back.
 */
export function writeLayout(dir: string, layout: NetworkLayout): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${LAYOUT_FILE}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, JSON.stringify(layout, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, LAYOUT_FILE));
  } catch (e) {
    // The network.json there before is whole (the new one was to be renamed over it); no half-written copy is left beside it.
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a read-only disk: none was made
    }
    throw new Error(`cannot write ${join(dir, LAYOUT_FILE)} (${(e as Error).message}): is its disk full or read-only?`);
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function readLayout(dir: string): NetworkLayout {
  const path = join(dir, LAYOUT_FILE);
  // A file where the dir should be: "network.json is missing" and a launch into that file would not help.
  refuseNonDirectory(dir);
  if (!existsSync(path)) throw new Error(`no network described in ${dir} (${LAYOUT_FILE} is missing): start one with npm start (the default dir) or npm run launch -- --dir ${shellWord(dir)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}): restore it, or end the network's processes by their pid files and launch again`);
  }
  const problem = layoutProblem(doc);
  if (problem) throw new Error(`${path} does not describe a network launch made: ${problem}`);
  return doc as NetworkLayout;
}

/** Acceptors a layout may have (launch's --nodes bound). */
const LAYOUT_ACCEPTORS_MAX = 100;
const ADDRESS = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/;
const isAddress = (a: unknown): a is string => typeof a === 'string' && ADDRESS.test(a) && Number(ADDRESS.exec(a)?.[2]) >= 1 && Number(ADDRESS.exec(a)?.[2]) <= 65535;

/**
 * What is wrong with a parsed network.json, or undefined. Its names become file names in the
 * dir and its addresses are dialled, so only what launch writes passes: acceptors node_0..node_{n-1}
 * with ids 0..n-1, one proposer, loopback addresses.
 */
export function layoutProblem(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'it is not a JSON object';
  const l = doc as Record<string, unknown>;
  if (!Array.isArray(l['nodes'])) return '"nodes" is not a list';
  const nodes = l['nodes'] as unknown[];
  const acceptors = nodes.filter((n) => (n as { role?: unknown })?.role === 'acceptor');
  const proposers = nodes.filter((n) => (n as { role?: unknown })?.role === 'proposer');
  if (acceptors.length < 1 || acceptors.length > LAYOUT_ACCEPTORS_MAX) return `it has ${acceptors.length} acceptors (1..${LAYOUT_ACCEPTORS_MAX})`;
  if (proposers.length !== 1 || acceptors.length + proposers.length !== nodes.length) return 'it needs exactly one proposer, and every node an acceptor or proposer role';
  for (const [i, a] of acceptors.entries()) {
    const n = a as Record<string, unknown>;
    if (n['id'] !== i || n['name'] !== `node_${i}`) return `acceptor ${i} must be named node_${i} with id ${i}`;
    if (!isAddress(n['address'])) return `node_${i} has no loopback address host:port`;
    if (n['metricsAddress'] !== undefined && !isAddress(n['metricsAddress'])) return `node_${i} has a metricsAddress that is not a loopback host:port`;
  }
  const p = proposers[0] as Record<string, unknown>;
  if (p['name'] !== 'proposer' || !Number.isInteger(p['id']) || (p['id'] as number) < 0) return 'the proposer must be named proposer with an integer id';
  if (!isAddress(p['address']) || p['address'] !== l['proposer']) return 'the proposer has no loopback address, or "proposer" differs from its node';
  if (p['metricsAddress'] !== undefined && !isAddress(p['metricsAddress'])) return 'the proposer has a metricsAddress that is not a loopback host:port';
  if (typeof l['lmfdbCacheDir'] !== 'string') return '"lmfdbCacheDir" is not a path';
  if (l['tls'] !== undefined && typeof l['tls'] !== 'boolean') return '"tls" is not true or false';
  if (l['statusPage'] !== undefined && !isAddress(l['statusPage'])) return '"statusPage" is not a loopback host:port';
  if (l['acceptorsStarting'] !== undefined && l['acceptorsStarting'] !== true) return '"acceptorsStarting" is not true';
  return undefined;
}

/** The lock launch, restart-missing and stop hold while they start or end a network's processes. */
export const NETWORK_LOCK_FILE = 'network-lock.sqlite';

/**
 * Takes the network dir's lock (an OS lock: it dies with its holder) for `what`, waiting up to
 * waitMs for another holder to finish; resolves with its release. Two launches into one dir both passed the "already running" check before either had
 * written a pid file, and the second's pid files hid the first network from stop.
 */
export async function lockNetworkDir(dir: string, what: string, waitMs = 0): Promise<() => void> {
  refuseNonDirectory(dir);
  makeDir(dir);
  const until = performance.now() + waitMs;
  for (;;) {
    try {
      // The lock guards starting and ending processes, not data: a damaged lock file is made again.
      return lockDirAcrossProcesses(dir, NETWORK_LOCK_FILE, { remakeDamaged: true });
    } catch (e) {
      if (!(e instanceof DirInUseError)) throw e;
      // Refused as a second launch into a running network is (exit 2): nothing was done.
      if (performance.now() >= until) throw new ConfigError(`cannot ${what}: another launch, restart or stop is under way in ${dir} (${e.message}); wait for it to finish, then run again`);
    }
    await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
  }
}

/**
 * A network dir that names a file, or a path through one, is refused as the bad flag it is (exit
 * 2), before anything is made there: mkdir and readdir said only EEXIST or ENOTDIR.
 */
export function refuseNonDirectory(dir: string, what = 'the network dir', flag = '--dir (or PAXOS_NETWORK_DIR)'): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new ConfigError(`${what} ${dir} cannot be made: a part of that path is a file; give ${flag} a directory`);
    throw e;
  }
  if (!isDirectory) throw new ConfigError(`${what} ${dir} is a file, not a directory; give ${flag} a directory, or a path that does not exist yet`);
}

/**
 * mkdir -p, failing with why: on a read-only disk Node's recursive mkdir says only "ENOENT: no
 * such file or directory", of a dir that was to be made; the first missing part, made alone, says EROFS.
 */
function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    let why = (e as Error).message;
    let missing = dir;
    while (!existsSync(dirname(missing)) && dirname(missing) !== missing) missing = dirname(missing);
    try {
      mkdirSync(missing);
    } catch (first) {
      why = (first as Error).message;
    }
    throw new Error(`cannot make the network dir ${dir} (${why}): give --dir (or PAXOS_NETWORK_DIR) a place this user can write to`);
  }
}

/** How often a command waiting for the network dir's lock tries it again. */
const LOCK_RETRY_MS = 200;
