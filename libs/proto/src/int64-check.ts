// 64-bit fields are bigints in every process, or the process does not start.
import { BinaryReader } from '@bufbuild/protobuf/wire';

/**
 * Throws unless the protobuf runtime decodes a 64-bit field as a bigint. With BUF_BIGINT_DISABLE=1
 * in its environment it decodes them as decimal text while the generated types still say bigint:
 * slots, ballots and proposal numbers would then compare and sort as strings ("10" before "9"), a
 * registry keyed by them would differ from every other node's, and the state snapshots it wrote
 * would carry that to the nodes that install them. Checked once, where the contract is loaded.
 */
export function assertInt64AsBigint(env: NodeJS.ProcessEnv = process.env): void {
  const decoded: unknown = new BinaryReader(Uint8Array.of(1)).uint64();
  if (typeof decoded === 'bigint') return;
  const why = env['BUF_BIGINT_DISABLE'] === '1' ? 'BUF_BIGINT_DISABLE=1 is set in the environment' : 'this JavaScript runtime has no BigInt';
  throw new Error(`64-bit protobuf fields would decode as ${typeof decoded}, not bigint (${why}): slots, ballots and proposal numbers would not compare as numbers. Unset BUF_BIGINT_DISABLE and start again.`);
}

assertInt64AsBigint();
