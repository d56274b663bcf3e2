// The ten sources of the seed as real LMFDB tables.
//
// A source has a primary table (its `table` in SourceStatus) and possibly secondary tables whose
// rows live in the same cache file. Source 1 holds mf_newspaces (primary, labels N.k.a) plus
// mf_gamma1 (N.k) and mf_newforms (N.k.a.x); source 9 holds smf_families (primary) plus
// smf_samples. Labels do not collide across a source's tables. In a multi-table source every
// cached row carries `_table` (a name no API column can have: API meta names start with `_`).

export interface TableSpec {
  /** PostgreSQL table name as used in /api/<table>/. */
  table: string;
  /** Key column (the label). */
  key: string;
  /**
   * An integer column used to split pulls that would pass offset 10000 (range filter). Fewer than
   * 10,100 rows may share one value of it, or the pull fails there: a degree or a dimension does
   * not do (LMFDB has far more quadratic fields, or L-functions of degree 2, than that).
   */
  splitColumn?: string;
}

/** The columns a scan of the table sorts by: its split column, then its key (a scan's cursor is a place in that order). */
export function scanSort(t: TableSpec): string[] {
  return t.splitColumn ? [t.splitColumn, t.key] : [t.key];
}

export interface SourceSpec {
  source: number;
  name: string;
  /** Primary table first. */
  tables: readonly TableSpec[];
}

export const SOURCE_COUNT = 10;
export const TABLE_FIELD = '_table';

/** The row marked with the table it was pulled from (first); a `_table` column of its own does not override it. */
export function withTable<R extends Record<string, unknown>>(row: R, table: string): Record<string, unknown> {
  const { [TABLE_FIELD]: _own, ...rest } = row;
  return { [TABLE_FIELD]: table, ...rest };
}

export const SOURCES: readonly SourceSpec[] = [
  { source: 0, name: 'Elliptic curves over Q', tables: [{ table: 'ec_curvedata', key: 'lmfdb_label', splitColumn: 'conductor' }] },
  {
    source: 1,
    name: 'Modular form dimensions',
    tables: [
      { table: 'mf_newspaces', key: 'label', splitColumn: 'level' },
      { table: 'mf_gamma1', key: 'label', splitColumn: 'level' },
      { table: 'mf_newforms', key: 'label', splitColumn: 'level' },
    ],
  },
  { source: 2, name: 'L-function instances', tables: [{ table: 'lfunc_search', key: 'label', splitColumn: 'conductor' }] },
  { source: 3, name: 'Number fields', tables: [{ table: 'nf_fields', key: 'label', splitColumn: 'disc_abs' }] },
  { source: 4, name: 'Artin representations', tables: [{ table: 'artin_reps', key: 'Baselabel', splitColumn: 'Conductor' }] },
  { source: 5, name: 'Genus 2 curves', tables: [{ table: 'g2c_curves', key: 'label', splitColumn: 'cond' }] },
  { source: 6, name: 'Higher genus families', tables: [{ table: 'hgcwa_passports', key: 'passport_label', splitColumn: 'genus' }] },
  { source: 7, name: 'Lattices', tables: [{ table: 'lat_lattices', key: 'label', splitColumn: 'dim' }] },
  { source: 8, name: 'Maass forms', tables: [{ table: 'maass_rigor', key: 'maass_label', splitColumn: 'level' }] },
  {
    source: 9,
    name: 'Siegel modular forms',
    tables: [
      { table: 'smf_families', key: 'name' },
      { table: 'smf_samples', key: 'name' },
    ],
  },
];

export function isSourceNumber(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < SOURCE_COUNT;
}

export function sourceSpec(n: number): SourceSpec {
  if (!isSourceNumber(n)) throw new RangeError(`source ${n} is not one of 0..9`);
  return SOURCES[n];
}

/** The table a cached row belongs to (its `_table`, else the source's primary table). */
export function rowTable(spec: SourceSpec, row: Record<string, unknown>): TableSpec {
  const t = row[TABLE_FIELD];
  return spec.tables.find((x) => x.table === t) ?? spec.tables[0];
}

/** The label of a row (value of its table's key column) or undefined. */
export function rowLabel(spec: SourceSpec, row: Record<string, unknown>): string | undefined {
  const v = row[rowTable(spec, row).key];
  return typeof v === 'string' ? v : undefined;
}
