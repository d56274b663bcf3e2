import { ConfigError, exitWithError, printable, exitWhenWritten } from '@paxos/grpc-kit';
import { runRejoin } from '../rejoin';

// Entry point of `npm run rejoin`.
runRejoin(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('rejoin', e, e instanceof ConfigError ? 2 : 1),
);
