/**
 * Going to the origin for a response to store: a miss (RFC 9111 §3) or a validation (§4.3), made at
 * most once at a time per variant, across processes when the cache has Redis (the engine's getOrSet
 * single flight, on a flight key beside the variant's).
 */
import type CachePolicy from 'http-cache-semantics'
import { MAX_DURATION_MS } from '../core/duration.js'
import { updatedHeaders, unconditional, validationHeaders, hasValidator } from './conditional.js'
import { makePolicy, staleWindow } from './freshness.js'
import { type HttpHeaders, field, normalizeHeaders, parseDirectives, without, withoutHopByHop } from './headers.js'
import type { ResolvedHttpCacheOptions } from './options.js'
import { type StoredResponse, isStored, save } from './store.js'
import { asyncBody } from './post.js'
import type { Origin } from './types.js'
import { responseTags, varyNames } from './variants.js'

/** The longest a response is kept, ms: half the engine's longest ttl, leaving room for its grace. */
const MAX_KEEP_MS = MAX_DURATION_MS / 2

/** How long a flight's outcome is kept for the requests that waited for it, ms. */
const FLIGHT_MS = 1000

/** A response as the origin gave it, headers normalized and without hop-by-hop fields. */
export interface Fetched {
  readonly status: number
  readonly headers: HttpHeaders
  readonly body: Uint8Array
}

/** What a trip to the origin for a variant gave. */
export type Exchanged =
  /** Stored (or updated from a 304: `fwdStatus` 304), with its policy; `collapsed` when another request made the trip. */
  | {
      readonly kind: 'stored'
      readonly stored: StoredResponse
      readonly fwdStatus: number
      readonly collapsed: boolean
      /** The origin's fields, for the request that made the trip, when the stored ones omit some ({@link storedFields}). */
      readonly answered?: HttpHeaders
    }
  /** Not storable (or refused by the engine): answered as the origin gave it, to this request only. */
  | { readonly kind: 'pass'; readonly response: Fetched }

/** The variant being fetched, and the stored response being validated, if any. */
export interface Trip {
  readonly url: string
  readonly headers: HttpHeaders
  readonly key: string
  readonly previous?: StoredResponse
  /** The earliest `storedAt` of what the trip stores, epoch ms: after the soft purge that sent it. */
  readonly notBefore?: number | undefined
  /** A `POST` declared a read (`cachePost`): its body, and the method label its variants are keyed by. */
  readonly post?: SignedPost | undefined
}

/** A `POST` cached by the signature of its body (see post.ts). */
export interface SignedPost {
  /** `POST <signature>`: in the keys where `GET` is for a `GET`. */
  readonly label: string
  readonly body: Uint8Array
}

/**
 * True when the decisions allow storing `policy`'s response, and storing it is of some use. Not
 * stored either: a 206 (this cache does not combine partial content, RFC 9111 §3.3, §3.4), and a
 * response with `Set-Cookie` that is not `public` (another client would be answered its cookie).
 */
function worthStoring(policy: CachePolicy, status: number, headers: HttpHeaders): boolean {
  if (status === 206 || !policy.storable() || varyNames(headers).includes('*')) return false
  if (headers['set-cookie'] !== undefined && policy.toObject().rescc['public'] === undefined) return false
  return policy.maxAge() > policy.age() || hasValidator(headers) || staleWindow(policy) > 0
}

/** The response directives whose argument lists fields that a shared cache does not store (RFC 9111 §5.2.2.4, §5.2.2.7). */
const QUALIFIED = ['private', 'no-cache']

/**
 * The fields to store of a response: without those that a qualified `private="..."` (RFC 9111
 * §5.2.2.7: a shared cache MUST NOT store them) or `no-cache="..."` (§5.2.2.4: the response may be
 * reused without them) lists, and without those directives, so that the rest is stored and reused as
 * its other directives allow. `private="set-cookie"` stores the page, not the cookie. The same
 * headers when no directive is qualified (an unqualified one keeps its meaning).
 */
export function storedFields(headers: HttpHeaders): HttpHeaders {
  const directives = parseDirectives(field(headers, 'cache-control'))
  const listed = QUALIFIED.flatMap((name) => {
    const argument = directives.get(name)
    return typeof argument === 'string' ? argument.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '') : []
  })
  if (listed.length === 0) return headers
  const kept = [...directives].filter(([name, argument]) => !(QUALIFIED.includes(name) && typeof argument === 'string'))
  return { ...without(headers, listed), 'cache-control': kept.map(([name, argument]) => (argument === true ? name : `${name}=${argument}`)).join(', ') }
}

