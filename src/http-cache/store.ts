/**
 * The stored responses in the tiers, through a `Cache` view: read a request's variant, write a
 * response with its `Vary` record and tags. Tier failures never reach the caller (the engine's rule):
 * a failed read is a miss, a failed write leaves the response unstored.
 */
import type { Cache } from '../cache/cache.js'
import type { HttpHeaders } from './headers.js'
import { variantKey, varyKey } from './variants.js'

/** A stored response, as the tiers hold it. */
export interface StoredResponse {
  /** Status code, e.g. 200. */
  readonly status: number
  /** The response's header fields (lower case), without hop-by-hop fields (RFC 9111 §3.1). */
  readonly headers: HttpHeaders
  /** The whole body. */
  readonly body: Uint8Array
  /** The serialized `CachePolicy` (`toObject()`) of the decisions, of the headers they read. */
  readonly policy: unknown
  /** When it was received or last validated, epoch ms. */
  readonly storedAt: number
  /** The `Vary` field names it was selected by (see `varyNames`). */
  readonly vary: readonly string[]
}

/** What a look-up found: no response for the URL, none for this variant, or one. */
export type Lookup =
  | { readonly state: 'uri-miss'; readonly key: string }
  | { readonly state: 'vary-miss'; readonly key: string }
  | { readonly state: 'hit'; readonly key: string; readonly stored: StoredResponse }

/** Whether a value read from the tiers is a stored response (a flight marker or a `Vary` record is not). */
export function isStored(value: unknown): value is StoredResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value && value.body instanceof Uint8Array
}

/**
 * The stored response of `method` `url` that `headers` select (RFC 9111 §4.1): the `Vary` record of the
 * URL gives the selecting fields, their values give the variant's key.
 */
export async function lookup(cache: Cache, method: string, url: string, headers: HttpHeaders): Promise<Lookup> {
  const names = await cache.get<readonly string[]>(varyKey(method, url))
  if (!Array.isArray(names)) return { state: 'uri-miss', key: variantKey(method, url, [], headers) }
  const key = variantKey(method, url, names, headers)
  const stored = await cache.get(key)
  return isStored(stored) ? { state: 'hit', key, stored } : { state: 'vary-miss', key }
}

/**
 * Stores `stored` as the variant of `method` `url` that `requestHeaders` select, with its `Vary` record,
 * both for `keepMs` and with `tags`. Resolves the variant's key, or undefined when the engine refused
 * it (too large a body, say) and nothing was stored.
 */
export async function save(
  cache: Cache,
  method: string,
  url: string,
  requestHeaders: HttpHeaders,
  stored: StoredResponse,
  options: { readonly keepMs: number; readonly tags: readonly string[] },
): Promise<string | undefined> {
  const key = variantKey(method, url, stored.vary, requestHeaders)
  const set = { ttl: Math.max(1000, Math.ceil(options.keepMs)), tags: options.tags }
  try {
    await cache.set(key, stored, set)
    await cache.set(varyKey(method, url), stored.vary, set)
    return key
  } catch {
    // Refused by the engine (a body past its maxValueBytes, too many tags): answered, not stored.
    return undefined
  }
}
