import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { runRead } from '../read';

// Entry point of `npm run read`.
finishWhenOutputCloses();
runRead(process.argv.slice(2), (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => exitWithError('read', e, e instanceof ConfigError ? 2 : 1),
);
