// How a command-line tool ends: once its output has left the process.

/**
 * Exits with `code` once everything written to stdout and stderr has been handed to the OS. A
 * pipe takes 64 KiB at a time and Node queues the rest: process.exit() straight after the last
 * write cut a long `--json` document short for the program reading it (`read -- log --json | wc -c`
 * counted 128 KiB of 181 MB). A reader that closed the pipe early (`| head`) ends the tool the same
 * way, without a stack trace.
 */
export function exitWhenWritten(code: number): void {
  let waiting = 2;
  const done = (): void => {
    waiting -= 1;
    if (waiting === 0) process.exit(code);
  };
  for (const out of [process.stdout, process.stderr]) {
    out.once('error', () => process.exit(code));
    out.write('', done);
  }
}

/**
 * Call first thing in a tool's entry: a reader that closes the pipe early (`| head`) no longer
 * ends the tool at its next line with an unhandled EPIPE (a stack trace, exit 1). Its output is
 * dropped from then on, and the tool finishes what it does and exits with its own code: `rejoin |
 * head -1` died after stopping the proposers and left the network without them, and a launch,
 * stop or submit cut short there leaves a network or a proposal half done.
 */
export function finishWhenOutputCloses(): void {
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
}
