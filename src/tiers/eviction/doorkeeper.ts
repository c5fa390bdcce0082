/**
 * The doorkeeper of TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM TOS 2017, section 3.4.2): a Bloom filter in front of the count-min sketch,
 * so that the many keys seen once in a sample cost one bit, not four 4-bit counters. Cleared when the
 * sketch ages.
 */
export class Doorkeeper {
  private readonly bits: Uint32Array
  private readonly mask: number

  /** @param expected - distinct keys per sample to hold at ~1 % false positives (about 10 bits each) */
  constructor(expected: number) {
    let words = 1
    while (words * 32 < expected * 10) words *= 2
    this.bits = new Uint32Array(words)
    this.mask = words * 32 - 1
  }

  /** Sets the key's bits; returns whether all were already set (the key was, probably, seen). */
  put(hash: number): boolean {
    let seen = true
    // Three probes by double hashing (Kirsch & Mitzenmacher, "Less hashing, same performance", 2006).
    const h2 = (hash >>> 16) | 1
    for (let i = 0; i < 3; i++) {
      const bit = (hash + i * h2) & this.mask
      const word = bit >>> 5
      const flag = 1 << (bit & 31)
      const current = this.bits[word] ?? 0
      if ((current & flag) === 0) {
        seen = false
        this.bits[word] = current | flag
      }
    }
    return seen
  }

  contains(hash: number): boolean {
    const h2 = (hash >>> 16) | 1
    for (let i = 0; i < 3; i++) {
      const bit = (hash + i * h2) & this.mask
      if (((this.bits[bit >>> 5] ?? 0) & (1 << (bit & 31))) === 0) return false
    }
    return true
  }

  clear(): void {
    this.bits.fill(0)
  }
}