/**
 * One trip to the origin: unconditional for a miss, conditional on the stored validators for a
 * validation; a 304 updates the stored headers (RFC 9111 §4.3.4); a storable answer is stored with
 * its tags (surrogate keys and URL) for its freshness, stale windows and, with a validator, `keepStaleMs`.
 * @throws what `origin` throws
 */
async function trip(options: ResolvedHttpCacheOptions, origin: Origin, at: Trip): Promise<Exchanged & { readonly tags?: readonly string[]; readonly key?: string }> {
  // A POST is not validated: a 304 answers a GET or HEAD only (RFC 9110 §15.4.5).
  const validated = at.post === undefined ? at.previous : undefined
  const asked = validated === undefined ? unconditional(at.headers) : validationHeaders(at.headers, validated.headers)
  const answer = await origin({ method: at.post === undefined ? 'GET' : 'POST', url: at.url, headers: asked, ...(at.post === undefined ? {} : { body: asyncBody([at.post.body]) }) })
  const fetched: Fetched = { status: answer.status, headers: withoutHopByHop(normalizeHeaders(answer.headers)), body: answer.body }
  const base = validated !== undefined && fetched.status === 304 ? { ...validated, headers: updatedHeaders(validated.headers, fetched.headers) } : fetched
  if (base.status === 304) return { kind: 'pass', response: fetched }
  const request = { method: 'GET', url: at.url, headers: at.headers }
  const kept = storedFields(base.headers)
  const policy = makePolicy(request, { status: base.status, headers: kept }, options)
  if (!worthStoring(policy, base.status, kept)) return { kind: 'pass', response: { status: base.status, headers: base.headers, body: base.body } }
  const stored: StoredResponse = { status: base.status, headers: kept, body: base.body, policy: policy.toObject(), storedAt: Math.max(options.now(), at.notBefore ?? 0), vary: varyNames(kept) }
  // Capped: the engine refuses a ttl past 100 years (max-age=99999999999, an Expires in 2286).
  const keepMs = Math.min(MAX_KEEP_MS, (Math.max(0, policy.maxAge() - policy.age()) + staleWindow(policy)) * 1000 + (hasValidator(kept) ? options.keepStaleMs : 0))
  const tags = responseTags(at.url, kept, options.surrogateKeyHeader, options.cache.limits)
  const key = await save(options.cache, at.post?.label ?? 'GET', at.url, at.headers, stored, { keepMs, tags })
  if (key === undefined) return { kind: 'pass', response: { status: base.status, headers: base.headers, body: base.body } }
  return { kind: 'stored', stored, fwdStatus: fetched.status, collapsed: false, tags, key, ...(kept === base.headers ? {} : { answered: base.headers }) }
}

/**
 * {@link trip}, collapsed: concurrent trips for one variant (and one stored response being validated)
 * make one origin request; the others wait for it, in this process and, with Redis, in others, and are
 * answered the stored response (`collapsed: true`). When the response was not storable, each waiter
 * asks the origin itself: a response not for storing is not shared either.
 * @throws what `origin` throws (for every request that waited on the failed trip too)
 */
export async function collapsedTrip(options: ResolvedHttpCacheOptions, origin: Origin, at: Trip): Promise<Exchanged> {
  let mine: Exchanged | undefined
  const flightKey = `flight ${at.key} ${at.previous?.storedAt ?? 0}`
  let marker: { readonly key?: string }
  try {
    marker = await options.cache.getOrSet<{ readonly key?: string }>(
      flightKey,
      async (ctx) => {
        const made = await trip(options, origin, at)
        mine = made
        if (made.kind !== 'stored' || made.tags === undefined || made.key === undefined) {
          ctx.skip()
          return {}
        }
        ctx.setTags(made.tags)
        return { key: made.key }
      },
      { ttl: FLIGHT_MS, grace: 0 },
    )
  } catch (error) {
    // The engine wraps the origin's error (TC_FACTORY_ERROR); the caller wants the origin's.
    throw error instanceof Error && error.cause !== undefined ? error.cause : error
  }
  if (mine !== undefined) return mine
  if (marker.key !== undefined) {
    const stored = await options.cache.get(marker.key)
    if (isStored(stored)) return { kind: 'stored', stored, fwdStatus: stored.status, collapsed: true }
  }
  return trip(options, origin, at)
}
