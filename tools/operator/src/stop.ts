import { join, resolve } from 'node:path';
import { helpText, parseCommand } from '@paxos/grpc-kit';
import { runningProcesses } from './launch-network';
import { defaultNetworkDir, pidFile } from './network-dir';
import { removePid, stopProcess } from './processes';

export const stopCommand = {
  program: 'stop',
  summary: 'end exactly the processes launch started (by pid, checking each is still ours), gracefully first',
  usage: 'npm run stop -- [--dir D]',
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    'grace-ms': { type: 'integer', default: 5000, description: 'time between SIGTERM and SIGKILL' },
  },
} as const;

export async function runStop(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(stopCommand, argv);
  if (parsed.help) {
    out(helpText(stopCommand));
    return 0;
  }
  const dir = resolve(parsed.options.dir ?? defaultNetworkDir());
  const running = runningProcesses(dir);
  if (running.length === 0) {
    out(`no network is running in ${dir}`);
    return 0;
  }
  const ended = await Promise.all(
    running.map(async (p) => {
      const how = await stopProcess(p.pid, parsed.options['grace-ms'] as number);
      removePid(pidFile(dir, p.name));
      return { ...p, how };
    }),
  );
  for (const e of ended.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) out(`${e.name.padEnd(9)} pid ${e.pid}: ${e.how}`);
  out(`stopped ${ended.length} processes in ${join(dir)}`);
  return 0;
}
