import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { INSECURE, isServing, type Transport } from '@paxos/grpc-kit';
import { bundleApp, WORKSPACE_ROOT } from './bundle';

/** Children still running: killed when this process exits, so a test that fails half-way leaves no node behind. */
const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

/** A node (acceptor, proposer, ingest) running as a real child process. */
export class NodeProcess {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrText = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly address: string | undefined,
    /** How a health check reaches it (its network's client certificate, or plaintext). */
    private readonly transport: Transport = INSECURE,
  ) {
    living.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        living.delete(child);
        this.exitCode = code;
        resolve({ code, signal });
      }),
    );
    child.stderr?.on('data', (b: Buffer) => {
      this.stderrText += b.toString();
      if (this.stderrText.length > 200_000) this.stderrText = this.stderrText.slice(-100_000);
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  waitExit(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.waitExit();
  }

  /** Resolves when Health/Check answers SERVING (polls, bounded by timeoutMs). */
  async waitServing(timeoutMs = 20_000): Promise<void> {
    if (!this.address) throw new Error(`${this.name} has no address`);
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      if (!this.running) throw new Error(`${this.name} exited before serving:\n${this.stderrText.slice(-2000)}`);
      if (await isServing(this.address, 500, this.transport)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} not serving within ${timeoutMs} ms:\n${this.stderrText.slice(-2000)}`);
  }
}

export interface SpawnOptions {
  readonly app: 'acceptor' | 'proposer' | 'lmfdb-ingest';
  readonly name: string;
  readonly args: readonly string[];
  readonly address?: string;
  readonly logFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Pipe stdout to the parent (for tools that print results). */
  readonly captureStdout?: boolean;
  /** How its health is checked (default plaintext). */
  readonly transport?: Transport;
}

export function spawnNode(opts: SpawnOptions): NodeProcess {
  const script = bundleApp(opts.app);
  const child = spawn(process.execPath, [script, ...opts.args], {
    cwd: WORKSPACE_ROOT,
    stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info', ...opts.env },
  });
  if (opts.logFile) {
    mkdirSync(require('node:path').dirname(opts.logFile), { recursive: true });
    child.stderr?.pipe(createWriteStream(opts.logFile, { flags: 'a' }));
  }
  return new NodeProcess(opts.name, child, opts.address, opts.transport);
}
