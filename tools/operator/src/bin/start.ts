import { ConfigError, exitWithError, helpText, parseCommand, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runCheck } from '../check';
import { runLaunch } from '../launch';
import { runningProcesses } from '../launch-network';
import { defaultNetworkDir, readLayout } from '../network-dir';
import { runSubmit } from '../submit';

export const startCommand = {
  program: 'start',
  summary: 'the main job: launch the 23-node network on the shipped snapshot (or bring back the missing processes of the one in the default dir), submit a first proposal with a true LMFDB claim, print the check table, leave it running; the network dir is $PAXOS_NETWORK_DIR when set, else ~/.openclaw/consensus (start takes no --dir)',
  usage: 'npm start',
  options: {},
} as const;

/**
 * The main job: launch the 23-node network on the shipped snapshot (unless one already runs),
 * submit a first proposal (with a true LMFDB claim), print the check table, leave it running.
 */
async function main(): Promise<number> {
  const out = (l: string) => console.log(printable(l));
  const parsed = parseCommand(startCommand, process.argv.slice(2));
  if (parsed.help) {
    out(helpText(startCommand));
    return 0;
  }
  const dir = defaultNetworkDir();
  const running = runningProcesses(dir);
  if (running.length > 0) {
    // Some processes of a network survive (a crash, a kill, a reboot took the rest): bring back
    // the missing ones on their data rather than take what is left for a running network.
    const layout = readLayout(dir);
    const expected = layout.nodes.length + (layout.statusPage ? 1 : 0);
    if (running.length >= expected) out(`a network is already running in ${dir}: using it`);
    else {
      out(`== a network in ${dir} has ${running.length} of its ${expected} processes running: restarting the missing ones`);
      const code = await runLaunch(['--restart-missing'], out);
      if (code !== 0) {
        out('the missing nodes did not all come back: see the lines above and the node logs');
        return code;
      }
    }
  } else {
    out('== launch');
    const code = await runLaunch([], out);
    if (code !== 0) {
      out('launch did not bring every node up: see the logs above; stop with npm run stop');
      return code;
    }
  }
  out('\n== submit');
  // eslint-disable-next-line no-restricted-properties -- the wall clock's seconds: a fresh proposal number on each start
  const number = String(Math.floor(Date.now() / 1000));
  const submitted = await runSubmit([number, '--claim', '0:11.a2:jinv=-122023936/161051'], out);
  out('\n== check');
  // The chosen slot reaches the acceptors that did not vote on it within tens of ms (commit notices).
  const checked = await runCheck(['--settle-ms', '2000'], out);
  const statusPage = readLayout(dir).statusPage;
  out(`\nThe network keeps running.${statusPage ? ` Watch it at http://${statusPage}/.` : ''} Try: npm run check | npm run submit -- 42 | npm run stop`);
  return submitted === 0 ? checked : submitted;
}

finishWhenOutputCloses();
main().then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('start', e, e instanceof ConfigError ? 2 : 1),
);
