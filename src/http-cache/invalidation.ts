/**
 * Invalidation on unsafe methods (RFC 9111 §4.4): a non-error answer to a method other than GET,
 * HEAD, OPTIONS and TRACE removes the stored responses of its target URL and of the URLs in its
 * `Location` and `Content-Location` when they are on the same origin (scheme, host, port).
 */
import type { Cache } from '../cache/cache.js'
import { type HttpHeaders, field } from './headers.js'
import { urlTag } from './variants.js'

/** The methods that are safe (RFC 9110 §9.2.1), which invalidate nothing. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** The URLs an unsafe request's answer invalidates: the target, and same-origin `Location`/`Content-Location`. */
export function invalidatedUrls(url: string, headers: HttpHeaders): string[] {
  const target = new URL(url)
  const urls = [target.href]
  for (const name of ['location', 'content-location']) {
    const value = field(headers, name)
    if (value === undefined) continue
    try {
      const other = new URL(value, target)
      if (other.origin === target.origin) urls.push(other.href)
    } catch {
      // Not a URI reference: nothing to invalidate.
    }
  }
  return [...new Set(urls)]
}

/**
 * Removes the stored responses that the `status` answer to an unsafe `method` on `url` invalidates
 * (RFC 9111 §4.4): none for a safe method or an error status (400 and above), else those of
 * {@link invalidatedUrls}, every method and variant, from every tier and instance (tag removals).
 */
export async function invalidateAfter(cache: Cache, method: string, url: string, status: number, headers: HttpHeaders): Promise<void> {
  if (SAFE_METHODS.has(method) || status >= 400) return
  await cache.invalidateTags(invalidatedUrls(url, headers).map(urlTag))
}
