import { Metadata } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Registry } from 'prom-client';
import { HealthClient } from '@paxos/proto';
import type { Logger } from './logger';
import { ensureNetworkCertificates } from './pki';
import { handshakeRefusal, RefusedHandshakes, REPORT_EVERY_MS } from './refused-handshakes';
import { startGrpcServer } from './server';
import { channelCredentials, INSECURE, loadTls, tlsFilesIn } from './tls';
import { deadlineAfter } from './clock';

type Warned = { fields: Record<string, unknown>; message: string };
const capturing = (): { logger: Logger; warned: Warned[] } => {
  const warned: Warned[] = [];
  const logger = { warn: (fields: Record<string, unknown>, message: string) => warned.push({ fields, message }), info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  return { logger, warned };
};

describe('why a TLS handshake was refused', () => {
  it('tells plaintext, a missing certificate and a refused one apart, and says nothing of a caller that left', () => {
    expect(handshakeRefusal({ code: 'ERR_SSL_WRONG_VERSION_NUMBER' })).toBe('plaintext');
    expect(handshakeRefusal({ code: 'ERR_SSL_HTTP_REQUEST' })).toBe('plaintext');
    expect(handshakeRefusal({ code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' })).toBe('no-certificate');
    expect(handshakeRefusal({ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' })).toBe('certificate-refused');
    expect(handshakeRefusal({ code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED' })).toBe('certificate-refused');
    expect(handshakeRefusal({ code: 'ECONNRESET', message: 'socket hang up' })).toBeUndefined();
    expect(handshakeRefusal({ code: 'ERR_SSL_NO_SHARED_CIPHER' })).toBe('other');
  });

  it('logs at most one line per period, with the counts of those it did not log', () => {
    let now = 0;
    const { logger, warned } = capturing();
    const counted: string[] = [];
    const refused = new RefusedHandshakes(logger, (r) => counted.push(r), () => now);
    jest.useFakeTimers();
    try {
      refused.note({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'x:ssl3_get_record:wrong version number:../deps/openssl/ssl3_record.c:350:', reason: 'wrong version number' }, '127.0.0.1:5000');
      expect(warned).toHaveLength(1);
      expect(warned[0]?.fields).toMatchObject({ refused: { plaintext: 1 }, lastPeer: '127.0.0.1:5000', lastError: 'ERR_SSL_WRONG_VERSION_NUMBER wrong version number' });
      expect(warned[0]?.message).toMatch(/plaintext to this TLS port/);
      for (let i = 0; i < 1000; i++) refused.note({ code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' }, '127.0.0.1:5001');
      refused.note({ code: 'ECONNRESET' }, '127.0.0.1:5002');
      expect(warned).toHaveLength(1);
      now = REPORT_EVERY_MS;
      jest.advanceTimersByTime(REPORT_EVERY_MS);
      expect(warned).toHaveLength(2);
      expect(warned[1]?.fields).toMatchObject({ refused: { 'no-certificate': 1000 }, lastPeer: '127.0.0.1:5001' });
      expect(warned[1]?.message).toMatch(/presented no certificate/);
      expect(counted).toHaveLength(1001);
      jest.advanceTimersByTime(10 * REPORT_EVERY_MS);
      expect(warned).toHaveLength(2);
    } finally {
      refused.stop();
      jest.useRealTimers();
    }
  });
});

describe('a TLS node refusing handshakes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'refused-handshakes-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'client-test']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts and logs a plaintext caller and one without a certificate (they saw only UNAVAILABLE)', async () => {
    const { logger, warned } = capturing();
    const metrics = new Registry();
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, logger, metrics, transport: loadTls(tlsFilesIn(dir, 'acceptor-0')), services: [] });
    try {
      const address = `127.0.0.1:${server.port}`;
      const plain = new HealthClient(address, channelCredentials(INSECURE));
      const answer = await new Promise<{ code?: number }>((resolve) => plain.check({ service: '' }, new Metadata(), { deadline: deadlineAfter(2000) }, (e) => resolve(e ?? {})));
      plain.close();
      expect(answer.code).toBeDefined();
      await new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('secureConnect', () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      });
      const deadline = performance.now() + 5000;
      let reasons: Record<string, number> = {};
      while (performance.now() < deadline) {
        const got = await metrics.getSingleMetric('grpc_server_tls_handshakes_refused_total')?.get();
        reasons = Object.fromEntries((got?.values ?? []).map((v) => [String(v.labels['reason']), v.value]));
        if ((reasons['plaintext'] ?? 0) >= 1 && (reasons['no-certificate'] ?? 0) >= 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(reasons['plaintext']).toBeGreaterThanOrEqual(1);
      expect(reasons['no-certificate']).toBeGreaterThanOrEqual(1);
      expect(warned.some((w) => /TLS handshakes refused/.test(w.message) && (w.fields['refused'] as Record<string, number>)['plaintext'] !== undefined)).toBe(true);
    } finally {
      await server.shutdown(0);
    }
  }, 20_000);
});
