// Progress output: a bar per source on a TTY (rows, pages, rate, ETA), plain lines otherwise,
// and the summary table at the end.

import { printableField } from '@paxos/grpc-kit';

export interface ProgressSnapshot {
  source: number;
  table: string;
  rows: number;
  pages: number;
  /** Known total (the --limit), for the bar and the ETA. */
  total?: number;
}

export interface SourceSummary {
  source: number;
  table: string;
  rows: number;
  invalid: number;
  seconds: number;
  status: 'ok' | 'resumed' | 'offline' | 'failed';
  error?: string;
}

export interface ProgressReporter {
  start(source: number, table: string, resumedRows: number): void;
  update(p: ProgressSnapshot): void;
  finish(s: SourceSummary): void;
}

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createReporter(out: Out, now: () => number = () => performance.now()): ProgressReporter {
  const tty = out.isTTY === true;
  let startedAt = now();
  let startRows = 0;
  let lastLine = -Infinity;
  const line = (p: ProgressSnapshot): string => {
    const secs = (now() - startedAt) / 1000;
    const rate = secs > 0 ? (p.rows - startRows) / secs : 0;
    const eta = p.total !== undefined && rate > 0 ? duration((p.total - p.rows) / rate) : '?';
    const head = `source ${p.source} ${p.table}`;
    const stats = `${p.rows}${p.total !== undefined ? `/${p.total}` : ''} rows, ${p.pages} pages, ${rate.toFixed(1)} rows/s, ETA ${eta}`;
    if (!tty) return `${head}: ${stats}`;
    const width = 24;
    const filled = p.total ? Math.min(width, Math.floor((p.rows / p.total) * width)) : (p.pages % (width + 1));
    const bar = p.total ? '#'.repeat(filled) + '-'.repeat(width - filled) : ' '.repeat(Math.max(0, filled - 1)) + '#' + ' '.repeat(width - Math.max(1, filled));
    return `${head} [${bar}] ${stats}`;
  };
  return {
    start(source, table, resumedRows) {
      startedAt = now();
      startRows = resumedRows;
      lastLine = 0;
      out.write(tty ? '' : `source ${source} ${table}: ${resumedRows ? `resuming after ${resumedRows} rows` : 'starting'}\n`);
    },
    update(p) {
      if (tty) {
        const text = line(p);
        const cols = out.columns ?? 100;
        out.write(`\r${text.slice(0, cols - 1).padEnd(cols - 1)}`);
      } else if (now() - lastLine >= 2000) {
        lastLine = now();
        out.write(`${line(p)}\n`);
      }
    },
    finish(s) {
      // The error may quote the LMFDB server's own text: its controls are written as escapes.
      const end = `source ${s.source} ${s.table}: ${s.status}, ${s.rows} rows, ${s.invalid} invalid, ${s.seconds.toFixed(1)}s${s.error ? ` (${printableField(s.error)})` : ''}`;
      out.write(tty ? `\r${end.padEnd((out.columns ?? 100) - 1)}\n` : `${end}\n`);
    },
  };
}

export function summaryTable(rows: readonly SourceSummary[]): string {
  const header = ['source', 'table', 'rows', 'invalid', 'seconds', 'status'];
  const body = rows.map((r) => [String(r.source), r.table, String(r.rows), String(r.invalid), r.seconds.toFixed(1), r.status + (r.error ? `: ${r.error}` : '')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (i === 5 ? 0 : b[i].length))));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 5 ? c : i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w)).map((d, i) => (i === 5 ? '------' : d))), ...body.map(fmt)].join('\n') + '\n';
}
