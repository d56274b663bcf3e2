// A local HTTP server that answers like the LMFDB API, for tests of the client and the ingest:
// pages of 100, `next` that repeats the offset on an empty page, NULLs omitted, exact big
// integers, HTML error pages (404/500), the bot wall (HTML with status 200) and slow answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringifyLossless } from './json';
import type { RawRow } from './values';

export type FakeFault =
  | { kind: 'botwall' }
  | { kind: 'html'; status: number; message: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'json'; status: number; body: string }
  | { kind: 'redirect'; status: number; location: string };

export interface FakeLmfdbOptions {
  tables: Record<string, RawRow[]>;
  pageSize?: number;
  maxOffset?: number;
  /** Called for every request; a fault replaces (or delays) the normal answer. */
  fault?: (url: URL, requestNumber: number) => FakeFault | undefined;
  /** Serve rows in their stored order whatever _sort asks (a server that ignores it). */
  ignoreSort?: boolean;
}

export interface FakeLmfdbServer {
  baseUrl: string;
  /** Request URLs in order (path + query). */
  requests: string[];
  close(): Promise<void>;
}

const html = (title: string, message: string) =>
  `<!DOCTYPE html><html><head><title>${title}</title><style>body{}</style></head><body><nav>LMFDB</nav><div id="content"><h1>${title}</h1><p>${message}</p></div></body></html>`;

function compare(a: unknown, b: unknown): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Parses a typed filter value into a predicate (the subset the client emits). */
function predicate(col: string, value: string): (row: RawRow) => boolean {
  const m = /^py\{(.*)\}$/.exec(value);
  if (m) {
    const lo = /'\$gte':\s*(-?\d+)/.exec(m[1])?.[1];
    const hi = /'\$lte':\s*(-?\d+)/.exec(m[1])?.[1];
    return (r) => {
      const v = r[col];
      if (typeof v !== 'bigint') return false;
      return (lo === undefined || v >= BigInt(lo)) && (hi === undefined || v <= BigInt(hi));
    };
  }
  if (value.startsWith('i')) return (r) => r[col] === BigInt(value.slice(1));
  if (value.startsWith('s')) return (r) => r[col] === value.slice(1);
  throw new Error(`unsupported filter ${col}=${value}`);
}

export async function startFakeLmfdbServer(opts: FakeLmfdbOptions): Promise<FakeLmfdbServer> {
  const pageSize = opts.pageSize ?? 100;
  const maxOffset = opts.maxOffset ?? 10000;
  const requests: string[] = [];
  // Worked out once per table and sort order, so a large table costs each request one filter pass.
  const columnsOf = new Map<string, Set<string>>();
  const sortedOf = new Map<string, RawRow[]>();
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${url.pathname}${url.search}`);
    const fault = opts.fault?.(url, requests.length);
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'botwall') {
      return send(res, 200, 'text/html; charset=utf-8', html('Checking your browser', 'Please wait while we verify you are human.'));
    }
    if (fault?.kind === 'html') return send(res, fault.status, 'text/html; charset=utf-8', html(`Error ${fault.status}`, fault.message));
    if (fault?.kind === 'json') return send(res, fault.status, 'application/json', fault.body);
    if (fault?.kind === 'redirect') {
      res.writeHead(fault.status, { location: fault.location, 'content-type': 'text/html' });
      return res.end(html('Moved', `moved to ${fault.location}`));
    }
    const m = /^\/api\/([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
    if (!m) return send(res, 404, 'text/html', html('Page not found', 'Page not found'));
    const table = m[1];
    const rows = opts.tables[table];
    if (!rows) return send(res, 404, 'text/html', html('Error', `Table ${table} does not exist`));
    let columns = columnsOf.get(table);
    if (!columns) columnsOf.set(table, (columns = new Set(rows.flatMap((r) => Object.keys(r)))));
    const sort = opts.ignoreSort ? null : url.searchParams.get('_sort');
    let out = rows;
    if (sort) {
      const key = `${table}\u0000${sort}`;
      let sorted = sortedOf.get(key);
      if (!sorted) {
        const keys = sort.split(',');
        sorted = [...rows].sort((a, b) => {
          for (const k of keys) {
            const desc = k.startsWith('-');
            const c = compare(a[desc ? k.slice(1) : k], b[desc ? k.slice(1) : k]);
            if (c) return desc ? -c : c;
          }
          return 0;
        });
        sortedOf.set(key, sorted);
      }
      out = sorted;
    }
    for (const [col, value] of url.searchParams) {
      if (col.startsWith('_')) continue;
      if (!columns.has(col)) return send(res, 404, 'text/html', html('Error', `No key ${col} in table ${table}`));
      try {
        const p = predicate(col, value);
        out = out.filter(p);
      } catch (e) {
        return send(res, 404, 'text/html', html('Error', String(e)));
      }
    }
    const offset = Number(url.searchParams.get('_offset') ?? '0');
    if (!Number.isInteger(offset) || offset < 0 || offset > maxOffset) {
      return send(res, 404, 'text/html', html('Error', `offset ${offset} too large`));
    }
    const fields = url.searchParams.get('_fields')?.split(',');
    const page = out.slice(offset, offset + pageSize).map((r) => {
      if (!fields) return r;
      const p: RawRow = {};
      for (const f of ['id', ...fields]) if (r[f] !== undefined) p[f] = r[f];
      return p;
    });
    const base = new URLSearchParams(url.searchParams);
    base.delete('_offset');
    const nextOffset = offset + page.length;
    const q = (o: number) => `/api/${table}/?${base.toString()}&_offset=${o}`;
    const body = stringifyLossless({
      table,
      timestamp: '2026-04-05T12:00:00.000000',
      data: page,
      start: offset,
      offset: nextOffset,
      query: q(offset),
      next: q(nextOffset),
      rec_id: 'id',
    });
    send(res, 200, 'application/json', body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, 'text/html', html('Error', String(e))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
