// Decimal strings, compared exactly after normalisation (no floating point anywhere).

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * Normalises a decimal string: no leading '+', no leading zeros in the integer part, no trailing
 * zeros in the fraction (and no '.' when the fraction is empty), "-0" -> "0".
 * Returns undefined for anything that is not `[+-]digits[.digits]`.
 */
export function normalizeDecimal(text: string): string | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const int = m[2].replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  const zero = /^0(\.0*)?$/.test(body);
  return m[1] === '-' && !zero ? `-${body}` : body;
}
