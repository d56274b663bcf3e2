import { ConfigError, exitWithError, printable, exitWhenWritten, finishWhenOutputCloses } from '@paxos/grpc-kit';
import { asksForJson, failureJson, runCheck } from '../check';

// Entry point of `npm run check`: the module it calls exports functions only, so that other
// tools (start) can bundle it without running it.
// With --json a failure is one JSON document on stdout too (the text stays on stderr).
finishWhenOutputCloses();
const argv = process.argv.slice(2);
runCheck(argv, (l) => console.log(printable(l))).then(
  (code) => exitWhenWritten(code),
  (e: unknown) => {
    const code = e instanceof ConfigError ? 2 : 1;
    if (!asksForJson(argv)) exitWithError('check', e, code);
    process.stdout.write(`${printable(failureJson(e))}\n`, () => exitWithError('check', e, code));
  },
);
