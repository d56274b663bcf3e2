// lmfdb.v1.RecordService over the cached sources.
import { Metadata, status, type sendUnaryData, type ServerErrorResponse } from '@grpc/grpc-js';
import { isSourceNumber, SOURCE_COUNT, type SourceCache, stringifyLossless, TABLE_FIELD, unloadedStatus, verifyClaim } from '@paxos/lmfdb-client';
import { type RecordServiceServer, type SourceStatus, Verdict } from '@paxos/proto';

function fail<T>(callback: sendUnaryData<T>, code: status, details: string): void {
  const err: ServerErrorResponse = Object.assign(new Error(details), { code, details, metadata: new Metadata() });
  callback(err, null);
}

const VERDICTS = { true: Verdict.VERDICT_TRUE, false: Verdict.VERDICT_FALSE, unknown: Verdict.VERDICT_UNKNOWN } as const;

/**
 * Handlers answering from `caches` (source -> loaded cache). `statuses` may give the status of
 * sources that failed to load (their error); other missing sources are reported as not loaded.
 */
export function createRecordServiceHandlers(
  caches: ReadonlyMap<number, SourceCache>,
  statuses: readonly SourceStatus[] = [],
  onVerdict?: (verdict: 'true' | 'false' | 'unknown') => void,
): RecordServiceServer {
  const statusOf = (n: number): SourceStatus =>
    caches.get(n)?.status() ?? statuses.find((s) => s.source === n) ?? unloadedStatus(n, `source ${n} is not loaded here`);
  return {
    getRecord(call, callback) {
      const { source, label } = call.request;
      if (!isSourceNumber(source)) return fail(callback, status.INVALID_ARGUMENT, `source ${source} is not one of 0..${SOURCE_COUNT - 1}`);
      if (!label) return fail(callback, status.INVALID_ARGUMENT, 'label is empty');
      const cache = caches.get(source);
      if (!cache) return fail(callback, status.NOT_FOUND, `source ${source} is not loaded here: ${statusOf(source).error}`);
      const rec = cache.get(label);
      if (!rec) return fail(callback, status.NOT_FOUND, `source ${source} has no record ${label}`);
      const { [TABLE_FIELD]: _table, ...row } = rec.raw;
      callback(null, {
        source,
        table: rec.table,
        label,
        recordJson: stringifyLossless(row),
        valid: rec.check.valid,
        invalidReasons: rec.check.reasons,
      });
    },
    listSources(_call, callback) {
      callback(null, { sources: Array.from({ length: SOURCE_COUNT }, (_, n) => statusOf(n)) });
    },
    verifyClaim(call, callback) {
      const claim = call.request.claim;
      if (!claim) return fail(callback, status.INVALID_ARGUMENT, 'claim is missing');
      if (!isSourceNumber(claim.source)) return fail(callback, status.INVALID_ARGUMENT, `claim.source ${claim.source} is not one of 0..${SOURCE_COUNT - 1}`);
      if (!claim.label || !claim.field) return fail(callback, status.INVALID_ARGUMENT, 'claim.label and claim.field must be given');
      const r = verifyClaim(caches.get(claim.source), claim);
      onVerdict?.(r.verdict);
      callback(null, { verdict: VERDICTS[r.verdict], actualValue: r.actual ?? '', reason: r.reason });
    },
  };
}
