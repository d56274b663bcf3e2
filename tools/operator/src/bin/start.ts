import { ConfigError, exitWithError } from '@paxos/grpc-kit';
import { runCheck } from '../check';
import { runLaunch } from '../launch';
import { runningProcesses } from '../launch-network';
import { defaultNetworkDir, readLayout } from '../network-dir';
import { runSubmit } from '../submit';

/**
 * The main job: launch the 23-node network on the shipped snapshot (unless one already runs),
 * submit a first proposal (with a true LMFDB claim), print the check table, leave it running.
 */
async function main(): Promise<number> {
  const out = (l: string) => console.log(l);
  const dir = defaultNetworkDir();
  if (runningProcesses(dir).length > 0) {
    out(`a network is already running in ${dir}: using it`);
  } else {
    out('== launch');
    const code = await runLaunch([], out);
    if (code !== 0) {
      out('launch did not bring every node up: see the logs above; stop with npm run stop');
      return code;
    }
  }
  out('\n== submit');
  const number = String(Math.floor(Date.now() / 1000));
  const submitted = await runSubmit([number, '--claim', '0:11.a2:jinv=-122023936/161051'], out);
  out('\n== check');
  // The chosen slot reaches the acceptors that did not vote on it within tens of ms (commit notices).
  const checked = await runCheck(['--settle-ms', '2000'], out);
  const statusPage = readLayout(dir).statusPage;
  out(`\nThe network keeps running.${statusPage ? ` Watch it at http://${statusPage}/.` : ''} Try: npm run check | npm run submit -- 42 | npm run stop`);
  return submitted === 0 ? checked : submitted;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => exitWithError('start', e, e instanceof ConfigError ? 2 : 1),
);
