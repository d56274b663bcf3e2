import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where launch keeps pid files, logs, data and the layout of the running network. */
export function defaultNetworkDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['PAXOS_NETWORK_DIR'] || join(homedir(), '.openclaw', 'consensus');
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
}

export interface NetworkLayout {
  readonly createdAt: string;
  readonly nodes: readonly NodeLayout[];
  readonly proposer: string;
  readonly lmfdbCacheDir: string;
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
