// Whether a Weierstrass model with integer coefficients is minimal at a prime p, decided from the
// model alone (no conductor, no stored column): a_p counted on a model that is not minimal at p
// is not the curve's a_p.
//
// A model is not minimal at p exactly when a change of variables x = p^2 x' + r,
// y = p^3 y' + p^2 s x' + t with integers r, s, t gives integer coefficients again (Silverman,
// VII.1.3(d): the change to a minimal model has integral r, s, t, and it factors through one with
// u = p). Whether one does depends only on r mod p^2, s mod p and t mod p^3 (the rest is an
// integral change [1, r', s', t'] after it), so for p = 2 and 3 the 64 and 729 classes are tried;
// for p >= 5 the classical test on c4, c6 and the discriminant decides (notMinimalAt).
import { notMinimalAt, valuation } from './elliptic-curve-arith';

/** The model's invariants minimality is read from (ellipticInvariants gives them). */
export interface ModelInvariants {
  readonly disc: bigint;
  readonly c4: bigint;
  readonly c6: bigint;
}

/**
 * u^i a_i' for the model after x = u^2 x' + r, y = u^3 y' + u^2 s x' + t (Silverman, table 3.1):
 * integers for any u; with u = 1 they are the changed model itself.
 */
export function changeOfVariables(ainvs: readonly bigint[], r: bigint, s: bigint, t: bigint): bigint[] {
  const [a1, a2, a3, a4, a6] = ainvs as [bigint, bigint, bigint, bigint, bigint];
  return [
    a1 + 2n * s,
    a2 - s * a1 + 3n * r - s * s,
    a3 + r * a1 + 2n * t,
    a4 - s * a3 + 2n * r * a2 - (t + r * s) * a1 + 3n * r * r - 2n * s * t,
    a6 + r * a4 + r * r * a2 + r * r * r - t * a3 - t * t - r * t * a1,
  ];
}

/** Weights i of a_1, a_2, a_3, a_4, a_6: a_i' = (u^i a_i') / u^i. */
const WEIGHTS = [1n, 2n, 3n, 4n, 6n];

/**
 * True when the model `ainvs` (five integers, `inv` its invariants, disc not 0) is minimal at the
 * prime p. Always true where p^12 does not divide the discriminant, p^4 not c4 or p^6 not c6 (a
 * model with u = p would have integer invariants disc / p^12, c4 / p^4, c6 / p^6).
 */
export function isMinimalAt(ainvs: readonly bigint[], inv: ModelInvariants, p: bigint): boolean {
  if (valuation(inv.disc, p) < 12 || valuation(inv.c4, p) < 4 || valuation(inv.c6, p) < 6) return true;
  if (p >= 5n) return !notMinimalAt(inv, p);
  // p = 2 or 3: at most 729 classes of (r, s, t), each a handful of products.
  for (let r = 0n; r < p * p; r++) {
    for (let s = 0n; s < p; s++) {
      for (let t = 0n; t < p * p * p; t++) {
        if (changeOfVariables(ainvs, r, s, t).every((a, i) => a % p ** (WEIGHTS[i] as bigint) === 0n)) return false;
      }
    }
  }
  return true;
}
