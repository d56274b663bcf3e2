// Reads the series the page needs out of a Prometheus text exposition (version 0.0.4, what
// prom-client serves). A parser of a few lines: the page needs a handful of named series, and the
// libraries that parse the format either pull in a whole client or are unmaintained.

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
/** Longer lines are skipped: the page's series are short, and the label scan stays cheap. */
const LINE_CHARS_MAX = 4096;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** name="value",... in one linear pass; undefined when the block is not well formed. */
function parseLabels(block: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < block.length) {
    const eq = block.indexOf('=', i);
    if (eq < 0) return undefined;
    const name = block.slice(i, eq).trim();
    if (!LABEL_NAME.test(name) || block[eq + 1] !== '"') return undefined;
    let value = '';
    let j = eq + 2;
    for (; j < block.length && block[j] !== '"'; j++) {
      if (block[j] === '\\' && j + 1 < block.length) {
        j++;
        value += block[j] === 'n' ? '\n' : block[j];
      } else value += block[j];
    }
    if (j >= block.length) return undefined; // an open quote
    labels[name] = value;
    i = j + 1;
    while (i < block.length && (block[i] === ',' || block[i] === ' ')) i++;
  }
  return labels;
}

/** The samples of the series whose name `wanted` accepts; lines that do not parse are skipped. */
export function parsePrometheusText(text: string, wanted: (name: string) => boolean): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    if (raw.length > LINE_CHARS_MAX) continue;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // name{labels} value [timestamp], read without backtracking: the label block ends at the last '}'.
    const name = NAME.exec(line)?.[0];
    if (name === undefined || !wanted(name)) continue;
    let rest = line.slice(name.length);
    let labels: Record<string, string> | undefined = {};
    if (rest.startsWith('{')) {
      const close = rest.lastIndexOf('}');
      if (close < 0) continue;
      labels = parseLabels(rest.slice(1, close));
      rest = rest.slice(close + 1);
    }
    if (!labels || !/^\s/.test(rest)) continue;
    const fields = rest.trim().split(/\s+/);
    if (fields.length > 2 || (fields.length === 2 && !/^-?\d+$/.test(fields[1] as string))) continue;
    const v = fields[0] as string;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (v !== '' && (!Number.isNaN(value) || v === 'NaN')) samples.push({ name, labels, value });
  }
  return samples;
}
