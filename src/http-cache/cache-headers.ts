/**
 * Headers for an application's own responses: a tiercache ttl (or a policy's decision) as
 * `Cache-Control` (and `CDN-Cache-Control`), a strong `ETag` of the body, and the `If-None-Match`
 * test that lets the application answer 304. So that browsers and CDNs cache what tiercache caches,
 * for as long. See docs/http-headers.md.
 *
 * Every lifetime is written in whole seconds, rounded **down** (`1999` ms → `1`): a cache never keeps
 * a response longer than asked. Values past 2^31 s are written as 2^31 (RFC 9111 §1.2.2).
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { PolicyDecision } from '../cache/policy-hook.js'
import { type Duration, toMs } from '../core/duration.js'
import { InvalidOptionsError } from '../errors.js'
import type { HeaderInput } from './headers.js'

/** What {@link cacheControl} writes. Durations are ms as a number, or strings such as `'30s'`, `'5m'`, `'1h'`, `'7d'`. */
export interface CacheControlOptions {
  /**
   * How long the response is fresh: `max-age` (RFC 9111 §5.2.2.1), or `s-maxage` for shared caches
   * (§5.2.2.10) when {@link browserTtl} differs. `0` with no stale window: `no-cache` (§5.2.2.4), so
   * that every cache stores it but asks the origin (a 304 with the ETag) before each reuse.
   */
  readonly ttl: Duration
  /** How long past `ttl` a cache may answer the stale response at once while it revalidates in the background: `stale-while-revalidate` (RFC 5861 §3). `0` or absent: none. */
  readonly grace?: Duration
  /** How long past `ttl` a cache may answer the stale response when the origin fails (an error, 500, 502, 503, 504): `stale-if-error` (RFC 5861 §4). `0` or absent: none. */
  readonly staleIfError?: Duration
  /**
   * The freshness for browsers (private caches), when it should differ from `ttl`: then it is
   * `max-age` and `ttl` goes to `s-maxage`, which only shared caches (CDNs, tiercache's HTTP cache)
   * read (RFC 9111 §5.2.2.10). @default ttl
   */
  readonly browserTtl?: Duration
  /**
   * `'public'` (RFC 9111 §5.2.2.9): every cache may store it, **also** the answer to a request with
   * `Authorization` (§3.5), so never for an answer that depends on who asks. `'private'` (§5.2.2.7):
   * only the user's browser may store it; no `s-maxage` is written, and `max-age` is
   * `browserTtl ?? ttl`. @default 'public'
   */
  readonly visibility?: 'public' | 'private'
  /** `immutable` (RFC 8246): a browser does not revalidate it on reload while fresh. Needs a `max-age` of 1 s or more. @default false */
  readonly immutable?: boolean
  /**
   * `must-revalidate` (RFC 9111 §5.2.2.2): once stale, never served without the origin's say. It
   * forbids the stale windows, so `grace` and `staleIfError` must then be 0 or absent. @default false
   */
  readonly mustRevalidate?: boolean
}

/** What {@link cacheHeaders} writes: {@link CacheControlOptions}, and two fields beside `Cache-Control`. */
export interface CacheHeadersOptions extends CacheControlOptions {
  /**
   * The freshness for CDNs that read `CDN-Cache-Control` (RFC 9213), which replaces `Cache-Control`
   * for them: written with the same stale windows and `must-revalidate`. Only with `'public'`.
   * @default none (no `CDN-Cache-Control`)
   */
  readonly cdnTtl?: Duration
  /**
   * How old the body already is when sent (a value read from tiercache: `getWithInfo(...).ageMs`):
   * written as `Age` (RFC 9111 §5.1), so that caches count it against the lifetimes.
   * @default none (no `Age`)
   */
  readonly age?: Duration
}

/** The headers {@link cacheHeaders} returns, names in lower case, ready for `res.writeHead` or `new Response`. */
export type CacheHeaders = {
  readonly 'cache-control': string
  /** A strong validator (RFC 9110 §8.8.3), quoted. */
  readonly etag: string
  readonly 'cdn-cache-control'?: string
  readonly age?: string
}

/** The part of a policy's decision (`policy.decide(...)`) the headers are built from: ms. */
export type PolicyLifetimes = Pick<PolicyDecision, 'ttlMs' | 'graceMs'>

/** The greatest delta-seconds a sender writes (RFC 9111 §1.2.2). */
const MAX_DELTA_SECONDS = 2 ** 31

