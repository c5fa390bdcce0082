import type { FrequencySketch } from './frequency-sketch.js'

/** Options of {@link Admission}. */
export interface AdmissionOptions {
  /**
   * A candidate at least this frequent that loses (or ties) is still admitted at random, with
   * probability `jitterRate`. @default 6 (Caffeine's ADMIT_HASHDOS_THRESHOLD)
   */
  readonly jitterThreshold?: number
  /** @default 1 / 128 (Caffeine) */
  readonly jitterRate?: number
  /** Seed of the jitter's generator, for reproducible runs. @default 1 */
  readonly seed?: number
}

/**
 * TinyLFU's admission decision (Einziger, Friedman & Manes, ACM TOS 2017, section 3): a candidate
 * leaving the window replaces the main region's victim only if the sketch says it is more frequent.
 * A tie keeps the victim, which is what holds a steady resident set on a loop.
 *
 * The jitter defends against hash flooding: an attacker who makes keys collide with a hot victim
 * in the sketch would otherwise keep every hot candidate out for ever. Caffeine
 * (BoundedLocalCache.admit) lets a warm candidate in at random, rarely enough to cost almost no hit
 * ratio; so does this.
 */
export class Admission {
  private readonly threshold: number
  private readonly rateBits: number
  private state: number


  constructor(
    private readonly sketch: FrequencySketch,
    options: AdmissionOptions = {},
  ) {
    this.threshold = options.jitterThreshold ?? 6
    this.rateBits = Math.round((options.jitterRate ?? 1 / 128) * 4294967296)
    this.state = options.seed ?? 1
  }

  /** Whether the candidate (by hash) should replace the victim. */
  admit(candidateHash: number, victimHash: number): boolean {
    const candidate = this.sketch.frequency(candidateHash)
    const victim = this.sketch.frequency(victimHash)
    if (candidate > victim) return true
    if (candidate < this.threshold || candidate === victim) return false
    return this.next() < this.rateBits
  }

  /** xorshift32 (Marsaglia 2003): a few shifts, no allocation, unsigned 32-bit. */
  private next(): number {
    let x = this.state || 1
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x
    return x >>> 0
  }
}
