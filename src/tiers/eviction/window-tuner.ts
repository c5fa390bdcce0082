import { mix32 } from './hash.js'

/** What the tuner needs of a shadow cache: the policy's own request API, on sampled key hashes. */
export interface ShadowPolicy {
  access(key: number): boolean
  record(key: number, weight?: number): boolean
}

/** Options of {@link WindowTuner}. */
export interface WindowTunerOptions {
  /** Entries the real cache holds. */
  readonly capacity: number
  /** Window shares (0..1 of capacity) to try, one shadow each. @default {@link DEFAULT_SHARES} */
  readonly shares?: readonly number[]
  /** Entries each shadow holds at least; the key sampling rate is this over `capacity` (at most 1). @default 1000 */
  readonly shadowCapacity?: number
  /** Sampled requests between decisions, as a multiple of the shadow capacity. @default 5 */
  readonly period?: number
  /** Weight of the past periods' hits in a decision: hits decay by this factor each period. @default 0.9 */
  readonly decay?: number
  /** Makes a fixed-window shadow of `capacity` entries and window `share`. */
  readonly create: (capacity: number, share: number) => ShadowPolicy
}

/**
 * Window shares the shadows try: from a one-entry window (loops, where the main region must stay put)
 * to almost all window (recency, near LRU), denser where OLTP-like traces peak (0.1-0.4).
 */
export const DEFAULT_SHARES: readonly number[] = [0, 0.01, 0.05, 0.15, 0.3, 0.5, 0.75, 0.99]

/**
 * Chooses the window's share of the cache by miniature simulation (Waldspurger, Saemundsson,
 * Ahmad & Park, "Cache Modeling and Optimization using Miniature Simulations", USENIX ATC 2017):
 * a few shadow caches, each a fixed-window W-TinyLFU scaled down to a spatially hashed sample of
 * the keys, replay the same sampled requests side by side, and the real cache takes the window of
 * the shadow that hit most lately. Unlike the hill climber, which compares one configuration with
 * the previous one in time, the shadows compare configurations on the same requests, so a phase
 * change is not mistaken for the effect of a step, and short traces need no long sample periods.
 *
 * Cost: a hash test per request, and `shares.length` shadow accesses for each sampled one (all of
 * them when the cache is smaller than `shadowCapacity`: then the sample is every key).
 */
export class WindowTuner {
  /** The share currently chosen. */
  share: number
  private readonly shares: readonly number[]
  private readonly shadows: ShadowPolicy[]
  private readonly scores: Float64Array
  private readonly threshold: number
  private readonly period: number
  private readonly decay: number
  private sampled = 0

  constructor(options: WindowTunerOptions, initialShare: number) {
    this.shares = options.shares ?? DEFAULT_SHARES
    const shadowCapacity = Math.min(options.capacity, options.shadowCapacity ?? 1000)
    const rate = shadowCapacity / options.capacity
    // Keys whose mixed hash falls below the threshold are the sample (an unsigned 32-bit compare).
    this.threshold = Math.floor(rate * 4294967296)
    const scaled = Math.max(1, Math.round(options.capacity * rate))
    this.shadows = this.shares.map((share) => options.create(scaled, share))
    this.scores = new Float64Array(this.shares.length)
    this.period = Math.max(1, Math.round((options.period ?? 5) * scaled))
    this.decay = options.decay ?? 0.9
    this.share = initialShare
  }

  /** Feeds one request (by key hash); returns true when the chosen share changed. */
  record(hash: number): boolean {
    const h = mix32(hash ^ 0x5bd1e995)
    if (h >>> 0 >= this.threshold) return false
    for (let i = 0; i < this.shadows.length; i++) {
      const shadow = this.shadows[i]
      if (shadow === undefined) continue
      if (shadow.access(h)) this.scores[i] = (this.scores[i] ?? 0) + 1
      else shadow.record(h)
    }
    if (++this.sampled < this.period) return false
    this.sampled = 0
    let best = 0
    for (let i = 1; i < this.scores.length; i++) if ((this.scores[i] ?? 0) > (this.scores[best] ?? 0)) best = i
    for (let i = 0; i < this.scores.length; i++) this.scores[i] = (this.scores[i] ?? 0) * this.decay
    const share = this.shares[best] ?? this.share
    if (share === this.share) return false
    this.share = share
    return true
  }
}
