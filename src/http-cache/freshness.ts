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
import { parseHttpDate } from './http-date.js'

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
  const flat = joined(headers)
  for (const name of targetedFields) {
    const value = field(flat, name)?.trim()
    if (value === undefined || value === '' || parseDirectives(value).size === 0) continue
    // RFC 9213 §2.1: CDN-Cache-Control is a Structured Field Dictionary; one that does not parse is
    // ignored whole, and a directive whose value has the wrong type (max-age="10000") is ignored.
    if (name === 'cdn-cache-control' && !isSfDictionary(value)) continue
    const directives = name === 'surrogate-control' ? value.replace(/max-age\s*=\s*(\d+)\+\d+/i, 'max-age=$1') : value
    return withAge({ ...without(flat, ['expires']), 'cache-control': canonicalDirectives(directives) })
  }
  const out: HttpHeaders = withAge(flat)
  const cc = field(out, 'cache-control')
  if (cc !== undefined) out['cache-control'] = canonicalDirectives(cc)
  const expires = field(out, 'expires')
  if (expires !== undefined) {
    const when = parseHttpDate(expires)
    // Invalid (RFC 9111 §5.3): already expired. Valid: in IMF-fixdate, the one form every parser reads alike.
    out['expires'] = when === undefined ? EXPIRED : new Date(when).toUTCString()
  }
  return out
}

const SF_KEY = '[a-z*][a-z0-9_\\-.*]*'
const SF_BARE_ITEM = '(?:-?\\d{1,15}(?:\\.\\d{1,3})?|"(?:[^"\\\\\\x00-\\x1f\\x7f]|\\\\["\\\\])*"|[A-Za-z*][!#$%&\'*+\\-.^_`|~:/\\w]*|:[A-Za-z0-9+/=]*:|\\?[01])'
const SF_PARAMS = `(?:;\\s*${SF_KEY}(?:=${SF_BARE_ITEM})?)*`
const SF_MEMBER = `${SF_KEY}(?:=${SF_BARE_ITEM})?${SF_PARAMS}`
const SF_DICTIONARY = new RegExp(`^${SF_MEMBER}(?:[ \\t]*,[ \\t]*${SF_MEMBER})*$`)
/** The directives of RFC 9111 whose argument is an Integer in a Structured Field (RFC 9213 §2.1). */
const INTEGER_DIRECTIVES = ['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']

/**
 * True when `value` parses as a Structured Field Dictionary (RFC 8941 §3.2, inner lists aside) whose
 * freshness directives have Integer values.
 */
function isSfDictionary(value: string): boolean {
  if (!SF_DICTIONARY.test(value)) return false
  // The members as written (parseDirectives unquotes, which would let max-age="10000" through).
  for (const member of value.split(/[ \t]*,[ \t]*/)) {
    const [name, argument] = (member.split(';')[0] ?? '').split('=', 2)
    if (name !== undefined && INTEGER_DIRECTIVES.includes(name) && (argument === undefined || !/^\d{1,15}$/.test(argument))) return false
  }
  return true
}

/**
 * `headers` with every repeated field joined with `, ` (RFC 9110 §5.3), `set-cookie` aside: the
 * library reads each field as one string (an array of `Cache-Control` lines made it throw).
 */
function joined(headers: HttpHeaders): HttpHeaders {
  const out: HttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) && name !== 'set-cookie' ? value.join(', ') : value
  return out
}

/**
 * A `Cache-Control`-style value as the library should read it: directive names in lower case (they
 * are case-insensitive, RFC 9111 §5.2), the first of a repeated directive (as {@link parseDirectives}),
 * and arguments the library's naive comma split would misread (quoted lists, `=`) dropped, leaving the
 * directive itself (`no-cache="a, b"` counts as `no-cache`, `private="x"` as `private`).
 */
