import { resolve } from 'node:path';
import { helpText, parseCommand } from '@paxos/grpc-kit';
import { checkNetwork, formatCheck } from './check-report';
import { defaultNetworkDir, readLayout } from './network-dir';

export const checkCommand = {
  program: 'check',
  summary: "poll every node's Status and print the table, the alive count, the quorum and consensus lines; exit 0 only when a quorum is alive",
  usage: 'npm run check -- [--dir D] [--json]',
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    json: { type: 'boolean', description: 'print one JSON document instead of the table' },
    'deadline-ms': { type: 'integer', default: 1000, description: 'deadline of each Status call' },
  },
} as const;

export async function runCheck(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(checkCommand, argv);
  if (parsed.help) {
    out(helpText(checkCommand));
    return 0;
  }
  const report = await checkNetwork(readLayout(resolve(parsed.options.dir ?? defaultNetworkDir())), parsed.options['deadline-ms'] as number);
  if (parsed.options.json) out(JSON.stringify(report, null, 2));
  else for (const l of formatCheck(report)) out(l);
  return report.quorumAlive ? 0 : 1;
}
