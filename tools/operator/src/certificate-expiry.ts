// When the certificates a running network presents expire: every node's are issued together (by
// one launch) and so expire together, and a node reads its certificate only when it starts. check
// reads what each node presents, and the CA, and warns in time to renew them one node at a time.
import { X509Certificate } from 'node:crypto';
import { CERTIFICATE_RENEW_BEFORE_DAYS, presentedCertificate, type Transport } from '@paxos/grpc-kit';
import type { NetworkLayout } from './network-dir';
import { shellWord } from './shell-word';

const DAY_MS = 24 * 3600 * 1000;

/** One certificate: whose, until when, and how many whole days that leaves (negative: expired). */
export interface CertificateValidity {
  readonly name: string;
  readonly notAfter: string;
  readonly daysLeft: number;
}

export interface CertificateExpiry {
  /** The network's CA (every certificate is valid only while it is). */
  readonly ca: CertificateValidity;
  /** The node certificate that expires first, of those the nodes that answered present. */
  readonly soonest?: CertificateValidity;
  /** Node certificates (as presented) and the CA that expire within CERTIFICATE_RENEW_BEFORE_DAYS. */
  readonly expiring: readonly CertificateValidity[];
}

function validity(name: string, notAfter: Date, nowMs: number): CertificateValidity {
  return { name, notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - nowMs) / DAY_MS) };
}

/** The expiry of the CA and of what every node of `layout` presents (undefined on plaintext). */
export async function certificateExpiry(layout: NetworkLayout, transport: Transport, deadlineMs: number, nowMs: number): Promise<CertificateExpiry | undefined> {
  if (transport.kind !== 'tls') return undefined;
  const ca = validity('ca', new Date(new X509Certificate(transport.ca).validTo), nowMs);
  const presented = await Promise.all(layout.nodes.map((n) => presentedCertificate(n.address, transport, deadlineMs)));
  const nodes = presented.flatMap((p) => (p ? [validity(p.name, p.notAfter, nowMs)] : [])).sort((a, b) => a.daysLeft - b.daysLeft);
  const soonest = nodes[0];
  const expiring = [ca, ...nodes].filter((c) => c.daysLeft < CERTIFICATE_RENEW_BEFORE_DAYS);
  return { ca, ...(soonest ? { soonest } : {}), expiring };
}

/** check's lines about certificates: only when one expires within CERTIFICATE_RENEW_BEFORE_DAYS, with what to do. */
export function formatCertificateExpiry(e: CertificateExpiry | undefined, dir: string): string[] {
  if (!e || e.expiring.length === 0) return [];
  const when = (c: CertificateValidity) => (c.daysLeft < 0 ? `expired on ${c.notAfter}` : `expires on ${c.notAfter} (in ${c.daysLeft} days)`);
  const lines: string[] = [];
  const ca = e.expiring.find((c) => c.name === 'ca');
  if (ca) lines.push(`certificates: the network's CA ${when(ca)}, and every certificate with it: stop the network (npm run stop -- --dir ${shellWord(dir)}) and launch it again, which makes a new CA and issues every certificate`);
  const nodes = e.expiring.filter((c) => c.name !== 'ca');
  if (nodes.length > 0) {
    const shown = nodes.slice(0, 3).map((c) => `${c.name}'s ${when(c)}`).join(', ');
    lines.push(
      `certificates: ${shown}${nodes.length > 3 ? ` and ${nodes.length - 3} more` : ''}: renew them without stopping the network, one node at a time: end its process (kill <pid>, from its pid file in ${dir}), then npm run launch -- --restart-missing --dir ${shellWord(dir)} issues it a new certificate and starts it`,
    );
  }
  return lines;
}
