/** The answers the cache gives: from a stored response (with `Age`, and a 304 when the client's copy is current), or passed on from the origin. */
import type CachePolicy from 'http-cache-semantics'
import { type CacheStatusParts, cacheStatus } from './cache-status.js'
import { clientHasCurrent, notModifiedHeaders } from './conditional.js'
import type { HttpHeaders } from './headers.js'
import type { StoredResponse } from './store.js'
import type { HttpCacheAnswer } from './types.js'

const EMPTY = new Uint8Array(0)

/**
 * The answer from `stored` to a `method` request with `requestHeaders`: its headers with `Age` (RFC
 * 9111 §5.1) and `Cache-Status`; a 304 with the fields of RFC 9110 §15.4.5 when the client's
 * validators match (RFC 9111 §4.3.2); no body for `HEAD` (a stored `GET` answers it, §4.3.5 aside).
 */
export function fromStored(name: string, stored: StoredResponse, policy: CachePolicy, method: string, requestHeaders: HttpHeaders, parts: CacheStatusParts): HttpCacheAnswer {
  const age = String(Math.floor(policy.age()))
  const status = cacheStatus(name, { ...parts, ttl: policy.maxAge() - policy.age() })
  if (stored.status === 200 && clientHasCurrent(requestHeaders, stored.headers)) {
    return { status: 304, headers: { ...notModifiedHeaders(stored.headers), age, 'cache-status': status }, body: EMPTY }
  }
  // A body received chunked is answered with its length, which HEAD reports too (RFC 9110 §8.6).
  const length: HttpHeaders = stored.headers['content-length'] === undefined && stored.status !== 204 ? { 'content-length': String(stored.body.length) } : {}
  return { status: stored.status, headers: { ...stored.headers, ...length, age, 'cache-status': status }, body: method === 'HEAD' ? EMPTY : stored.body }
}

/** The origin's answer passed on, with `Cache-Status`. */
export function passed(name: string, response: { readonly status: number; readonly headers: HttpHeaders; readonly body: Uint8Array }, method: string, parts: CacheStatusParts): HttpCacheAnswer {
  return {
    status: response.status,
    headers: { ...response.headers, 'cache-status': cacheStatus(name, { ...parts, fwdStatus: response.status }) },
    body: method === 'HEAD' ? EMPTY : response.body,
  }
}

/** A 504 for a request with `only-if-cached` that nothing stored can answer (RFC 9111 §5.2.1.7). */
export function gatewayTimeout(name: string): HttpCacheAnswer {
  return { status: 504, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-status': cacheStatus(name, { detail: 'only-if-cached' }) }, body: new TextEncoder().encode('no stored response satisfies only-if-cached\n') }
}

/** A 502 for an origin that could not be reached, when nothing stale may answer instead. */
export function badGateway(name: string, fwd: CacheStatusParts['fwd']): HttpCacheAnswer {
  return {
    status: 502,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-status': cacheStatus(name, { ...(fwd === undefined ? {} : { fwd }), detail: 'origin-unreachable' }) },
    body: new TextEncoder().encode('the origin could not be reached\n'),
  }
}
