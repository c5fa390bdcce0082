/**
 * A small, seedable pseudo-random generator, so that a replay of a synthetic workload is the same
 * on every run and every machine (Math.random cannot be seeded).
 */

/** A source of uniform doubles in [0, 1). */
export interface RandomSource {
  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number
}

/**
 * xoshiro128** 1.1 (Blackman & Vigna), a 32-bit generator with 128 bits of state and a period of
 * 2^128 − 1, seeded through SplitMix32 so that nearby seeds give unrelated streams.
 *
 * Not cryptographic: it only drives workload generation.
 *
 * @see D. Blackman, S. Vigna, "Scrambled Linear Pseudorandom Number Generators", ACM TOMS 47(4), 2021;
 *   https://prng.di.unimi.it/xoshiro128starstar.c
 */
export class Xoshiro128 implements RandomSource {
  private a: number
  private b: number
  private c: number
  private d: number

  /** @param seed - any safe integer; its low 32 bits and high bits both feed the state */
  constructor(seed: number) {
    let s = (seed >>> 0) ^ Math.floor(seed / 2 ** 32)
    const next = (): number => {
      // SplitMix32 (a 32-bit variant of Steele, Lea & Flood's SplitMix64), to spread the seed.
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    // The all-zero state is the one state xoshiro cannot leave.
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  nextDouble(): number {
    // 27 + 26 bits from two outputs, the usual construction of a 53-bit double.
    const high = this.nextUint32() >>> 5
    const low = this.nextUint32() >>> 6
    return (high * 67_108_864 + low) / 9_007_199_254_740_992
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
