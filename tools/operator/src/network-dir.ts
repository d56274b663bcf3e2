import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DirInUseError, INSECURE, loadTls, lockDirAcrossProcesses, networkTlsDir, tlsFilesIn, type Transport } from '@paxos/grpc-kit';

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
  if (existsSync(layoutFile)) return (JSON.parse(readFileSync(layoutFile, 'utf8')) as Partial<NetworkLayout>).tls === true ? loadTls(files, { role: 'client' }) : INSECURE;
  return existsSync(files.cert) ? loadTls(files, { role: 'client' }) : INSECURE;
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
}

export const LAYOUT_FILE = 'network.json';

export function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function logFile(dir: string, name: string): string {
  return join(dir, `${name}.log`);
}

export function dataDir(dir: string, name: string): string {
  return join(dir, `${name}.data`);
}

export function writeLayout(dir: string, layout: NetworkLayout): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${LAYOUT_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(layout, null, 2) + '\n');
  renameSync(tmp, join(dir, LAYOUT_FILE));
}

export function readLayout(dir: string): NetworkLayout {
  const path = join(dir, LAYOUT_FILE);
  if (!existsSync(path)) throw new Error(`no network described in ${dir} (${LAYOUT_FILE} is missing): start one with npm run launch`);
  return JSON.parse(readFileSync(path, 'utf8')) as NetworkLayout;
}

/** The lock launch, restart-missing and stop hold while they start or end a network's processes. */
export const NETWORK_LOCK_FILE = 'network-lock.sqlite';

/**
 * Takes the network dir's lock (an OS lock: it dies with its holder) for `what`; returns its
 * release. Two launches into one dir both passed the "already running" check before either had
 * written a pid file, and the second's pid files hid the first network from stop.
 */
export function lockNetworkDir(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true });
  try {
    return lockDirAcrossProcesses(dir, NETWORK_LOCK_FILE);
  } catch (e) {
    if (e instanceof DirInUseError) throw new Error(`cannot ${what}: another launch, restart or stop is under way in ${dir} (${e.message}); wait for it to finish, then run again`);
    throw e;
  }
}
