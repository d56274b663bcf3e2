import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { helpText, parseCommand } from '@paxos/grpc-kit';
import { hasPidFiles, runningProcesses } from './launch-network';
import { defaultNetworkDir, LAYOUT_FILE, lockNetworkDir, pidFile, refuseNonDirectory } from './network-dir';
import { isOurs, removePid, stopProcess } from './processes';

export const stopCommand = {
  program: 'stop',
  refuseRepeats: true,
  summary: 'end exactly the processes launch started (by pid, checking each is still ours), gracefully first',
  usage: 'npm run stop -- [--dir D] [--grace-ms 10000]',
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    // Above an acceptor's own shutdown (up to 5 s for open calls to end, then its log is flushed).
    'grace-ms': { type: 'integer', default: 10_000, min: 0, max: 600_000, description: 'time between SIGTERM and SIGKILL' },
  },
} as const;

/** How long stop waits for a launch, restart or stop under way in the dir. */
const STOP_LOCK_WAIT_MS = 30_000;

export async function runStop(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(stopCommand, argv);
  if (parsed.help) {
    out(helpText(stopCommand));
    return 0;
  }
  const dir = resolve(parsed.options.dir ?? defaultNetworkDir());
  refuseNonDirectory(dir);
  // A dir launch never wrote into (a mistyped --dir) is left as it is: no lock file, nothing removed.
  if (!existsSync(join(dir, LAYOUT_FILE)) && !hasPidFiles(dir)) {
    out(`no network is running in ${dir} (no ${LAYOUT_FILE} and no pid files there)`);
    return 0;
  }
  // A second stop waits for the first (it then finds nothing left, or what the first could not end).
  const release = await lockNetworkDir(dir, 'stop the network', STOP_LOCK_WAIT_MS);
  let ended: Array<{ name: string; pid: number; how: Awaited<ReturnType<typeof stopProcess>>; kept?: string }>;
  try {
    const running = runningProcesses(dir, { removeStale: true });
    if (running.length === 0) {
      out(`no network is running in ${dir}`);
      return 0;
    }
    // The proposer and the status page first: the acceptors' open calls come from them, and an
    // acceptor's shutdown waits for its calls to end.
    const end = (wave: typeof running) =>
      Promise.all(
        wave.map(async (p) => {
          const how = await stopProcess(p.pid, parsed.options['grace-ms'] as number, () => isOurs(p.pid, dir, p.name));
          // A process that outlived SIGKILL keeps its pid file: the next stop finds it again. One
          // that cannot be removed (a read-only disk) is said, and the others are ended all the same.
          const kept = how !== 'unkillable' ? removePid(pidFile(dir, p.name)) : undefined;
          return { ...p, how, ...(kept !== undefined ? { kept } : {}) };
        }),
      );
    const isAcceptor = (p: { name: string }) => p.name.startsWith('node_');
    ended = [...(await end(running.filter((p) => !isAcceptor(p)))), ...(await end(running.filter(isAcceptor)))];
  } finally {
    release();
  }
  for (const e of ended.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) {
    out(`${e.name.padEnd(9)} pid ${e.pid}: ${e.how === 'unkillable' ? 'STILL ALIVE after SIGKILL (stuck in the kernel, state D: a failing disk or mount?); its pid file is kept' : e.how}`);
  }
  const kept = ended.filter((e) => e.kept !== undefined);
  if (kept.length > 0) {
    out(`${kept.length} pid files could not be removed (${kept[0]?.kept}): they name processes that ended, which launch, check and stop take for stale; remove them once ${dir} is writable`);
  }
  const stuck = ended.filter((e) => e.how === 'unkillable').length;
  out(stuck === 0 ? `stopped ${ended.length} processes in ${join(dir)}` : `stopped ${ended.length - stuck} of ${ended.length} processes in ${join(dir)}; run stop again once the stuck ones can end`);
  return stuck === 0 ? 0 : 1;
}
