// `npm run rejoin`: bring back an acceptor of a launched network whose data was lost, under the
// floor the consensus core defines (DESIGN, "An acceptor that lost its data").
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatBallot, Quorum, rejoinFloorFrom, type RejoinReport } from '@paxos/consensus-core';
import { ConfigError, describeGrpcError, helpText, parseCommand } from '@paxos/grpc-kit';
import { ballotFromWire } from '@paxos/wire';
import { dataDirState } from './acceptor-data-dir';
import { hasPidFiles, restartMissingLocked, runningProcesses } from './launch-network';
import { printLaunch, relaunchCommand } from './launch';
import { clientTransport, dataDir, defaultNetworkDir, lockNetworkDir, pidFile, readLayout } from './network-dir';
import { acceptorStatus } from './probe';
import { isOurs, isPaused, processEnvironment, readPid, removePid, stopProcess } from './processes';
import { shellWord } from './shell-word';

export const rejoinCommand = {
  program: 'rejoin',
  refuseRepeats: true,
  summary:
    'bring back an acceptor whose data was lost: stop the proposers, read the floor from a quorum of the other acceptors, start it on an empty data dir under that floor, start the proposers again',
  usage: 'npm run rejoin -- --node N [--dir D] [--margin-slots 64] [--grace-ms 10000] [--deadline-ms 3000] [--ready-timeout-ms 60000]',
  options: {
    node: { type: 'integer', min: 0, max: 99, description: 'the acceptor whose data was lost (required)' },
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir', defaultText: 'default ~/.openclaw/consensus' },
    'margin-slots': {
      type: 'integer',
      default: 64,
      min: 1,
      max: 1_000_000,
      description: "slots above those the others hold that it learns before it votes: at least every proposer's --window-slots (accepts a stopped proposer sent may still arrive late)",
    },
    'grace-ms': { type: 'integer', default: 10_000, min: 0, max: 600_000, description: 'time between SIGTERM and SIGKILL when stopping the proposers' },
    'deadline-ms': { type: 'integer', default: 3000, min: 100, max: 60_000, description: "deadline of each acceptor's Status call" },
    'ready-timeout-ms': { type: 'integer', default: 60_000, min: 1000, max: 3_600_000, description: 'how long to wait for the restarted nodes to answer health' },
  },
} as const;

/** apps/proposer's --window-slots default (apps/proposer/src/config.ts): a proposer started without the flag or PROPOSER_WINDOW. */
export const PROPOSER_DEFAULT_WINDOW = 2;

/**
 * The window (slots in flight) a proposer runs with, from its command line and environment as its
 * config reads them (the last --window-slots, else PROPOSER_WINDOW, else the default); undefined
 * when it cannot be told. The floor's margin must cover it: a stopped proposer's accepts still in
 * flight reach at most its window of slots above those the others hold (DESIGN, "An acceptor that
 * lost its data").
 */
export function proposerWindowFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): number | undefined {
  let text: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--window-slots') text = argv[i + 1];
    else if (argv[i].startsWith('--window-slots=')) text = argv[i].slice('--window-slots='.length);
  }
  if (text === undefined && env['PROPOSER_WINDOW'] !== undefined && env['PROPOSER_WINDOW'] !== '') text = env['PROPOSER_WINDOW'];
  if (text === undefined) return PROPOSER_DEFAULT_WINDOW;
  const t = text.trim();
  return /^\d{1,9}$/.test(t) ? Number(t) : undefined;
}

/** proposerWindowFrom for a running process (Linux /proc); undefined when it cannot be read. */
function runningProposerWindow(pid: number): number | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const env = processEnvironment(pid);
    return env === undefined ? undefined : proposerWindowFrom(argv, Object.fromEntries(env));
  } catch {
    return undefined;
  }
}

