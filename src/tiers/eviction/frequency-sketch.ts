import { Doorkeeper } from './doorkeeper.js'

/** Options of {@link FrequencySketch}. */
export interface FrequencySketchOptions {
  /** Entries the cache holds: sizes the table (16 4-bit counters per entry, a power of two). */
  readonly capacity: number
  /**
   * Increments per sample: after this many, every counter is halved (TinyLFU's "reset"), so that
   * the sketch follows a changing popularity. @default 10 × capacity, as in TinyLFU and Caffeine
   */
  readonly sampleSize?: number
  /** Put a Bloom filter in front of the counters (see {@link Doorkeeper}). @default false */
  readonly doorkeeper?: boolean
  /**
   * Conservative update (Estan & Varghese, "New directions in traffic measurement", SIGCOMM 2002):
   * increment only the counters at the key's minimum, which cuts the over-estimates of collisions.
   * @default true
   */
  readonly conservative?: boolean
}

/** The largest count a 4-bit counter holds. */
export const MAX_COUNT = 15

/**
 * A count-min sketch (Cormode & Muthukrishnan 2005) of 4-bit counters, depth 4, with TinyLFU's
 * aging: the popularity estimate of W-TinyLFU (Einziger, Friedman & Manes, ACM TOS 2017). 4 bits
 * are enough because admission only compares counts against each other and the reset halves them
 * every sample; Caffeine's FrequencySketch makes the same choice. Counters live 8 to a 32-bit word.
 * An estimate is never below the true count of the current sample (with the doorkeeper, below it by
 * at most the doorkeeper's one), and is above it only by collisions.
 */
export class FrequencySketch {
  /** Increments per sample, after which counters are halved. */
  readonly sampleSize: number
  private readonly table: Uint32Array
  private readonly mask: number
  private readonly doorkeeper: Doorkeeper | undefined
  private readonly conservative: boolean
  private additions = 0

  constructor(options: FrequencySketchOptions) {
    const capacity = Math.max(8, Math.ceil(options.capacity))
    let words = 1
    while (words < capacity * 2) words *= 2
    this.table = new Uint32Array(words)
    this.mask = words * 8 - 1
    this.sampleSize = Math.max(1, Math.round(options.sampleSize ?? 10 * capacity))
    this.doorkeeper = options.doorkeeper === true ? new Doorkeeper(this.sampleSize) : undefined
    this.conservative = options.conservative ?? true
  }

  /** Increments done in the current sample. */
  get size(): number {
    return this.additions
  }

  /** The estimated count of `hash` in the current sample, 0 to 15 (16 with the doorkeeper). */
  frequency(hash: number): number {
    const h2 = rehash(hash)
    let min = MAX_COUNT
    for (let i = 0; i < 4; i++) {
      const c = (hash + i * h2) & this.mask
      const count = ((this.table[c >>> 3] ?? 0) >>> ((c & 7) << 2)) & 15
      if (count < min) min = count
    }
    if (this.doorkeeper !== undefined && this.doorkeeper.contains(hash)) min++
    return min
  }

  /** Counts one occurrence of `hash`; ages the sketch when the sample is complete. */
  increment(hash: number): void {
    if (this.doorkeeper === undefined || this.doorkeeper.put(hash)) this.add(hash)
    if (++this.additions >= this.sampleSize) this.reset()
  }

  /** Halves every counter and clears the doorkeeper: TinyLFU's aging. */
  reset(): void {
    const table = this.table
    let odd = 0
    for (let i = 0; i < table.length; i++) {
      const word = table[i] ?? 0
      odd += popcount(word & 0x11111111)
      table[i] = (word >>> 1) & 0x77777777
    }
    // The halving drops each odd counter's half unit; Caffeine's account of it (4 counters a key).
    this.additions = Math.max(0, (this.additions - (odd >>> 2)) >>> 1)
    this.doorkeeper?.clear()
  }

  private add(hash: number): void {
    const h2 = rehash(hash)
    const table = this.table
    let min = MAX_COUNT
    if (this.conservative) {
      for (let i = 0; i < 4; i++) {
        const c = (hash + i * h2) & this.mask
        const count = ((table[c >>> 3] ?? 0) >>> ((c & 7) << 2)) & 15
        if (count < min) min = count
      }
      if (min === MAX_COUNT) return
    }
    for (let i = 0; i < 4; i++) {
      const c = (hash + i * h2) & this.mask
      const shift = (c & 7) << 2
      const word = table[c >>> 3] ?? 0
      const count = (word >>> shift) & 15
      if (count < MAX_COUNT && (!this.conservative || count === min)) table[c >>> 3] = word + (1 << shift)
    }
  }
}

/** A second, independent-looking hash for double hashing (Kirsch & Mitzenmacher 2006); odd, so every probe differs. */
function rehash(hash: number): number {
  const x = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d)
  return (x ^ (x >>> 12)) | 1
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff
}
