import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runRejoin } from '../rejoin';

// Entry point of `npm run rejoin`.
finishWhenOutputCloses();
runRejoin(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('rejoin', e, e instanceof ConfigError ? 2 : 1),
);
