// Typed filter values of the LMFDB API. Every value carries its type prefix; `ls` and `cf` are
// broken on the server and are never emitted.

const PREFIXES = ['cpy', 'cs', 'ci', 'li', 'lf', 'py', 's', 'i', 'f'] as const;
export type TypedValue = string & { readonly __typed?: true };

type Int = bigint | number;
function int(v: Int): string {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`${v} is not an exact integer`);
  return String(v);
}

export const typed = {
  s: (v: string): TypedValue => `s${v}`,
  i: (v: Int): TypedValue => `i${int(v)}`,
  /** A float given as its decimal text (never a JS float). */
  f: (v: string): TypedValue => `f${v}`,
  /** A list of integers, joined with the default `_delim` ','. */
  li: (v: readonly Int[]): TypedValue => `li${v.map(int).join(',')}`,
  lf: (v: readonly string[]): TypedValue => `lf${v.join(',')}`,
  py: (literal: string): TypedValue => `py${literal}`,
  /** An integer range `py{'$gte':lo,'$lte':hi}` (either bound optional). */
  range: (lo?: Int, hi?: Int): TypedValue => {
    const parts: string[] = [];
    if (lo !== undefined) parts.push(`'$gte':${int(lo)}`);
    if (hi !== undefined) parts.push(`'$lte':${int(hi)}`);
    return `py{${parts.join(',')}}`;
  },
  cs: (v: string): TypedValue => `cs${v}`,
  ci: (v: Int): TypedValue => `ci${int(v)}`,
  cpy: (literal: string): TypedValue => `cpy${literal}`,
};

/** True when the value starts with a supported type prefix (and not with `ls` or `cf`). */
export function hasTypedPrefix(value: string): boolean {
  if (value.startsWith('ls') || value.startsWith('cf')) return false;
  return PREFIXES.some((p) => value.startsWith(p) && value.length >= p.length);
}

export interface ApiQuery {
  /** column -> typed value (see `typed`). */
  filters?: Readonly<Record<string, TypedValue>>;
  fields?: readonly string[];
  /** Columns; a leading '-' sorts descending. */
  sort?: readonly string[];
  offset?: number;
}

/** `/api/<table>/?<filters>&_fields=..&_sort=..&_format=json&_offset=n` (relative). */
export function buildApiPath(table: string, q: ApiQuery): string {
  if (!/^[A-Za-z0-9_]+$/.test(table)) throw new RangeError(`bad table name ${table}`);
  const params = new URLSearchParams();
  for (const [col, value] of Object.entries(q.filters ?? {})) {
    if (col.startsWith('_')) throw new RangeError(`filter column ${col} starts with '_'`);
    if (!hasTypedPrefix(value)) throw new RangeError(`filter ${col}=${value} has no supported type prefix`);
    params.append(col, value);
  }
  if (q.fields?.length) params.append('_fields', q.fields.join(','));
  if (q.sort?.length) params.append('_sort', q.sort.join(','));
  params.append('_format', 'json');
  if (q.offset) params.append('_offset', String(q.offset));
  return `/api/${table}/?${params.toString()}`;
}
