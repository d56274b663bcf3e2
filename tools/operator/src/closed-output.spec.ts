import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger, INSECURE, startGrpcServer } from '@paxos/grpc-kit';
import { type ListProposalsRequest, ListProposalsResponse, ReadServiceService } from '@paxos/proto';

const root = resolve(__dirname, '../../..');

/** A ReadService holding proposals 1..count that answers one a page, each after `delayMs`. */
async function slowProposals(count: number, delayMs: number) {
  let pages = 0;
  const running = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    maxReceiveBytes: 1 << 20,
    transport: INSECURE,
    logger: createLogger('closed-output-spec'),
    services: [
      {
        name: 'paxos.v1.ReadService',
        definition: ReadServiceService,
        implementation: {
          listProposals: (c: { request: ListProposalsRequest }, cb: (e: null, r: ListProposalsResponse) => void) => {
            pages++;
            const n = c.request.fromNumber < 1n ? 1n : c.request.fromNumber;
            setTimeout(
              () => cb(null, ListProposalsResponse.fromPartial({ forgotten: [{ proposalNumber: n, slot: n }], appliedSlot: BigInt(count), nextNumber: n < BigInt(count) ? n + 1n : 0n })),
              delayMs,
            );
          },
        },
      },
    ],
  });
  return { address: `127.0.0.1:${running.port}`, pages: () => pages, stop: () => running.shutdown(1000) };
}

describe('an operator tool whose reader closes its output early (| head)', () => {
  jest.setTimeout(60_000);
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'tools/scripts/bundle.mjs'), 'operator', 'lmfdb-ingest'], { cwd: root, stdio: 'ignore' });
  });

  /** Runs `node args` with its stdout a pipe this end has closed before the child writes to it. */
  async function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    return { code, stderr };
  }

  it('finishes its work and exits with its own code, without a stack trace', async () => {
    // `npm run rejoin | head -1` died of the EPIPE after stopping the proposers and left the
    // network without them; a read died the same way between two pages, exit 1 and a stack trace.
    const server = await slowProposals(4, 150);
    try {
      const child = spawn(process.execPath, [join(root, 'dist/tools/operator/read.js'), 'proposals', '--address', server.address, '--dir', '/nonexistent'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const closed = new Promise<number | null>((r) => child.on('close', r));
      // The reader takes the first line, then closes the pipe (as head does).
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      child.stdout.destroy();
      const code = await closed;
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(server.pages()).toBe(4);
    } finally {
      await server.stop();
    }
  });

  it('the apps still bundle and the LMFDB cache still fills for a launch or rejoin piped into head', async () => {
    // Both share the tool's stdout: bundle.mjs died of the EPIPE after its first project ("bundling
    // the apps failed", and rejoin left the proposers it had stopped down), the ingest after its first line.
    expect(await withClosedStdout([join(root, 'tools/scripts/bundle.mjs'), 'lmfdb-ingest', 'status-page'])).toEqual({ code: 0, stderr: '' });
    const cache = mkdtempSync(join(tmpdir(), 'closed-output-cache-'));
    try {
      const ingest = await withClosedStdout([join(root, 'dist/apps/lmfdb-ingest/main.js'), '--offline', '--sources', '0-9', '--cache-dir', cache]);
      expect(ingest.code).toBe(0);
      expect(ingest.stderr).not.toMatch(/EPIPE/);
      expect(readdirSync(cache).filter((f) => !f.startsWith('ingest-lock'))).toHaveLength(10);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