/** The option `what`: a {@link Duration} validated (as `toMs`) and turned into whole seconds, rounded down. */
function seconds(what: string) {
  return z.union([z.number(), z.string()], `${what} must be a duration: ms, or a string such as '30s'`).transform((value, context) => {
    try {
      return Math.min(Math.floor(toMs(value, what) / 1000), MAX_DELTA_SECONDS)
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  })
}

const controlFields = {
  ttl: seconds('ttl'),
  grace: seconds('grace').optional(),
  staleIfError: seconds('staleIfError').optional(),
  browserTtl: seconds('browserTtl').optional(),
  visibility: z.enum(['public', 'private']).default('public'),
  immutable: z.boolean().default(false),
  mustRevalidate: z.boolean().default(false),
}
const controlSchema = z.object(controlFields).strict()
const headersSchema = z.object({ ...controlFields, cdnTtl: seconds('cdnTtl').optional(), age: seconds('age').optional() }).strict()
const lifetimesSchema = z.object({ ttlMs: z.number().finite().min(0), graceMs: z.number().finite().min(0) })

type Resolved = z.output<typeof headersSchema>

function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw new InvalidOptionsError(`invalid ${what}: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/** The stale windows of RFC 5861, those of 1 s or more. */
function staleWindows(options: Resolved): string[] {
  const windows: string[] = []
  if ((options.grace ?? 0) > 0) windows.push(`stale-while-revalidate=${options.grace}`)
  if ((options.staleIfError ?? 0) > 0) windows.push(`stale-if-error=${options.staleIfError}`)
  return windows
}

/** The combinations that would write directives that contradict each other. */
function checkCombinations(options: Resolved, what: string): void {
  const problems: string[] = []
  if (options.mustRevalidate && staleWindows(options).length > 0) {
    problems.push('mustRevalidate forbids serving a stale response (RFC 9111 §5.2.2.2): grace and staleIfError must be 0 or absent')
  }
  if (options.immutable && (options.browserTtl ?? options.ttl) === 0) {
    problems.push('immutable needs a max-age of at least 1 s (ttl, or browserTtl when given)')
  }
  if (options.cdnTtl !== undefined && options.visibility === 'private') {
    problems.push('cdnTtl writes CDN-Cache-Control, which replaces Cache-Control (and its private) for CDNs (RFC 9213 §2.2): not with visibility private')
  }
  if (problems.length > 0) throw new InvalidOptionsError(`invalid ${what}: ${problems.join('; ')}`)
}

/** `Cache-Control` of options already validated. */
function renderCacheControl(options: Resolved): string {
  const browser = options.browserTtl ?? options.ttl
  const shared = options.visibility === 'public' && browser !== options.ttl ? options.ttl : undefined
  const windows = staleWindows(options)
  const parts: string[] = [options.visibility]
  if (browser === 0 && (shared ?? 0) === 0 && windows.length === 0) parts.push('no-cache')
  else parts.push(`max-age=${browser}`, ...(shared === undefined ? [] : [`s-maxage=${shared}`]), ...windows)
  if (options.mustRevalidate) parts.push('must-revalidate')
  if (options.immutable) parts.push('immutable')
  return parts.join(', ')
}

/** `CDN-Cache-Control` (RFC 9213) for a lifetime of `cdn` seconds. */
function renderCdnCacheControl(options: Resolved, cdn: number): string {
  const windows = staleWindows(options)
  const parts = cdn === 0 && windows.length === 0 ? ['public', 'no-cache'] : ['public', `max-age=${cdn}`, ...windows]
  if (options.mustRevalidate) parts.push('must-revalidate')
  return parts.join(', ')
}

/**
 * The `Cache-Control` value of a response (RFC 9111 §5.2.2): the visibility, then `max-age`,
 * `s-maxage` (when `browserTtl` differs from `ttl`, and public), `stale-while-revalidate` (RFC 5861
 * §3), `stale-if-error` (RFC 5861 §4), `must-revalidate`, `immutable`, in that order. Lifetimes in
 * whole seconds, rounded down. A response fresh for no cache and with no stale window (`ttl` and
 * `browserTtl` under 1 s) is `no-cache`: stored, but revalidated before every reuse.
 *
 * @example cacheControl({ ttl: '5m', grace: '1m' }) // 'public, max-age=300, stale-while-revalidate=60'
 * @example cacheControl({ ttl: '1h', browserTtl: '1m' }) // 'public, max-age=60, s-maxage=3600'
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a missing, negative, non-finite or unparsable
 *   duration (or one over 100 years), an unknown option, `mustRevalidate` with a stale window,
 *   `immutable` with a `max-age` of 0
 */
export function cacheControl(options: CacheControlOptions): string {
  const resolved = parse(controlSchema, options, 'Cache-Control options')
  checkCombinations(resolved, 'Cache-Control options')
  return renderCacheControl(resolved)
}

/**
 * The options of a policy's decision (`policy.decide(request)`, in ms): its ttl as `ttl`, and its
 * grace both as `grace` (`stale-while-revalidate`) and as `staleIfError`. tiercache serves a value
 * within grace when the origin fails (fail-safe, as `stale-if-error`) and when it is slow past the
 * call's `timeout` (the stale value answered, the factory finishing in the background, as
 * `stale-while-revalidate`). A CDN applies `stale-while-revalidate` without waiting at all: pass
 * `grace: 0` in `extra` to keep `stale-if-error` only. `extra` adds to or overrides these (an
 * option given as `undefined` overrides nothing); the decision's `refresh` has no HTTP counterpart
 * and is not used. The options are validated when used ({@link cacheControl}, {@link cacheHeaders}).
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `decision` has no finite, non-negative
 *   `ttlMs` and `graceMs`, or `extra` is not an object
 */
export function cacheOptionsFromPolicy(decision: PolicyLifetimes, extra: Omit<CacheHeadersOptions, 'ttl'> = {}): CacheHeadersOptions {
  const { ttlMs, graceMs } = parse(lifetimesSchema, decision, 'policy decision')
  if (typeof extra !== 'object' || extra === null) throw new InvalidOptionsError('invalid policy cache options: extra must be an object of cache headers options')
  const given = Object.fromEntries(Object.entries(extra).filter((entry) => entry[1] !== undefined))
  return { grace: graceMs, staleIfError: graceMs, ...given, ttl: ttlMs }
}

/**
 * {@link cacheControl} of a policy's decision, as {@link cacheOptionsFromPolicy} maps it.
 *
 * @example cacheControlFromPolicy({ ttlMs: 60_000, graceMs: 300_000 }) // 'public, max-age=60, stale-while-revalidate=300, stale-if-error=300'
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) as {@link cacheOptionsFromPolicy} and {@link cacheControl}
 */
export function cacheControlFromPolicy(decision: PolicyLifetimes, extra: Omit<CacheControlOptions, 'ttl'> = {}): string {
  return cacheControl(cacheOptionsFromPolicy(decision, extra))
}

/**
 * A strong entity tag of `body` (RFC 9110 §8.8.3): the SHA-256 of its bytes (a string as UTF-8),
 * base64url without padding, quoted: 45 characters, e.g. `"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"`
 * for the empty body. It changes whenever a byte does, as a strong validator must (§8.8.1): hash
 * the body as sent, after compression, or give each encoding its own tag.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `body` is neither a string nor a Uint8Array
 */
export function strongEtag(body: Uint8Array | string): string {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new InvalidOptionsError('strongEtag: body must be a string or a Uint8Array')
  return `"${createHash('sha256').update(body).digest('base64url')}"`
}

/**
 * The headers of a response with `body`: `cache-control` ({@link cacheControl}), `etag`
 * ({@link strongEtag}), and, when asked, `cdn-cache-control` (`cdnTtl`, RFC 9213) and `age`
 * (`age`, RFC 9111 §5.1), in whole seconds rounded down.
 *
 * @example cacheHeaders('{"fare":420}', { ttl: '5m', cdnTtl: '1h' })
 *   // { 'cache-control': 'public, max-age=300', etag: '"..."', 'cdn-cache-control': 'public, max-age=3600' }
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) as {@link cacheControl}; also for `cdnTtl` with
 *   visibility `'private'`, and a `body` that is neither a string nor a Uint8Array
 */
export function cacheHeaders(body: Uint8Array | string, options: CacheHeadersOptions): CacheHeaders {
  const resolved = parse(headersSchema, options, 'cache headers options')
  checkCombinations(resolved, 'cache headers options')
  return {
    'cache-control': renderCacheControl(resolved),
    etag: strongEtag(body),
    ...(resolved.cdnTtl === undefined ? {} : { 'cdn-cache-control': renderCdnCacheControl(resolved, resolved.cdnTtl) }),
    ...(resolved.age === undefined ? {} : { age: String(resolved.age) }),
  }
}

/** An entity tag (RFC 9110 §8.8.3): `W/` for a weak one, then the quoted opaque tag. */
const ENTITY_TAG = /(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"/g
const ONE_ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/

/** The value of `name` (lower case) in `headers`, repeated values joined with `, ` (RFC 9110 §5.3). */
function headerValue(headers: Headers | HeaderInput, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined
  const values: string[] = []
  for (const [key, value] of Object.entries(headers as HeaderInput)) {
    if (key.toLowerCase() !== name || value === undefined) continue
    values.push(...(typeof value === 'string' || typeof value === 'number' ? [String(value)] : value))
  }
  return values.length === 0 ? undefined : values.join(', ')
}

/**
 * True when the request's `If-None-Match` says the client holds the representation tagged `etag`:
 * the field is `*`, or lists `etag` by the weak comparison (RFC 9110 §13.1.2, §8.8.3.2: `W/` ignored
 * on both sides). Then answer a `GET` or `HEAD` with 304 Not Modified and the same `Cache-Control` and
 * `ETag`, without a body (RFC 9110 §15.4.5); another method with 412. False without
 * `If-None-Match` (`If-Modified-Since` is not read: an ETag is the stronger validator, §13.2.2) or
 * when no tag matches. `requestHeaders`: Node's `req.headers`, a fetch `Headers`, or any record of
 * fields, names in any case.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `etag` is not an entity tag (`"..."` or `W/"..."`)
 */
export function notModified(requestHeaders: Headers | HeaderInput, etag: string): boolean {
  if (typeof etag !== 'string' || !ONE_ENTITY_TAG.test(etag.trim())) throw new InvalidOptionsError('notModified: etag must be an entity tag, "..." or W/"..." (RFC 9110 §8.8.3)')
  const value = headerValue(requestHeaders, 'if-none-match')?.trim()
  if (value === undefined || value === '') return false
  if (value === '*') return true
  const opaque = etag.trim().replace(/^W\//, '')
  for (const match of value.matchAll(ENTITY_TAG)) if (`"${match[2] ?? ''}"` === opaque) return true
  return false
}
