import { assert } from './assert';

function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** xoshiro128** seeded through splitmix32: deterministic, fast, no Math.random. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | bigint) {
    const big = BigInt.asUintN(64, BigInt(seed));
    const lo = Number(big & 0xffffffffn);
    const hi = Number(big >> 32n);
    let x = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = x;
    x = splitmix32(x + hi);
    this.s1 = x;
    x = splitmix32(x + 1);
    this.s2 = x;
    x = splitmix32(x + 2);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [minIncl, maxExcl). */
  int(minIncl: number, maxExcl: number): number {
    assert(Number.isInteger(minIncl) && Number.isInteger(maxExcl) && maxExcl > minIncl, `bad range [${minIncl}, ${maxExcl})`);
    return minIncl + Math.floor(this.next() * (maxExcl - minIncl));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** An independent stream derived from this one and a label. */
  fork(label: string): SeededRandom {
    return new SeededRandom((BigInt(this.nextUint32()) << 32n) | BigInt((hashLabel(label) ^ this.nextUint32()) >>> 0));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
