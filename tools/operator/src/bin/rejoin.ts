import { ConfigError, exitWithError, printable } from '@paxos/grpc-kit';
import { runRejoin } from '../rejoin';

// Entry point of `npm run rejoin`.
runRejoin(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => process.exit(code),
  (e: unknown) => exitWithError('rejoin', e, e instanceof ConfigError ? 2 : 1),
);
