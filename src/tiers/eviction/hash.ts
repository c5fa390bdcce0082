/**
 * A key's 32-bit hash, for the frequency sketch and the doorkeeper. The policy computes it once per
 * request (and keeps it with a resident entry), so it must be cheap and spread well in every bit:
 * the sketch takes its row indexes and counter offsets from different bits.
 */
export type KeyHasher<K> = (key: K) => number

/** murmur3's 32-bit finalizer (Appleby, MurmurHash3, public domain): full avalanche of an integer. */
export function mix32(x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  return (x ^ (x >>> 16)) | 0
}

/** FNV-1a over UTF-16 code units, then `mix32`: FNV alone leaves the high bits weak for short keys. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return mix32(h)
}

/**
 * The default hasher: integers by value, strings by content, anything else by `String(key)`
 * (objects thus hash alike unless they print differently: pass a `hash` option for such keys).
 */
export function defaultHash(key: unknown): number {
  if (typeof key === 'number' && Number.isInteger(key)) return mix32(key | 0) ^ mix32((key / 4294967296) | 0)
  if (typeof key === 'string') return hashString(key)
  return hashString(String(key))
}
