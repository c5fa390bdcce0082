/**
 * Purges of stored responses by surrogate key, URL or URL prefix (tags, see variants.ts), hard or
 * soft. A hard purge removes them from every tier and instance (the engine's tag removal). A soft
 * purge marks them stale: it stores, per tag, when it was purged, and the time of the latest soft
 * purge; a stored response older than that epoch is checked against the marks of its tags, and a
 * marked one is revalidated (or served stale, as its `stale-while-revalidate` and `stale-if-error`
 * allow) as Fastly's soft purge does.
 */
import { z } from 'zod'
import type { Cache } from '../cache/cache.js'
import { MAX_DURATION_MS } from '../core/duration.js'
import { InvalidOptionsError } from '../errors.js'
import type { StoredResponse } from './store.js'
import { MAX_PREFIX_DEPTH, prefixTag, responseTags, urlTag } from './variants.js'

/** What to purge: the responses carrying any of these. At least one key, URL or prefix. */
export interface HttpPurge {
  /** Surrogate keys, as the origin's `Surrogate-Key` (or configured) field gave them. */
  readonly keys?: readonly string[]
  /** Absolute URLs (`http:` or `https:`): every method and variant of each. */
  readonly urls?: readonly string[]
  /**
   * Absolute URL prefixes, matched by whole path segments (`https://h/docs` covers `https://h/docs`
   * and `https://h/docs/a?x`, not `https://h/docs2`), of at most 8 segments; `https://h/` covers the
   * whole site. Query strings are ignored.
   */
  readonly prefixes?: readonly string[]
  /** Mark stale instead of removing: the next request revalidates, or is served stale. @default false */
  readonly soft?: boolean
}

/** What a purge reached. */
export interface HttpPurged {
  /** The tags purged (URL and prefix tags are hashes). */
  readonly tags: readonly string[]
  readonly soft: boolean
}

/** How long a soft purge's mark is kept, ms: as long as a response may be kept (exchange.ts). */
const MARK_TTL_MS = MAX_DURATION_MS / 2
const EPOCH_KEY = 'soft-epoch'

const httpUrl = z.url({ protocol: /^https?$/ })
const schema = z
  .object({
    keys: z.array(z.string().min(1)).default([]),
    urls: z.array(httpUrl).default([]),
    prefixes: z.array(httpUrl).default([]),
    soft: z.boolean().default(false),
  })
  .strict()
  .refine((purge) => purge.keys.length + purge.urls.length + purge.prefixes.length > 0, 'name at least one key, url or prefix')

function markKey(tag: string): string {
  return `soft ${tag}`
}

/**
 * The tags of `purge`.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an empty purge, a URL that is not absolute
 *   `http(s)`, or a prefix deeper than 8 path segments
 */
export function purgeTags(purge: HttpPurge): string[] {
  const parsed = schema.safeParse(purge)
  if (!parsed.success) throw new InvalidOptionsError(`invalid purge: ${z.prettifyError(parsed.error)}`)
  const { keys, urls, prefixes } = parsed.data
  const tags = [...keys, ...urls.map((url) => urlTag(new URL(url).href))]
  for (const prefix of prefixes) {
    try {
      tags.push(prefixTag(new URL(prefix)))
    } catch (cause) {
      throw new InvalidOptionsError(`invalid purge: the prefix ${prefix} is deeper than ${MAX_PREFIX_DEPTH} path segments`, { cause })
    }
  }
  return [...new Set(tags)]
}

/**
 * Purges the stored responses of an HTTP cache whose view is `cache` (the view on its namespace, as
 * `httpCache.options.cache`), in every tier and, through the bus, every instance.
 * @param now the clock of soft purges, epoch ms, as the HTTP cache's `now`. @default Date.now
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) as {@link purgeTags}, InvalidTagError for a key
 *   past the engine's tag limits; nothing is purged then
 */
export async function purgeHttp(cache: Cache, purge: HttpPurge, now: () => number = Date.now): Promise<HttpPurged> {
  const tags = purgeTags(purge)
  if (purge.soft !== true) {
    await cache.invalidateTags(tags)
    return { tags, soft: false }
  }
  const at = now()
  await Promise.all(tags.map((tag) => cache.set(markKey(tag), at, { ttl: MARK_TTL_MS })))
  // The epoch last: a request that reads it new finds the marks in place.
  await cache.set(EPOCH_KEY, at, { ttl: MARK_TTL_MS })
  return { tags, soft: true }
}

/**
 * When a soft purge last marked `stored` (its URL, a prefix of it, or one of its surrogate keys) after
 * it was stored, else undefined. Costs one read of the epoch while no soft purge is newer than the response.
 */
export async function softPurgedAt(cache: Cache, url: string, stored: StoredResponse, keyHeader: string): Promise<number | undefined> {
  const epoch = await cache.getOrSet<number>(EPOCH_KEY, () => 0, { ttl: MARK_TTL_MS })
  if (epoch < stored.storedAt) return undefined
  const marks = await cache.getMany<number>(responseTags(url, stored.headers, keyHeader, cache.limits).map(markKey))
  const latest = Math.max(...marks.map((mark) => (typeof mark === 'number' ? mark : -Infinity)))
  return latest >= stored.storedAt ? latest : undefined
}