function canonicalDirectives(value: string): string {
  const parts: string[] = []
  for (const [name, argument] of parseDirectives(value)) {
    parts.push(argument === true || /[",=\s]/.test(argument) ? name : `${name}=${argument}`)
  }
  return parts.join(', ')
}

/**
 * `headers` with an `Age` the library reads right (RFC 9111 §5.1): the first member of the field, a
 * non-negative integer (parameters after `;` aside), else no `Age` at all (`7200.0`, `abc`, `-1` are
 * invalid and ignored, where the library's `parseInt` read `7200.0` as 7200).
 */
function withAge(headers: HttpHeaders): HttpHeaders {
  const age = field(headers, 'age')
  if (age === undefined) return headers
  const first = (age.split(',')[0] ?? '').split(';')[0]?.trim() ?? ''
  return /^\d+$/.test(first) ? { ...headers, age: first } : without(headers, ['age'])
}

const clockedPolicies = new WeakMap<() => number, typeof CachePolicy>()

/**
 * A `CachePolicy` whose clock is `now` (the library reads the time through `now()`): one class per
 * clock, since a class made per hit kept V8 from optimizing the policies (a fifth of a hit's time).
 */
function clocked(now: () => number): typeof CachePolicy {
  let Policy = clockedPolicies.get(now)
  if (Policy === undefined) {
    Policy = class extends CachePolicy {
      now(): number {
        return now()
      }
    }
    clockedPolicies.set(now, Policy)
  }
  return Policy
}

/** The status codes the library stores at all (its `understoodStatuses`, 206 aside: never stored here). */
const LIBRARY_UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501])

/**
 * The status and headers the library is given: a final status it does not know but that has explicit
 * freshness is stored like a 200 (RFC 9111 §3 lets any final status with explicit freshness be
 * stored), and `must-understand` (§5.2.2.3) lifts `no-store` for a status the cache understands, while
 * an unknown status with `must-understand` keeps its `no-store`.
 */
function forLibrary(status: number, headers: HttpHeaders): { readonly status: number; readonly headers: HttpHeaders } {
  const directives = parseDirectives(field(headers, 'cache-control'))
  if (directives.has('must-understand')) {
    if (!LIBRARY_UNDERSTOOD.has(status)) return { status, headers }
    const kept = [...directives].filter(([name]) => name !== 'no-store').map(([name, argument]) => (argument === true ? name : `${name}=${argument}`))
    return { status, headers: { ...headers, 'cache-control': kept.join(', ') } }
  }
  const explicit = directives.has('max-age') || directives.has('s-maxage') || headers['expires'] !== undefined
  if (status >= 200 && status !== 206 && status !== 304 && !LIBRARY_UNDERSTOOD.has(status) && explicit) return { status: 200, headers }
  return { status, headers }
}

/** The library's policy of `response` to `request`, received now, as a shared cache. */
export function makePolicy(request: PolicyRequest, response: { readonly status: number; readonly headers: HttpHeaders }, settings: FreshnessSettings): CachePolicy {
  const Policy = clocked(settings.now)
  return new Policy(
    { method: request.method, url: request.url, headers: request.headers },
    forLibrary(response.status, effectiveHeaders(response.headers, settings.targetedFields)),
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
 * How a soft-purged stored response serves (see purge.ts): as a stale one, whatever its age: under its
 * `stale-while-revalidate` (RFC 5861 §3) at once, revalidated in the background; else revalidated, or
 * under `only-if-cached` not at all. Never served without revalidation under `must-revalidate`,
 * `proxy-revalidate` or `no-cache` (RFC 9111 §4.2.4), nor for a request's `no-cache`.
 */
export function softPurgeReuse(policy: CachePolicy, requestHeaders: HttpHeaders): Reuse {
  const plain = decideReuse(policy, requestHeaders)
  if (plain.kind === 'revalidate') return plain
  const response = responseDirectives(policy)
  if (response.has('must-revalidate') || response.has('proxy-revalidate') || response.has('no-cache')) return { kind: 'revalidate', why: 'stale' }
  const swr = deltaSeconds(response.get('stale-while-revalidate')) ?? 0
  return swr > 0 && policy.age() < policy.maxAge() + swr ? { kind: 'stale-while-revalidate' } : { kind: 'revalidate', why: 'stale' }
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
