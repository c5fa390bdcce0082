/**
 * One page of a namespace's keys for `GET /v1/entries/:namespace`, cut out of `Cache.keys()`.
 */
import type { Cache } from '../cache/cache.js'

/** A page of keys, and the cursor of the next page (null on the last). */
export interface KeyPageAnswer {
  readonly keys: string[]
  readonly next: string | null
}

/** Keys fetched from the listing tier per round trip while walking to a page. */
const WALK_PAGE_SIZE = 1000

/**
 * Orders strings by code point, which is the order of their UTF-8 bytes: the order of the SQL and
 * Redis tiers. It differs from `<` (UTF-16 code units) only between a surrogate pair (a code point
 * above U+FFFF) and a code unit from U+E000 to U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800-DFFF) go above E000-FFFF: shift each range past the other.
      x += x >= 0xe000 ? -0x800 : 0x2000
      y += y >= 0xe000 ? -0x800 : 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Up to `limit` keys of `view`'s namespace that come after `after` in the listing tier's order, and
 * the cursor for the next page. `Cache.keys()` lists from the start, so the keys up to `after` are
 * walked past in pages of {@link WALK_PAGE_SIZE}: a page deep into a large namespace costs a walk to
 * it. The listing tier is the last of the cache: a shared one (SQL or Redis, UTF-8 byte order) when
 * there is one, else L1 (UTF-16 order); `cache` tells which.
 *
 * @throws TierUnavailableError when the listing tier fails; CacheClosedError
 */
export async function keyPage(cache: Cache, view: Cache, limit: number, after: string | undefined): Promise<KeyPageAnswer> {
  const compare = cache.health().some((tier) => tier.shared) ? compareCodePoints : compareCodeUnits
  const keys: string[] = []
  let more = false
  for await (const key of view.keys({ pageSize: Math.max(WALK_PAGE_SIZE, limit + 1) })) {
    if (after !== undefined && compare(key, after) <= 0) continue
    if (keys.length === limit) {
      more = true
      break
    }
    keys.push(key)
  }
  return { keys, next: more ? (keys[keys.length - 1] ?? null) : null }
}
