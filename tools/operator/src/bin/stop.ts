import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runStop } from '../stop';

// Entry point of `npm run stop`: the module it calls exports functions only, so that other
// tools (start) can bundle it without running it.
finishWhenOutputCloses();
runStop(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('stop', e, e instanceof ConfigError ? 2 : 1),
);
