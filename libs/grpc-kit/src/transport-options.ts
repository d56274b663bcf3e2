// The flags every process of the network takes for its transport, and how they resolve: the
// network folder's TLS files for the process's own name by default, single files when given, or
// plaintext only with --insecure (which the caller logs as a warning at start).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config';
import type { Logger } from './logger';
import { exitWithError } from './signals';
import { SERVER_BOUND_DEFAULTS as D } from './server';
import { handshakeProblem } from './tls-self-check';
import { INSECURE, loadTls, type NodeRole, type TlsFiles, type Transport, tlsFilesIn } from './tls';

/** Where npm run launch keeps a network (pid files, logs, data, and its TLS files in tls/). */
export function defaultNetworkDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['PAXOS_NETWORK_DIR'] || join(homedir(), '.openclaw', 'consensus');
}

/** The TLS folder of a network folder. */
export function networkTlsDir(networkDir: string): string {
  return join(networkDir, 'tls');
}

export const TRANSPORT_OPTIONS = {
  'tls-dir': { type: 'string', env: 'PAXOS_TLS_DIR', description: "folder with the network's ca.crt and this process's <role>-<id>.crt/.key", defaultText: 'default <network folder>/tls' },
  'tls-ca': { type: 'string', env: 'PAXOS_TLS_CA', description: "the network's CA certificate (PEM)", defaultText: 'default <tls-dir>/ca.crt' },
  'tls-cert': { type: 'string', env: 'PAXOS_TLS_CERT', description: "this process's certificate (PEM)", defaultText: 'default <tls-dir>/<role>-<id>.crt' },
  'tls-key': { type: 'string', env: 'PAXOS_TLS_KEY', description: "this process's private key (PEM)", defaultText: 'default <tls-dir>/<role>-<id>.key' },
  insecure: { type: 'boolean', env: 'PAXOS_INSECURE', description: 'plaintext gRPC, no certificates (local experiments only; logged as a warning)' },
} as const;

/** Bounds every server of the network takes as flags (defaults in server.ts). */
export const SERVER_BOUND_OPTIONS = {
  'max-connections': { type: 'integer', env: 'PAXOS_MAX_CONNECTIONS', default: D.maxConnections, description: 'client connections open at once; one more is closed as it arrives' },
  'max-connections-per-client': {
    type: 'integer',
    env: 'PAXOS_MAX_CONNECTIONS_PER_CLIENT',
    default: D.maxConnectionsPerClient,
    description: "connections of one client certificate at once (TLS; proposers and acceptors have places of their own)",
  },
  'max-streams-per-connection': { type: 'integer', env: 'PAXOS_MAX_STREAMS', default: D.maxConcurrentStreams, description: 'calls open at once on one connection; one more waits for one to end' },
  'max-calls': { type: 'integer', env: 'PAXOS_MAX_CALLS', default: D.maxCalls, description: 'calls open at once on this server; one more is RESOURCE_EXHAUSTED' },
  'max-calls-per-client': { type: 'integer', env: 'PAXOS_MAX_CALLS_PER_CLIENT', default: D.maxCallsPerClient, description: "calls open at once from one client (its certificate's name; its connection on plaintext)" },
  'idle-connection-ms': { type: 'integer', env: 'PAXOS_IDLE_CONNECTION_MS', default: D.idleConnectionMs, description: 'a connection with no call open for this long is closed' },
  'keepalive-ms': { type: 'integer', env: 'PAXOS_KEEPALIVE_MS', default: D.keepaliveMs, description: 'a connection silent this long is pinged' },
  'keepalive-timeout-ms': { type: 'integer', env: 'PAXOS_KEEPALIVE_TIMEOUT_MS', default: D.keepaliveTimeoutMs, description: 'a ping not answered within this is a dead peer: its connection is closed' },
  'max-pending-answer-bytes': { type: 'integer', env: 'PAXOS_MAX_PENDING_ANSWER_BYTES', default: D.maxPendingAnswerBytes, description: 'bytes of unary answers sent and not yet read by the clients; beyond, new calls get RESOURCE_EXHAUSTED' },
  'max-pending-answer-bytes-per-peer': {
    type: 'integer',
    env: 'PAXOS_MAX_PENDING_ANSWER_BYTES_PER_PEER',
    default: D.maxPendingAnswerBytesPerPeer,
    description: "the same for one client (its certificate's name; its connection on plaintext)",
  },
} as const;

/** The bounds every server of the network takes (defaults in server.ts). */
export interface ServerBounds {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxConcurrentStreams: number;
  readonly maxCalls: number;
  readonly maxCallsPerClient: number;
  readonly idleConnectionMs: number;
  readonly keepaliveMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly maxPendingAnswerBytes: number;
  readonly maxPendingAnswerBytesPerPeer: number;
}

