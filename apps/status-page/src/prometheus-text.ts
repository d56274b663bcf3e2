// Reads the series the page needs out of a Prometheus text exposition (version 0.0.4, what
// prom-client serves). A parser of a few lines: the page needs a handful of named series, and the
// libraries that parse the format either pull in a whole client or are unmaintained.

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of the series whose name `wanted` accepts; lines that do not parse are skipped. */
export function parsePrometheusText(text: string, wanted: (name: string) => boolean): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m || !wanted(m[1] as string)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const v = m[3] as string;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (!Number.isNaN(value) || v === 'NaN') samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}
