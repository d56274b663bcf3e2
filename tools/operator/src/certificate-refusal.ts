import { type status } from '@grpc/grpc-js';
import { describeStatusDetails } from '@paxos/grpc-kit';

/** How OpenSSL (through grpc-js) says a TLS handshake failed on the server's certificate chain. */
const CHAIN_REFUSED = /self[- ]signed certificate(?: in certificate chain)?|unable to (?:verify the first certificate|get local issuer certificate)|certificate signature failure/i;

/** The certificate cause of a failed connection ("self-signed certificate in certificate chain"), or undefined. */
export function certificateRefusal(details: string): string | undefined {
  return CHAIN_REFUSED.exec(details)?.[0];
}

/**
 * What to do when the server's certificate was not issued by the CA in the network dir's tls/:
 * another network answers on the port, or tls/ was issued again after this network's nodes
 * started (they present the certificates they started with). `ours` says the port's process is
 * this network's own node, which leaves only the second.
 */
export function certificateAdvice(ours = false): string {
  return ours
    ? "this network's own process answers here with a certificate the CA now in tls/ did not sign: tls/ was issued again after it started; stop the network and launch it again, so that every node and tool share one CA"
    : "the node presents a certificate the CA in the network dir's tls/ did not sign: another network answers on this port, or tls/ was issued again after the network started (then stop it and launch it again)";
}

/** A failed call's status message as the tools say it: a refused certificate chain by its cause, without grpc-js's "Resolution note: "; any other as describeStatusDetails says it. */
export function describeCallFailure(code: status, details: string): string {
  const refusal = certificateRefusal(details);
  return refusal ? `TLS handshake failed: ${refusal}` : describeStatusDetails(code, details);
}
