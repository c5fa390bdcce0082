/**
 * The RFC 9111 decisions of a shared cache, on `http-cache-semantics` (its `CachePolicy` with
 * `shared: true`) for storability and the freshness lifetime, with our corrections on top:
 *
 * - an invalid `Expires` means already expired (RFC 9111 §5.3): rewritten to a date in the past
 *   before the library sees it, whatever the library's version does with it;
 * - a fresh `must-revalidate` response is reused while fresh (RFC 9111 §5.2.2.2): the reuse decision
 *   is ours ({@link decideReuse}), not the library's `evaluateRequest`, which refuses it;
 * - a targeted field (`CDN-Cache-Control`, RFC 9213; `Surrogate-Control`) replaces `Cache-Control`
 *   and `Expires` when configured and present ({@link effectiveHeaders});
 * - heuristic freshness (RFC 9111 §4.2.2) only when configured (`heuristic`), else none;
 * - `immutable` gives no freshness of its own (the library's default adds 24 h).
 */
import CachePolicy from 'http-cache-semantics'
import { type HttpHeaders, deltaSeconds, field, parseDirectives, without } from './headers.js'

/** The decision settings of {@link makePolicy}; see `HttpCacheOptions` for each. */
export interface FreshnessSettings {
  readonly targetedFields: readonly string[]
  readonly heuristic: number
  readonly now: () => number
}

/** What the library is told of a request: method, absolute URL, lower-case headers. */
export interface PolicyRequest {
  readonly method: string
  readonly url: string
  readonly headers: HttpHeaders
}

/** A date in the past, for an `Expires` that does not parse (RFC 9111 §5.3). */
const EXPIRED = 'Thu, 01 Jan 1970 00:00:00 GMT'

/**
 * The response headers the decisions read: with the first targeted field of `targetedFields` that is
 * present with a non-empty value, that field's directives stand for `Cache-Control`, and `Expires` is
 * ignored (RFC 9213 §2.2); `Surrogate-Control`'s `max-age=N+M` counts as `max-age=N`. An invalid
 * `Expires` becomes a date in the past (RFC 9111 §5.3).
 */
export function effectiveHeaders(headers: HttpHeaders, targetedFields: readonly string[]): HttpHeaders {
  for (const name of targetedFields) {
    const value = field(headers, name)?.trim()
    if (value === undefined || value === '' || parseDirectives(value).size === 0) continue
    const directives = name === 'surrogate-control' ? value.replace(/max-age\s*=\s*(\d+)\+\d+/i, 'max-age=$1') : value
    return { ...without(headers, ['expires']), 'cache-control': directives }
  }
  const expires = field(headers, 'expires')
  if (expires !== undefined && Number.isNaN(Date.parse(expires))) return { ...headers, expires: EXPIRED }
  return headers
}

/** A `CachePolicy` whose clock is `now` (the library reads the time through `now()`). */
function clocked(now: () => number): typeof CachePolicy {
  return class extends CachePolicy {
    now(): number {
      return now()
    }
  }
}

/** The library's policy of `response` to `request`, received now, as a shared cache. */
export function makePolicy(request: PolicyRequest, response: { readonly status: number; readonly headers: HttpHeaders }, settings: FreshnessSettings): CachePolicy {
  const Policy = clocked(settings.now)
  return new Policy(
    { method: request.method, url: request.url, headers: request.headers },
    { status: response.status, headers: effectiveHeaders(response.headers, settings.targetedFields) },
    { shared: true, cacheHeuristic: settings.heuristic, immutableMinTimeToLive: 0 },
  )
}

/** A policy back from its serialized state (`toObject()`), on the clock of `settings`. */
export function restorePolicy(state: unknown, settings: FreshnessSettings): CachePolicy {
  return clocked(settings.now).fromObject(state as CachePolicy.CachePolicyObject)
}

