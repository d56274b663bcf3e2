import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runLaunch } from '../launch';

// Entry point of `npm run launch`: the module it calls exports functions only, so that other
// tools (start) can bundle it without running it.
finishWhenOutputCloses();
runLaunch(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('launch', e, e instanceof ConfigError ? 2 : 1),
);
