// A state snapshot on the wire (paxos.v1.StateSnapshotChunk): cut into chunks by the sender,
// put back together and checked by the receiver. Every chunk repeats the snapshot's slot, size and
// CRC, so a receiver checks each chunk against the first and bounds what it holds before the end.
import { status } from '@grpc/grpc-js';
import { DEFAULT_LIMITS } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { StateSnapshotChunk } from '@paxos/proto';
import { crc32 } from 'node:zlib';

/**
 * Data bytes per chunk: under every node's message bound (an acceptor takes its largest value plus
 * 64 KiB, and its largest value may be as small as 1 KiB).
 */
export const STATE_SNAPSHOT_CHUNK_BYTES = 48 * 1024;
/** The largest state snapshot a node sends or takes (a full session table and registry is far less). */
export const STATE_SNAPSHOT_BYTES_MAX = 1024 * 1024 * 1024;

/** A snapshot's bytes and the slot it reflects. */
export interface StateSnapshotBytes {
  readonly slot: bigint;
  readonly body: Buffer;
}

/** The chunks of a snapshot, in order (at least one, so an empty body still names its slot). */
export function* stateSnapshotChunks(s: StateSnapshotBytes): Generator<StateSnapshotChunk> {
  const totalBytes = BigInt(s.body.length);
  const crc = crc32(s.body);
  let offset = 0;
  // Bounded: every turn moves offset on by a chunk, and the first turn always runs.
  do {
    const data = s.body.subarray(offset, offset + STATE_SNAPSHOT_CHUNK_BYTES);
    yield { slot: s.slot, totalBytes, crc32: crc, offset: BigInt(offset), data };
    offset += data.length;
  } while (offset < s.body.length);
}

/** Puts received chunks back together; every mistake is an INVALID_ARGUMENT naming it (network input). */
export class StateSnapshotAssembler {
  private head: StateSnapshotChunk | undefined;
  private readonly parts: Buffer[] = [];
  private received = 0;

  add(chunk: StateSnapshotChunk | undefined): void {
    if (chunk === undefined) throw invalid('a state snapshot message without its chunk');
    const head = this.head ?? chunk;
    if (this.head === undefined) {
      if (chunk.totalBytes > BigInt(STATE_SNAPSHOT_BYTES_MAX)) throw invalid(`a state snapshot of ${chunk.totalBytes} bytes is above the bound of ${STATE_SNAPSHOT_BYTES_MAX}`);
      // Said at the first chunk, as the size is: at the end a slot of 2^64 - 1 was named only as
      // "fails its CRC" (a sender that means it computes a CRC for no slot it can send).
      if (chunk.slot > DEFAULT_LIMITS.slotMax) throw invalid(`a state snapshot at slot ${chunk.slot}, above the highest slot ${DEFAULT_LIMITS.slotMax}`);
      this.head = chunk;
    }
    if (chunk.slot !== head.slot || chunk.totalBytes !== head.totalBytes || chunk.crc32 !== head.crc32) {
      throw invalid(`a chunk of the snapshot at slot ${chunk.slot} (${chunk.totalBytes} bytes) in the stream of the one at slot ${head.slot} (${head.totalBytes} bytes)`);
    }
    if (chunk.offset !== BigInt(this.received)) throw invalid(`a chunk at offset ${chunk.offset}, expected ${this.received}`);
    // Every chunk but the one of an empty snapshot carries data: the chunks are bounded by the size.
    if (chunk.data.length === 0 && (head.totalBytes !== 0n || this.parts.length > 0)) throw invalid('an empty chunk');
    if (BigInt(this.received + chunk.data.length) > head.totalBytes) throw invalid(`chunks beyond the snapshot's ${head.totalBytes} bytes`);
    this.parts.push(Buffer.from(chunk.data));
    this.received += chunk.data.length;
  }

  /** The whole snapshot, checked against its size and CRC. */
  finish(): StateSnapshotBytes {
    const head = this.head;
    if (head === undefined) throw invalid('an empty state snapshot stream');
    if (BigInt(this.received) !== head.totalBytes) throw invalid(`the stream ended after ${this.received} of the snapshot's ${head.totalBytes} bytes`);
    const body = Buffer.concat(this.parts);
    if (crc32(body) !== head.crc32) throw invalid(`the snapshot at slot ${head.slot} fails its CRC`);
    return { slot: head.slot, body };
  }
}

function invalid(message: string): GrpcError {
  return new GrpcError(status.INVALID_ARGUMENT, message);
}
