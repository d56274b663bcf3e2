// Typed errors of the LMFDB client and the cache.

export class LmfdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** LMFDB could not be reached (connection refused, reset, DNS), still after the retries. */
export class LmfdbNetworkError extends LmfdbError {
  constructor(
    readonly url: string,
    readonly attempts: number,
    detail: string,
  ) {
    super(`LMFDB could not be reached for ${url} (${attempts} attempts with back-off): ${detail}`);
  }
}

/** An HTML error page (404 unknown table/column/bad value/offset, 500 query time limit, ...). */
export class LmfdbHttpError extends LmfdbError {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly url: string,
  ) {
    super(`LMFDB answered ${status} for ${url}: ${serverMessage}`);
  }
}

/** The bot wall (an HTML challenge with status 200) persisted after every allowed cool-down. */
export class LmfdbBotWallError extends LmfdbError {
  constructor(
    readonly url: string,
    readonly attempts: number,
  ) {
    super(`LMFDB bot wall still up after ${attempts} cool-downs for ${url}`);
  }
}

/** A request that did not answer within the timeout, after all retries. */
/** The client's signal was aborted (the ingest was interrupted) during a request or a wait. */
export class LmfdbInterruptedError extends LmfdbError {
  constructor(readonly url: string) {
    super(`interrupted while asking ${url}`);
  }
}

export class LmfdbTimeoutError extends LmfdbError {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`LMFDB did not answer within ${timeoutMs} ms: ${url}`);
  }
}

/** A body that is not the JSON envelope expected. */
export class LmfdbParseError extends LmfdbError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`LMFDB answer for ${url} is not a JSON envelope: ${detail}`);
  }
}

/**
 * A page whose envelope names another table than the one asked for (a redirect, a proxy or a
 * mirror that serves the wrong table): its rows would be cached as the asked table's.
 */
export class LmfdbWrongTableError extends LmfdbError {
  constructor(
    readonly url: string,
    readonly askedTable: string,
    readonly answeredTable: string,
  ) {
    super(`LMFDB answer for ${url} is a page of table ${JSON.stringify(answeredTable.slice(0, 100))}, not of ${askedTable}, the table asked for: not taken (its rows would be cached as ${askedTable}'s)`);
  }
}

/** A query the API cannot answer as asked (e.g. more than 10100 rows share one split value). */
export class LmfdbQueryError extends LmfdbError {}

/** A cache file that is missing, unreadable or whose sha256 does not match its records. */
export class CacheIntegrityError extends LmfdbError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`cache file ${file}: ${detail}`);
  }
}
