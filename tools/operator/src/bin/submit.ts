import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runSubmit } from '../submit';

// Entry point of `npm run submit`: the module it calls exports functions only, so that other
// tools (start) can bundle it without running it.
finishWhenOutputCloses();
runSubmit(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('submit', e, e instanceof ConfigError ? 2 : 1),
);
