import type { RandomSource } from './random.js'

/**
 * Samples integers 1..n with P(k) ∝ 1 / k^s (a Zipf distribution), in O(1) expected time per sample
 * and O(1) memory, for any n, by rejection-inversion.
 *
 * The method inverts the integral H of the continuous hat function h(x) = x^−s and accepts the
 * rounded point k when it falls under the step of the discrete distribution; the expected number of
 * iterations per sample is close to 1 for every s. This is the algorithm of Apache Commons RNG's
 * `RejectionInversionZipfSampler`, which uses the same helper functions to stay accurate when
 * s is near 1 (where H is a logarithm).
 *
 * @see W. Hörmann, G. Derflinger, "Rejection-inversion to generate variates from monotone discrete
 *   distributions", ACM Transactions on Modeling and Computer Simulation 6(3), 169–184, 1996.
 */
export class ZipfSampler {
  private readonly hIntegralX1: number
  private readonly hIntegralN: number
  private readonly threshold: number

  /**
   * @param n - number of distinct values, a positive safe integer
   * @param exponent - s ≥ 0; 0 is uniform, about 1 is classic Zipf ("80/20"), larger is more skewed
   * @param random - the uniform source; a seeded one makes the samples reproducible
   * @throws RangeError for n or s out of range (callers validate user input first)
   */
  constructor(
    readonly n: number,
    readonly exponent: number,
    private readonly random: RandomSource,
  ) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer')
    if (!Number.isFinite(exponent) || exponent < 0) throw new RangeError('exponent must be finite and non-negative')
    this.hIntegralX1 = this.hIntegral(1.5) - 1
    this.hIntegralN = this.hIntegral(n + 0.5)
    this.threshold = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2))
  }

  /** The next value, an integer in [1, n]; 1 is the most frequent. */
  sample(): number {
    for (;;) {
      // u is uniform in (hIntegralX1, hIntegralN]: the range of H over [0.5, n + 0.5], shifted so
      // that value 1 gets exactly its probability.
      const u = this.hIntegralN + this.random.nextDouble() * (this.hIntegralX1 - this.hIntegralN)
      const x = this.hIntegralInverse(u)
      let k = Math.floor(x + 0.5)
      if (k < 1) k = 1
      else if (k > this.n) k = this.n
      // Accept when x rounds into the part of the step that lies under the hat (the quick test),
      // or when u is under the discrete step itself.
      if (k - x <= this.threshold || u >= this.hIntegral(k + 0.5) - this.h(k)) return k
    }
  }

  /** h(x) = x^−s, the hat function. */
  private h(x: number): number {
    return Math.exp(-this.exponent * Math.log(x))
  }

  /** H(x) = (x^(1−s) − 1) / (1 − s), or log(x) when s = 1: an integral of h. */
  private hIntegral(x: number): number {
    const logX = Math.log(x)
    return helper2((1 - this.exponent) * logX) * logX
  }

  /** The inverse of {@link hIntegral}. */
  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.exponent)
    // Rounding can push t below −1, where log1p is undefined; −1 maps to the upper end.
    if (t < -1) t = -1
    return Math.exp(helper1(t) * x)
  }
}

/** log(1 + x) / x, accurate near 0 (Taylor series there). */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x))
}

/** (e^x − 1) / x, accurate near 0 (Taylor series there). */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x))
}
