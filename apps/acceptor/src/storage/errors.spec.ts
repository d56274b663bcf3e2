import { GrpcError, GrpcStatus } from '@paxos/grpc-kit';
import { HistoryBehindError } from '@paxos/acceptor-node';
import { historyReadError, ioFailure, StorageCorruptionError } from './errors';

describe('storage errors', () => {
  it('names a failed operation, its file and the error code once', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(ioFailure('fdatasync', '/d/log-1.wal', enospc)).toBe('fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device, write');
    const eio = Object.assign(new Error('input/output error'), { code: 'EIO' });
    expect(ioFailure('write', '/d/snapshot.bin', eio)).toBe('write of /d/snapshot.bin failed: EIO input/output error');
  });

  it('never tell an operator to start a damaged acceptor from a backup or an empty data dir (it would forget its promises and votes)', () => {
    for (const err of [new StorageCorruptionError('/d/log-1.wal', 280, 'CRC mismatch'), new HistoryBehindError('/d/history', 'the chosen history ends at slot 3, below the committed index 150')]) {
      expect(err.message).not.toMatch(/restore the data dir from a backup|rejoin empty|move the data dir away/i);
      expect(err.message).toMatch(/Keep this data dir as it is and leave the node stopped: do not start it from a backup or an empty data dir/);
    }
  });

  it('a damaged history record read for a caller is DATA_LOSS naming where, not INTERNAL with start-up advice', () => {
    const err = historyReadError(new StorageCorruptionError('/d/history/chosen-00000000000000000083.seg', 1976, 'chosen history record of slot 91: CRC mismatch'));
    expect(err.code).toBe(GrpcStatus.DATA_LOSS);
    expect(err.message).toBe(
      "this acceptor's chosen history is damaged (/d/history/chosen-00000000000000000083.seg at byte offset 1976: chosen history record of slot 91: CRC mismatch); read these slots from another node",
    );
    expect(historyReadError(new Error('EIO: i/o error, read')).code).toBe(GrpcStatus.INTERNAL);
    const status = new GrpcError(GrpcStatus.OUT_OF_RANGE, 'below the history');
    expect(historyReadError(status)).toBe(status);
  });
});