/** The server bounds from parsed flags, checked. */
export function serverBounds(o: {
  readonly 'max-connections'?: number | undefined;
  readonly 'max-connections-per-client'?: number | undefined;
  readonly 'max-streams-per-connection'?: number | undefined;
  readonly 'max-calls'?: number | undefined;
  readonly 'max-calls-per-client'?: number | undefined;
  readonly 'idle-connection-ms'?: number | undefined;
  readonly 'keepalive-ms'?: number | undefined;
  readonly 'keepalive-timeout-ms'?: number | undefined;
  readonly 'max-pending-answer-bytes'?: number | undefined;
  readonly 'max-pending-answer-bytes-per-peer'?: number | undefined;
}): ServerBounds {
  const within = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`--${name} must be ${lo}..${hi}, got ${v}`);
    return v;
  };
  return {
    maxConnections: within('max-connections', o['max-connections'] ?? D.maxConnections, 1, 100_000),
    maxConnectionsPerClient: within('max-connections-per-client', o['max-connections-per-client'] ?? D.maxConnectionsPerClient, 1, 100_000),
    maxConcurrentStreams: within('max-streams-per-connection', o['max-streams-per-connection'] ?? D.maxConcurrentStreams, 1, 100_000),
    ...callBounds(o['max-calls'] ?? D.maxCalls, o['max-calls-per-client'] ?? D.maxCallsPerClient, within),
    idleConnectionMs: within('idle-connection-ms', o['idle-connection-ms'] ?? D.idleConnectionMs, 1000, 86_400_000),
    keepaliveMs: within('keepalive-ms', o['keepalive-ms'] ?? D.keepaliveMs, 1000, 86_400_000),
    keepaliveTimeoutMs: within('keepalive-timeout-ms', o['keepalive-timeout-ms'] ?? D.keepaliveTimeoutMs, 100, 3_600_000),
    ...pendingAnswerBounds(o['max-pending-answer-bytes'] ?? D.maxPendingAnswerBytes, o['max-pending-answer-bytes-per-peer'] ?? D.maxPendingAnswerBytesPerPeer, within),
  };
}
const MIB = 1024 * 1024;

/** Calls open at once, in all and per client (the per-client share within the total). */
function callBounds(total: number, perClient: number, within: (name: string, v: number, lo: number, hi: number) => number) {
  const maxCalls = within('max-calls', total, 16, 10_000_000);
  return { maxCalls, maxCallsPerClient: within('max-calls-per-client', perClient, 16, maxCalls) };
}

/** The answer budget's bounds: each at least one 4 MiB answer and a margin, the per-client share within the total. */
function pendingAnswerBounds(total: number, perPeer: number, within: (name: string, v: number, lo: number, hi: number) => number) {
  const maxPendingAnswerBytes = within('max-pending-answer-bytes', total, 8 * MIB, 64 * 1024 * MIB);
  const maxPendingAnswerBytesPerPeer = within('max-pending-answer-bytes-per-peer', perPeer, 8 * MIB, maxPendingAnswerBytes);
  return { maxPendingAnswerBytes, maxPendingAnswerBytesPerPeer };
}

export interface TransportFlags {
  readonly 'tls-dir'?: string | undefined;
  readonly 'tls-ca'?: string | undefined;
  readonly 'tls-cert'?: string | undefined;
  readonly 'tls-key'?: string | undefined;
  readonly insecure?: boolean | undefined;
}

/** The transport the flags ask for, checked (files exist, issued by the CA, valid, for `name`'s role and id). */
export function resolveTransport(flags: TransportFlags, name: string, expected: { readonly role: NodeRole; readonly id?: number }, env: NodeJS.ProcessEnv = process.env): Transport {
  if (flags.insecure) {
    if (flags['tls-cert'] || flags['tls-key'] || flags['tls-ca']) throw new ConfigError('--insecure and --tls-ca/--tls-cert/--tls-key contradict each other: give one or the other');
    return INSECURE;
  }
  const dir = flags['tls-dir'] ?? networkTlsDir(defaultNetworkDir(env));
  const files: TlsFiles = { ...tlsFilesIn(dir, name), ...(flags['tls-ca'] ? { ca: flags['tls-ca'] } : {}), ...(flags['tls-cert'] ? { cert: flags['tls-cert'] } : {}), ...(flags['tls-key'] ? { key: flags['tls-key'] } : {}) };
  return loadTls(files, expected);
}

/**
 * A node's transport at start: resolved and checked, its certificate tried in a handshake with
 * itself (what its peers will check), or the process exits 2 with the reason; a plaintext one is
 * logged as a warning saying what it gives away.
 */
export async function startupTransport(program: string, flags: TransportFlags, name: string, expected: { readonly role: NodeRole; readonly id?: number }, logger: Logger, insecureMeans: string): Promise<Transport> {
  let transport: Transport;
  try {
    transport = resolveTransport(flags, name, expected);
  } catch (e) {
    exitWithError(program, e, 2);
  }
  if (transport.kind === 'insecure') {
    logger.warn(`--insecure: plaintext gRPC; ${insecureMeans}`);
    return transport;
  }
  const problem = await handshakeProblem(transport);
  if (problem !== undefined) {
    exitWithError(program, new ConfigError(`${transport.identity.name}'s certificate would be refused by its peers in the TLS handshake ${problem}: issue it again (npm run launch issues certificates that peers take)`), 2);
  }
  return transport;
}
