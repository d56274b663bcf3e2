import { status } from '@grpc/grpc-js';
import { withCertificateHint } from './check-report';
import { describeReadFailure } from './read';
import { describeFailure } from './submit';

/** grpc-js's text when the server's certificate chain is not the client's CA's. */
const REFUSED = 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ';

describe('a node whose certificate the CA in tls/ did not sign (another network, or tls/ issued again)', () => {
  it('submit says the handshake failed and why, not "is the proposer running?" after an empty "Resolution note: "', () => {
    const [said, code] = describeFailure(status.UNAVAILABLE, REFUSED, 'id-1');
    expect(said).toBe(
      "not sent: UNAVAILABLE: TLS handshake failed: self-signed certificate in certificate chain; the node presents a certificate the CA in the network dir's tls/ did not sign: another network answers on this port, or tls/ was issued again after the network started (then stop it and launch it again); retry with --client-request-id id-1: it is chosen at most once, and a retry answers with its slot",
    );
    expect(code).toBe(4);
  });

  it('read says the same', () => {
    const r = describeReadFailure(status.UNAVAILABLE, REFUSED, { address: '127.0.0.1:7200', who: 'the proposer', viaProposer: true, linearizable: true, deadlineMs: 1000 });
    expect(r.details).toMatch(/^TLS handshake failed: self-signed certificate in certificate chain; the node presents a certificate the CA in the network dir's tls\/ did not sign/);
    expect(r.details).not.toMatch(/Resolution note|is the proposer running/);
    expect(r.exitCode).toBe(4);
  });

  it("check blames tls/ issued again, not another network, when the port's process is this network's own", () => {
    expect(withCertificateHint(`UNAVAILABLE: ${REFUSED}`, true)).toMatch(/this network's own process answers here .* tls\/ was issued again after it started; stop the network and launch it again/);
    expect(withCertificateHint(`UNAVAILABLE: ${REFUSED}`)).toMatch(/is another network running on these ports\?/);
  });
});
