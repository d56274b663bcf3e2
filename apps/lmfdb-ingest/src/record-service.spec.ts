import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { createLogger, describeSymbol, INSECURE, resolveByReflection, STATUS_DETAILS_MAX } from '@paxos/grpc-kit';
import { loadSources } from '@paxos/lmfdb-client';
import { RecordServiceClient, type RecordServiceServer, Verdict } from '@paxos/proto';
import { createRecordServiceHandlers } from './record-service';
import { startRecordServer } from './serve';

const SNAPSHOT = join(__dirname, '../../../data/lmfdb-snapshot');
const silent = createLogger('record-service-test');
silent.level = 'silent';

type Handler = (call: { request: unknown; metadata: Metadata }, cb: (err: ServiceError | null, res?: unknown) => void) => void;
function call(h: RecordServiceServer, method: 'getRecord' | 'listSources' | 'verifyClaim', request: unknown) {
  return new Promise<{ err: ServiceError | null; res?: unknown }>((resolve) =>
    (h[method] as unknown as Handler)({ request, metadata: new Metadata() }, (err, res) => resolve({ err, res })),
  );
}

describe('RecordService handlers', () => {
  let handlers: RecordServiceServer;
  beforeAll(async () => {
    const { caches, statuses } = await loadSources(SNAPSHOT, [0, 1, 3]);
    handlers = createRecordServiceHandlers(caches, statuses);
  });

  it('GetRecord returns the row with exact integers', async () => {
    const { err, res } = await call(handlers, 'getRecord', { source: 0, label: '11.a1' });
    expect(err).toBeNull();
    expect(res).toMatchObject({ source: 0, table: 'ec_curvedata', label: '11.a1', valid: true, invalidReasons: [] });
    expect((res as { recordJson: string }).recordJson).toContain('"jinv":[-52893159101157376,11]');
    const mf = await call(handlers, 'getRecord', { source: 1, label: '116.1' });
    expect(mf.res).toMatchObject({ table: 'mf_gamma1' });
    expect((mf.res as { recordJson: string }).recordJson).not.toContain('_table');
  });

  it('GetRecord: NOT_FOUND for an unknown label or a source not held, INVALID_ARGUMENT out of 0..9', async () => {
    const a = await call(handlers, 'getRecord', { source: 0, label: '99.z9' });
    expect([a.err?.code, a.err?.details]).toEqual([status.NOT_FOUND, 'source 0 has no record 99.z9']);
    const b = await call(handlers, 'getRecord', { source: 5, label: 'x' });
    expect(b.err?.code).toBe(status.NOT_FOUND);
    const c = await call(handlers, 'getRecord', { source: 10, label: 'x' });
    expect([c.err?.code, c.err?.details]).toEqual([status.INVALID_ARGUMENT, 'source 10 is not one of 0..9']);
  });

  it('ListSources reports all ten', async () => {
    const { res } = await call(handlers, 'listSources', {});
    const s = (res as { sources: Array<{ source: number; loaded: boolean; rowCount: bigint }> }).sources;
    expect(s.map((x) => [x.source, x.loaded, x.rowCount])).toEqual([
      [0, true, 80n],
      [1, true, 7n],
      [2, false, 0n],
      [3, true, 5n],
      [4, false, 0n],
      [5, false, 0n],
      [6, false, 0n],
      [7, false, 0n],
      [8, false, 0n],
      [9, false, 0n],
    ]);
  });

  it('VerifyClaim: true, false, unknown', async () => {
    const v = (source: number, label: string, field: string, claimedValue: string) => call(handlers, 'verifyClaim', { claim: { source, label, field, claimedValue } });
    expect((await v(0, '11.a2', 'jinv', '-122023936/161051')).res).toMatchObject({ verdict: Verdict.VERDICT_TRUE, actualValue: '-122023936/161051' });
    expect((await v(0, '11.a2', 'jinv', '1/1')).res).toEqual({
      verdict: Verdict.VERDICT_FALSE,
      actualValue: '-122023936/161051',
      reason: '11.a2: jinv is -122023936/161051, the claim says 1/1 (looked up in the record)',
    });
    expect((await v(5, '360.a.6480.1', 'cond', '360')).res).toMatchObject({ verdict: Verdict.VERDICT_UNKNOWN, actualValue: '' });
    expect((await v(11, 'x', 'y', '1')).err?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('serves over a real gRPC server', async () => {
    const { caches, statuses } = await loadSources(SNAPSHOT, [0]);
    const running = await startRecordServer(caches, statuses, '127.0.0.1', 0, INSECURE, undefined, 0);
    const client = new RecordServiceClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
    try {
      const res = await new Promise<{ label: string }>((resolve, reject) =>
        client.getRecord({ source: 0, label: '37.a1' }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(res.label).toBe('37.a1');
      await new Promise((resolve, reject) =>
        client.verifyClaim({ claim: { source: 0, label: '11.a2', field: 'jinv', claimedValue: '1/1' } }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      // Its metrics: claims by verdict and the gRPC calls.
      const metrics = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^paxos_lmfdb_claims_checked_total\{result="false",node="lmfdb-ingest"\} 1$/m);
      expect(metrics).toMatch(/^paxos_lmfdb_claims_checked_total\{result="true",node="lmfdb-ingest"\} 0$/m);
      expect(metrics).toMatch(/^grpc_server_handled_total\{grpc_method="\/lmfdb\.v1\.RecordService\/GetRecord",grpc_code="OK",node="lmfdb-ingest"\} 1$/m);
      const reflected = await resolveByReflection(`127.0.0.1:${running.port}`);
      expect(reflected.services).toEqual(expect.arrayContaining(['lmfdb.v1.RecordService', 'grpc.health.v1.Health']));
      expect(describeSymbol(reflected.registry, 'lmfdb.v1.RecordService')).toContain('rpc VerifyClaim');
    } finally {
      client.close();
      await running.stop();
    }
  });
});

describe('RecordService status messages over gRPC', () => {
  it('do not echo a label whole, nor its terminal controls', async () => {
    const { caches, statuses } = await loadSources(SNAPSHOT, [0]);
    const running = await startRecordServer(caches, statuses, '127.0.0.1', 0, INSECURE, silent);
    const client = new RecordServiceClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
    const get = (label: string) => new Promise<ServiceError>((resolve) => client.getRecord({ source: 0, label }, new Metadata(), { deadline: Date.now() + 3000 }, (err) => resolve(err as ServiceError)));
    try {
      const long = await get('x'.repeat(60_000));
      expect(long.code).toBe(status.NOT_FOUND);
      expect(long.details.length).toBeLessThanOrEqual(STATUS_DETAILS_MAX);
      const controls = await get('\u001b[2J\u009b31m\u202eevil');
      expect(controls.details).toBe('source 0 has no record \\u001b[2J\\u009b31m\\u202eevil');
    } finally {
      client.close();
      await running.stop();
    }
  });
});
