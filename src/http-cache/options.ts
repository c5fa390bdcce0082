/** The options of `createHttpCache`, validated once (zod), with their defaults. */
import { z } from 'zod'
import { Cache } from '../cache/cache.js'
import { toMs } from '../core/duration.js'
import { InvalidOptionsError } from '../errors.js'

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
  })
}
