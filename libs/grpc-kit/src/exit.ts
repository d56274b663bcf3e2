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
