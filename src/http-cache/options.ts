/** The options of `createHttpCache`, validated once (zod), with their defaults. */
import { z } from 'zod'
import { Cache } from '../cache/cache.js'
import { toMs } from '../core/duration.js'
import { InvalidOptionsError } from '../errors.js'
import { firstSegment } from './counts.js'

/** Options of `createHttpCache`. */
export interface HttpCacheOptions {
  /** Any view of the cache; responses are stored in its namespace {@link namespace}. */
  readonly cache: Cache
  /** The namespace of the stored responses. @default 'http' */
  readonly namespace?: string
  /** This cache's name in `Cache-Status` (RFC 9211 §2), a token. @default 'tiercache' */
  readonly name?: string
  /**
   * Targeted cache-control fields this cache honours, in precedence order, e.g.
   * `['cdn-cache-control']` (RFC 9213) or `['surrogate-control']`: the first present with directives
   * replaces `Cache-Control` and `Expires` for this cache. @default [] (`Cache-Control` only)
   */
  readonly targetedFields?: readonly string[]
  /**
   * Heuristic freshness (RFC 9111 §4.2.2): the fraction of the time since `Last-Modified` that a
   * response without explicit freshness is fresh for, e.g. 0.1. @default 0 (no heuristic freshness)
   */
  readonly heuristic?: number
  /**
   * How long a response with a validator (`ETag`, `Last-Modified`) is kept past its freshness and
   * stale windows, so that it can be revalidated with a 304 rather than fetched again; a number of
   * ms or a string such as `'1h'`. @default '1h'
   */
  readonly keepStale?: number | string
  /** The response field whose space-separated values tag the response (surrogate keys). @default 'surrogate-key' */
  readonly surrogateKeyHeader?: string
  /** The clock, epoch ms: the age of stored responses is counted on it. @default Date.now */
  readonly now?: () => number
  /**
   * The route group a request's URL is counted in (`httpCache.counts`, the metrics' `group` label),
   * e.g. `(url) => url.pathname.startsWith('/api/') ? '/api' : '/'`. At most 100 groups are counted
   * apart; the others are counted as `other`. @default `/` and the first path segment (`/products/42` → `/products`)
   */
  readonly routeGroup?: (url: URL) => string
  /**
   * The `POST` routes whose answers are cached by a signature of the body (a search or
   * recommendation endpoint that is a read in practice): exact paths (`/search`), path prefixes
   * ending in `*` (`/api/search/*`), or regular expressions tested on the path. Their requests are
   * keyed by method, URL and a SHA-256 of the canonical body (JSON with object keys sorted, form
   * fields sorted, other bodies as their bytes), decided as a `GET` would be, and do not invalidate
   * (RFC 9111 §4.4 is for the other POSTs). @default [] (no POST is cached)
   */
  readonly cachePost?: readonly (string | RegExp)[]
  /** Told of errors the cache survives (an origin that failed, a background revalidation that failed). @default none */
  readonly onError?: (error: unknown) => void
}

const schema = z.object({
  cache: z.custom<Cache>((value) => value instanceof Cache, 'must be a Cache (createCache)'),
  namespace: z.string().default('http'),
  name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP token').default('tiercache'),
  targetedFields: z.array(z.string().min(1).transform((name) => name.toLowerCase())).default([]),
  heuristic: z.number().min(0).max(1).default(0),
  keepStale: z.union([z.number(), z.string()]).default('1h'),
  surrogateKeyHeader: z.string().min(1).transform((name) => name.toLowerCase()).default('surrogate-key'),
  now: z.custom<() => number>((value) => typeof value === 'function').optional(),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
  routeGroup: z.custom<(url: URL) => string>((value) => typeof value === 'function').optional(),
  cachePost: z.array(z.union([z.string().regex(/^\//, 'must be a path starting with /'), z.instanceof(RegExp)])).default([]),
})

/** The options in force: every default applied, durations in ms. */
export interface ResolvedHttpCacheOptions {
  readonly cache: Cache
  readonly name: string
  readonly targetedFields: readonly string[]
  readonly heuristic: number
  readonly keepStaleMs: number
  readonly surrogateKeyHeader: string
  readonly now: () => number
  readonly onError: (error: unknown) => void
  readonly routeGroup: (url: URL) => string
  /** Whether a `POST` to a path is cached by the signature of its body ({@link HttpCacheOptions.cachePost}). */
  readonly cachesPost: (pathname: string) => boolean
}

/**
 * Validates `options` and resolves the defaults; `cache` becomes the view on `namespace`.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`), InvalidNamespaceError, InvalidDurationError
 */
export function resolveHttpCacheOptions(options: HttpCacheOptions): ResolvedHttpCacheOptions {
  const parsed = schema.safeParse(options)
  if (!parsed.success) throw new InvalidOptionsError(`invalid HTTP cache options: ${z.prettifyError(parsed.error)}`)
  const { data } = parsed
  return Object.freeze({
    cache: data.cache.namespace(data.namespace),
    name: data.name,
    targetedFields: data.targetedFields,
    heuristic: data.heuristic,
    keepStaleMs: toMs(data.keepStale, 'keepStale'),
    surrogateKeyHeader: data.surrogateKeyHeader,
    now: data.now ?? Date.now,
    onError: data.onError ?? (() => {}),
    routeGroup: data.routeGroup ?? firstSegment,
    cachesPost: postMatcher(data.cachePost),
  })
}

/** The test of {@link HttpCacheOptions.cachePost}: exact paths, `*`-ended prefixes, regular expressions. */
function postMatcher(routes: readonly (string | RegExp)[]): (pathname: string) => boolean {
  const exact = new Set(routes.filter((route): route is string => typeof route === 'string' && !route.endsWith('*')))
  const prefixes = routes.filter((route): route is string => typeof route === 'string' && route.endsWith('*')).map((route) => route.slice(0, -1))
  const patterns = routes.filter((route): route is RegExp => route instanceof RegExp)
  return (pathname) => exact.has(pathname) || prefixes.some((prefix) => pathname.startsWith(prefix)) || patterns.some((pattern) => pattern.test(pathname))
}
