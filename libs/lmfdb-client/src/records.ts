// Typed records of the ten sources. Every column is optional (the API omits NULLs); integers are
// bigint; unknown columns stay available through the index signature.
import type { DatetimeValue, LmfdbValue, RationalValue, RealValue } from './values';

interface Row {
  id?: bigint;
  [column: string]: LmfdbValue | undefined;
}

/** Source 0: ec_curvedata. */
export interface EcCurveRecord extends Row {
  lmfdb_label?: string;
  lmfdb_iso?: string;
  lmfdb_number?: bigint;
  iso_nlabel?: bigint;
  Clabel?: string;
  Ciso?: string;
  Cnumber?: bigint;
  ainvs?: bigint[];
  conductor?: bigint;
  jinv?: bigint[];
  rank?: bigint;
  torsion?: bigint;
  torsion_structure?: bigint[];
  cm?: bigint;
  absD?: bigint;
  signD?: bigint;
  bad_primes?: bigint[];
  class_size?: bigint;
  semistable?: boolean;
  faltings_height?: RealValue;
}

/** Source 1: mf_newspaces (N.k.a), mf_gamma1 (N.k), mf_newforms (N.k.a.x). */
export interface MfSpaceRecord extends Row {
  _table?: string;
  label?: string;
  level?: bigint;
  weight?: bigint;
  char_orbit_label?: string;
  char_orbit_index?: bigint;
  conrey_index?: bigint;
  dim?: bigint;
  cusp_dim?: bigint;
  eis_dim?: bigint;
  mf_dim?: bigint;
  num_forms?: bigint;
  sturm_bound?: bigint;
  space_label?: string;
  trace_display?: bigint[];
}

/** Source 2: lfunc_search. */
export interface LfuncRecord extends Row {
  label?: string;
  degree?: bigint;
  conductor?: bigint;
  central_character?: string;
  motivic_weight?: bigint;
  order_of_vanishing?: bigint;
  self_dual?: boolean;
  primitive?: boolean;
  instance_urls?: string[];
  prelabel?: string;
  index?: bigint;
}

/** Source 3: nf_fields. */
export interface NumberFieldRecord extends Row {
  label?: string;
  degree?: bigint;
  r2?: bigint;
  disc_abs?: bigint;
  disc_sign?: bigint;
  coeffs?: bigint[];
  class_number?: bigint;
  class_group?: bigint[];
  ramps?: bigint[];
  is_galois?: boolean;
}

/** Source 4: artin_reps. */
export interface ArtinRecord extends Row {
  Baselabel?: string;
  Dim?: bigint;
  Conductor?: bigint;
  GaloisLabel?: string;
  Indicator?: bigint;
  Is_Even?: boolean;
  BadPrimes?: bigint[];
}

/** Source 5: g2c_curves (eqn, g2_inv, torsion_subgroup parsed from text). */
export interface Genus2Record extends Row {
  label?: string;
  class?: string;
  cond?: bigint;
  abs_disc?: bigint;
  disc_sign?: bigint;
  eqn?: bigint[][];
  g2_inv?: string[];
  torsion_subgroup?: bigint[];
  analytic_rank?: bigint;
  st_group?: string;
}

/** Source 6: hgcwa_passports (group, signature parsed from text). */
export interface HgcwaRecord extends Row {
  passport_label?: string;
  label?: string;
  genus?: bigint;
  g0?: bigint;
  group?: bigint[];
  group_order?: bigint;
  signature?: bigint[];
  dim?: bigint;
  hyperelliptic?: boolean;
}

/** Source 7: lat_lattices. */
export interface LatticeRecord extends Row {
  label?: string;
  dim?: bigint;
  det?: bigint;
  level?: bigint;
  class_number?: bigint;
  minimum?: bigint;
  kissing?: bigint;
  aut?: bigint;
  hermite?: RealValue;
  gram?: bigint[];
}

/** Source 8: maass_rigor. */
export interface MaassRecord extends Row {
  maass_label?: string;
  level?: bigint;
  weight?: bigint;
  conrey_index?: bigint;
  spectral_parameter?: RealValue;
  symmetry?: bigint;
  fricke_eigenvalue?: bigint;
}

/** Source 9: smf_families (+ smf_samples). */
export interface SiegelRecord extends Row {
  _table?: string;
  name?: string;
  degree?: bigint;
  latex_name?: string;
  order?: bigint;
  collection?: string[];
}

export interface SourceRecordTypes {
  0: EcCurveRecord;
  1: MfSpaceRecord;
  2: LfuncRecord;
  3: NumberFieldRecord;
  4: ArtinRecord;
  5: Genus2Record;
  6: HgcwaRecord;
  7: LatticeRecord;
  8: MaassRecord;
  9: SiegelRecord;
}

export type { DatetimeValue, RationalValue, RealValue };
