import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:http2';
import { Registry } from 'prom-client';
import { createLogger } from './logger';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('refused-call-metrics-test');
logger.level = 'silent';
const CHECK = '/grpc.health.v1.Health/Check';

/** One unary Health/Check on a raw HTTP/2 connection with extra headers; its grpc-status. */
async function rawCall(port: number, headers: Record<string, string>, path = CHECK): Promise<string> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<string>((resolve) => {
      const st = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let code = 'none';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) code = String(h['grpc-status']);
      };
      st.on('response', take);
      st.on('trailers', take);
      st.on('data', () => undefined);
      st.on('error', () => undefined);
      st.on('close', () => resolve(code));
      st.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  } finally {
    session.close();
  }
}

describe('calls refused for their headers', () => {
  let running: RunningServer;
  const registry = new Registry();
  beforeAll(async () => {
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [], maxReceiveBytes: 1024 * 1024, transport: INSECURE, logger, metrics: registry });
  });
  afterAll(() => running.shutdown(100));

  const handled = async (code: string): Promise<number> => {
    const json = await registry.getSingleMetricAsString('grpc_server_handled_total');
    const line = json.split('\n').find((l) => l.includes(`grpc_code="${code}"`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  it('count in grpc_server_handled_total like every other status the server sends', async () => {
    expect(await rawCall(running.port, { 'grpc-encoding': 'gzip' })).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(await rawCall(running.port, { 'grpc-timeout': 'soon' })).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(await rawCall(running.port, { 'x-big': 'x'.repeat(20_000) })).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(await handled('UNIMPLEMENTED')).toBe(1);
    expect(await handled('INVALID_ARGUMENT')).toBe(1);
    expect(await handled('RESOURCE_EXHAUSTED')).toBe(1);
  });

  it('count calls to paths the server does not serve, under one "unknown" method however many paths a client tries', async () => {
    // grpc-js answers these before any interceptor runs.
    for (let i = 0; i < 20; i++) expect(await rawCall(running.port, {}, `/probe.Service${i}/Method${i}`)).toBe(String(grpc.status.UNIMPLEMENTED));
    const text = await registry.getSingleMetricAsString('grpc_server_handled_total');
    expect(text).toMatch(/^grpc_server_handled_total\{grpc_method="unknown",grpc_code="UNIMPLEMENTED"\} 20$/m);
    expect(text).not.toContain('probe.Service');
  });
});