export async function runRejoin(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(rejoinCommand, argv);
  if (parsed.help) {
    out(helpText(rejoinCommand));
    return 0;
  }
  const o = parsed.options;
  if (o.node === undefined) throw new ConfigError('--node is required: the acceptor whose data was lost, e.g. npm run rejoin -- --node 5');
  const dir = resolve(o.dir ?? defaultNetworkDir());
  const dirFlag = dir === defaultNetworkDir() ? '' : ` --dir ${shellWord(dir)}`;
  const layout = readLayout(dir);
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const lost = acceptors.find((n) => n.id === o.node);
  if (lost === undefined) throw new ConfigError(`the network in ${dir} has no acceptor ${o.node} (its acceptors are 0..${acceptors.length - 1})`);
  const quorum = Quorum.majority(acceptors.length);
  const release = await lockNetworkDir(dir, 'rejoin an acceptor');
  let released = false;
  const releaseOnce = () => {
    if (!released) release();
    released = true;
  };
  try {
    // A stopped network (npm run stop): no acceptor answers for the floor, and the restart below
    // would bring the rest of it back. It is started first, as the operator chooses. (Asked before
    // stale pid files go: a network whose processes crashed keeps them and is not stopped.)
    const stopped = !hasPidFiles(dir) && runningProcesses(dir).length === 0;
    // Pid files for processes a killed launch started without writing one: the proposers among
    // them must be stopped below like the others.
    runningProcesses(dir, { removeStale: true });
    if (stopped) {
      throw new ConfigError(
        `the network in ${dir} is stopped: rejoin reads acceptor ${o.node}'s floor from the others while they run. Start it first with ${relaunchCommand(layout, dir)} (acceptor ${o.node}, which lost its data, stays down), then run rejoin again`,
      );
    }
    const pid = readPid(pidFile(dir, lost.name));
    const running = pid !== undefined && isOurs(pid, dir, lost.name);
    const lostDir = dataDir(dir, lost.name);
    const state = dataDirState(lostDir);
    if (state === 'rejoined') {
      // A rejoin ran (perhaps cut short before it started everything again): the acceptor starts
      // under the floor its node.json holds, so what is left is to start whatever is down.
      out(`acceptor ${o.node} rejoined already: its floor is in ${join(lostDir, 'node.json')}${running ? ` and it runs (pid ${pid})` : ''}; starting the nodes that are down`);
      const r = await restartMissingLocked(dir, o['ready-timeout-ms'] as number, releaseOnce);
      printLaunch(r, out);
      out(`acceptor ${o.node} learns the chosen log, then votes again; npm run check${dirFlag} says "does not vote yet" until then`);
      return r.nodes.every((n) => n.readyAfterMs !== undefined) ? 0 : 1;
    }
    if (running) {
      // A paused process holds a SIGTERM until it is resumed: "kill <pid>" alone left it there, and rejoin said the same again.
      const stopIt = isPaused(pid) ? `kill ${pid}; kill -CONT ${pid}: it is paused (SIGSTOP) and ends on SIGTERM only once resumed` : `kill ${pid}`;
      throw new ConfigError(`acceptor ${o.node} is running (pid ${pid}): a running acceptor has its data. If its disk is gone, stop it (${stopIt}) and run rejoin again`);
    }
    if (state === 'data') {
      throw new ConfigError(
        `the data dir ${lostDir} is not empty. If acceptor ${o.node} lost its data (a replaced disk, damage it cannot start from), move what is left aside (mv ${lostDir} ${lostDir}.lost) and run rejoin again; ` +
          `if its data is whole, start it as it is with npm run launch -- --restart-missing${dirFlag}`,
      );
    }
    // No proposer that ran before may run on: one could hold a promise the lost data gave.
    // Each one's window is read first: the margin must cover the accepts it may still have in
    // flight once stopped (a --window-slots or PROPOSER_WINDOW above --margin-slots raises it).
    const proposers = layout.nodes.filter((n) => n.role === 'proposer');
    let marginSlots = BigInt(o['margin-slots'] as number);
    for (const p of proposers) {
      const ppid = readPid(pidFile(dir, p.name));
      if (ppid === undefined || !isOurs(ppid, dir, p.name)) continue;
      const window = runningProposerWindow(ppid);
      if (window === undefined) {
        throw new ConfigError(
          `cannot read the window of ${p.name} (pid ${ppid}) from /proc: nothing was changed. The floor's margin must be at least every proposer's --window-slots; stop the proposers yourself and run rejoin again with --margin-slots at least their window`,
        );
      }
      if (BigInt(window) > marginSlots) {
        out(`${p.name.padEnd(9)} runs with a window of ${window} slots, above --margin-slots ${marginSlots}: the margin is ${window}`);
        marginSlots = BigInt(window);
      }
    }
    for (const p of proposers) {
      const ppid = readPid(pidFile(dir, p.name));
      if (ppid === undefined) continue;
      const how = await stopProcess(ppid, o['grace-ms'] as number, () => isOurs(ppid, dir, p.name));
      if (how === 'unkillable') throw new Error(`${p.name} (pid ${ppid}) outlived SIGKILL (stuck in the kernel?): nothing was changed; run rejoin again once it is gone`);
      removePid(pidFile(dir, p.name));
      out(`${p.name.padEnd(9)} pid ${ppid}: ${how} (a proposer that ran before must not run on beside the rejoined acceptor)`);
    }
    out('any proposer this network runs that launch did not start must be stopped now as well');
    const transport = clientTransport(dir);
    const answers = await Promise.all(
      acceptors
        .filter((a) => a.id !== o.node)
        .map(async (a) => {
          try {
            const s = await acceptorStatus(a.address, o['deadline-ms'] as number, transport);
            if (s.nodeId !== a.id) return { a, problem: `answered as node ${s.nodeId}` };
            const report: RejoinReport = {
              promised: s.promised ? ballotFromWire(s.promised) : { round: 0n, proposerId: 0 },
              committedIndex: s.committedIndex,
              rejoining: s.rejoining,
              ...(s.lastAccepted ? { lastAcceptedSlot: s.lastAccepted.slot } : {}),
            };
            return { a, report };
          } catch (e) {
            return { a, problem: notCountedBecause(e, readPid(pidFile(dir, a.name))) };
          }
        }),
    );
    for (const x of answers) if ('problem' in x) out(`${x.a.name.padEnd(9)} ${x.a.address}: not counted (${x.problem})`);
    const reports = answers.flatMap((x) => ('report' in x && x.report !== undefined ? [x.report] : []));
    const floor = rejoinFloorFrom(reports, quorum, marginSlots);
    const extra = new Map<string, readonly string[]>();
    if ('problem' in floor) {
      out(`no floor for acceptor ${o.node}: ${floor.problem}. It stays down; the proposers start again. Run rejoin again once a quorum of the others answers`);
    } else {
      out(`floor of acceptor ${o.node}: promise ${formatBallot(floor.promised)}, and it votes only once it has learned every chosen slot below ${floor.catchUpTo} (read from ${reports.length} acceptors)`);
      extra.set(lost.name, ['--rejoin-promised', formatBallot(floor.promised), '--rejoin-catch-up-to', floor.catchUpTo.toString()]);
    }
    const r = await restartMissingLocked(dir, o['ready-timeout-ms'] as number, releaseOnce, extra);
    printLaunch(r, out);
    if ('problem' in floor) return 1;
    out(`acceptor ${o.node} learns the chosen log, then votes again; npm run check${dirFlag} says "does not vote yet" until then`);
    return r.nodes.find((n) => n.name === lost.name)?.readyAfterMs !== undefined ? 0 : 1;
  } finally {
    releaseOnce();
  }
}

/**
 * Why an acceptor's answer is not counted toward the floor, as a person reads it: grpc-js's text
 * carries its stages ("Deadline exceeded after 3.000s,name resolution: ..."), and a paused
 * process, which check names with the kill -CONT that resumes it, was said to be a deadline only.
 */
export function notCountedBecause(err: unknown, pid: number | undefined): string {
  const said = (describeGrpcError(err).split('\n')[0] as string);
  return pid !== undefined && isPaused(pid) ? `${said}; its process ${pid} is paused: resume it with kill -CONT ${pid}, then run rejoin again` : said;
}