/** How a stored response may serve a request, by {@link decideReuse}. */
export type Reuse =
  /** Fresh, and the request asks nothing more: served as is. */
  | { readonly kind: 'fresh' }
  /** Stale, and the request's `max-stale` accepts it (RFC 9111 §5.2.1.2): served as is. */
  | { readonly kind: 'stale' }
  /** Stale within `stale-while-revalidate` (RFC 5861 §3): served at once, revalidated in the background. */
  | { readonly kind: 'stale-while-revalidate' }
  /** Must be validated with the origin first: `why` says if the request or the response asked it. */
  | { readonly kind: 'revalidate'; readonly why: 'request' | 'stale' }

/** The response's directives, from the headers the decisions read. */
function responseDirectives(policy: CachePolicy): Map<string, string | true> {
  return parseDirectives(field(policy.toObject().resh as HttpHeaders, 'cache-control'))
}

/**
 * Whether and how the stored response of `policy` serves `request` (RFC 9111 §4): request
 * `no-cache` (or `Pragma: no-cache` without `Cache-Control`, §5.4), `max-age` and `min-fresh` send it
 * to the origin; a fresh response is reused, `must-revalidate` or not (§5.2.2.2); a stale one is
 * served under the request's `max-stale` (§5.2.1.2) or the response's `stale-while-revalidate` (RFC
 * 5861 §3), except under `must-revalidate`, `proxy-revalidate` or `no-cache` (§4.2.4), else revalidated.
 */
export function decideReuse(policy: CachePolicy, requestHeaders: HttpHeaders): Reuse {
  const requestCc = field(requestHeaders, 'cache-control')
  const request = parseDirectives(requestCc)
  const age = policy.age()
  const lifetime = policy.maxAge()
  if (request.has('no-cache') || (requestCc === undefined && /no-cache/i.test(field(requestHeaders, 'pragma') ?? ''))) return { kind: 'revalidate', why: 'request' }
  const maxAge = deltaSeconds(request.get('max-age'))
  if (maxAge !== undefined && age > maxAge) return { kind: 'revalidate', why: 'request' }
  const minFresh = deltaSeconds(request.get('min-fresh'))
  if (minFresh !== undefined && lifetime - age < minFresh) return { kind: 'revalidate', why: 'request' }
  if (lifetime > age) return { kind: 'fresh' }
  const response = responseDirectives(policy)
  if (response.has('must-revalidate') || response.has('proxy-revalidate') || response.has('no-cache')) return { kind: 'revalidate', why: 'stale' }
  const maxStale = request.get('max-stale')
  if (maxStale === true || (maxStale !== undefined && (deltaSeconds(maxStale) ?? -1) >= age - lifetime)) return { kind: 'stale' }
  const swr = deltaSeconds(response.get('stale-while-revalidate')) ?? 0
  if (swr > 0 && age < lifetime + swr) return { kind: 'stale-while-revalidate' }
  return { kind: 'revalidate', why: 'stale' }
}

/**
 * Whether the stale response of `policy` may answer when the origin fails (an error, or a 500, 502,
 * 503 or 504): within the response's `stale-if-error` window past its lifetime, or the request's
 * (RFC 5861 §4); never under `must-revalidate`, `proxy-revalidate` or `no-cache` (RFC 9111 §4.2.4).
 */
export function staleIfErrorAllows(policy: CachePolicy, requestHeaders: HttpHeaders): boolean {
  const response = responseDirectives(policy)
  if (response.has('must-revalidate') || response.has('proxy-revalidate') || response.has('no-cache')) return false
  const over = policy.age() - policy.maxAge()
  const window = Math.max(deltaSeconds(response.get('stale-if-error')) ?? -1, deltaSeconds(parseDirectives(field(requestHeaders, 'cache-control')).get('stale-if-error')) ?? -1)
  return window >= 0 && over <= window
}

/**
 * Seconds past its freshness lifetime that the stored response of `policy` may still serve by
 * itself: the longest of its `stale-while-revalidate` and `stale-if-error` windows (RFC 5861).
 */
export function staleWindow(policy: CachePolicy): number {
  const response = responseDirectives(policy)
  return Math.max(deltaSeconds(response.get('stale-while-revalidate')) ?? 0, deltaSeconds(response.get('stale-if-error')) ?? 0)
}
