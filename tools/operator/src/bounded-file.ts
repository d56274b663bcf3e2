import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '@paxos/grpc-kit';

/** The largest proposal.json submit reads: a proposal's value is at most the proposer's --max-value-bytes (1 MiB by default). */
export const PROPOSAL_FILE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The text of the file a flag names, read whole, at most maxBytes: a regular file larger than that
 * is refused before it is read, and a pipe (`--file <(...)`) is read until it passes it. A device
 * (/dev/zero never ends) or a directory is refused: read whole, /dev/zero ended the process with
 * std::bad_alloc, and a mistyped multi-gigabyte file took its memory before any message.
 */
export function readBoundedText(path: string, maxBytes: number, flag: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ConfigError(`${flag} ${path} cannot be read (${describeOpenError(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new ConfigError(`${flag} ${path} cannot be read (it is a directory)`);
    if (!st.isFile() && !st.isFIFO()) throw new ConfigError(`${flag} ${path} is not a file (a device or socket): give the path of a file`);
    if (st.isFile() && st.size > maxBytes) throw new ConfigError(`${flag} ${path} holds ${st.size} bytes, more than the ${maxBytes} a proposal file may: is it the right file?`);
    const chunks: Buffer[] = [];
    let total = 0;
    // Bounded: each read adds at least one byte, and reading stops past maxBytes.
    for (;;) {
      const buf = Buffer.alloc(Math.min(1024 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new ConfigError(`${flag} ${path} holds more than the ${maxBytes} bytes a proposal file may: is it the right file?`);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${flag} ${path} cannot be read (${describeOpenError(e)})`);
  } finally {
    closeSync(fd);
  }
}

function describeOpenError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}
