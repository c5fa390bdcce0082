/**
 * One page of a namespace's keys for `GET /v1/entries/:namespace`, read with `Cache.keys({ after })`.
 */
import type { Cache } from '../cache/cache.js'

/** A page of keys, and the cursor of the next page (null on the last). */
export interface KeyPageAnswer {
  readonly keys: string[]
  readonly next: string | null
}

/**
 * Up to `limit` keys of `view`'s namespace that come after `after` in the listing tier's order, and
 * the cursor for the next page: one round trip to the listing tier for `limit + 1` keys.
 *
 * @throws TierUnavailableError when the listing tier fails; CacheClosedError
 */
export async function keyPage(view: Cache, limit: number, after: string | undefined): Promise<KeyPageAnswer> {
  const keys: string[] = []
  let more = false
  for await (const key of view.keys({ pageSize: limit + 1, ...(after === undefined ? {} : { after }) })) {
    if (keys.length === limit) {
      more = true
      break
    }
    keys.push(key)
  }
  return { keys, next: more ? (keys[keys.length - 1] ?? null) : null }
}
