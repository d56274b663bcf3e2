import { ConfigError, exitWithError, printable } from '@paxos/grpc-kit';
import { runCheck } from '../check';

// Entry point of `npm run check`: the module it calls exports functions only, so that other
// tools (start) can bundle it without running it.
runCheck(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => process.exit(code),
  (e: unknown) => exitWithError('check', e, e instanceof ConfigError ? 2 : 1),
);
