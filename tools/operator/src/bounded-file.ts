import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '@paxos/grpc-kit';

/**
 * The largest proposal.json submit reads. A proposal's value is at most the proposer's
 * --max-value-bytes (1 MiB by default) and no request passes grpc-js's 4 MiB; 16 MiB leaves room
 * for JSON's escapes and spaces. Past it the file is no proposal, and reading it cost minutes and
 * gigabytes (a 60 MB framework name: 115 s, 2.9 GB) before the proposer refused it.
 */
export const PROPOSAL_FILE_BYTES_MAX = 16 * 1024 * 1024;

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
    return utf8Text(Buffer.concat(chunks, total), path, flag);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${flag} ${path} cannot be read (${describeOpenError(e)})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The file's bytes as text: UTF-8, a UTF-8 byte order mark before it dropped. Anything else is
 * refused: decoded as UTF-8 regardless, a Latin-1 "caf\xe9" was sent as "caf\ufffd" and chosen
 * into the agreed leaderboard under that name, and a UTF-16 file was said to be "not JSON".
 */
function utf8Text(bytes: Buffer, path: string, flag: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new ConfigError(`${flag} ${path} is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8`);
  }
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) throw new ConfigError(`${flag} ${path} is not UTF-8 text (byte ${firstNotUtf8(body) + body.byteOffset - bytes.byteOffset} is not): save it as UTF-8`);
  return body.toString('utf8');
}

/** The offset of the first byte that is not UTF-8: every U+FFFD decoded before it stood for its own three bytes. */
function firstNotUtf8(bytes: Buffer): number {
  const text = bytes.toString('utf8');
  let offset = 0;
  let from = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) {
    offset += Buffer.byteLength(text.slice(from, i));
    from = i;
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
  }
  return offset;
}

function describeOpenError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}
