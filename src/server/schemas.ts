/**
 * The zod schemas of the REST API: request validation (through fastify-type-provider-zod), response
 * serialization, and the OpenAPI document (through @fastify/swagger's `jsonSchemaTransform`).
 *
 * The edge checks shape and types, and bounds sizes by {@link EdgeLimits} so that no request can make
 * the server do unbounded work. The cache then applies its own, configured limits with the same
 * error codes (see `errors.ts`), so a client sees the same answer whichever layer rejects its input.
 */
import { z } from 'zod'
import type { CacheStats, TierStats } from '../metrics/stats.js'
import type { TierHealth } from '../cache/tier-stack.js'
import { type Limits, keySchema, namespaceSchema, tagSchema } from '../cache/validate.js'

/** Bounds the edge enforces before a request reaches the cache. */
export interface EdgeLimits {
  /** Longest key, in UTF-16 code units. */
  readonly maxKeyLength: number
  /** Most tags in one body (`PUT` tags, `POST /v1/invalidate` tags). */
  readonly maxTags: number
  /** Longest tag, in UTF-16 code units. */
  readonly maxTagLength: number
  /** Most keys in one `batch-get`. */
  readonly maxBatchKeys: number
}

/** Most keys in one `batch-get`. */
export const MAX_BATCH_KEYS = 1000

/** The edge bounds of a cache: its own limits, plus the batch size. */
export function edgeLimits(limits: Limits): EdgeLimits {
  return { maxKeyLength: limits.maxKeyLength, maxTags: limits.maxTags, maxTagLength: limits.maxTagLength, maxBatchKeys: MAX_BATCH_KEYS }
}

const durationSchema = z
  .union([z.number(), z.string()], { error: 'must be a number of milliseconds or a duration string such as "30s", "5m", "1h"' })
  .describe('Milliseconds, or a string such as "250ms", "30s", "5m", "1h", "7d".')

/** `?allowStale=true|false`; query strings are text, so the boolean arrives as a literal word. */
const allowStaleQuery = z
  .enum(['true', 'false'], { error: 'must be "true" or "false"' })
  .transform((text) => text === 'true')
  .optional()
  .describe('Also return a value past its ttl but within grace. Default false.')

/** `{ error: { code, message } }`, the body of every 4xx and 5xx answer. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code, e.g. TC_INVALID_KEY.'),
      message: z.string().describe('Human-readable explanation; never contains cache values.'),
    }),
  })
  .describe('Error')

const sourceSchema = z.enum(['l1', 'l2', 'l3', 'origin']).describe('The tier that answered.')

/** The `Served` shape of a value: how it was served, with its age and freshness. */
export const servedSchema = z.object({
  value: z.unknown().describe('The stored JSON value.'),
  source: sourceSchema,
  stale: z.boolean().describe('True when the value is past its ttl and served within grace.'),
  ageMs: z.number().describe('Milliseconds since the value was stored.'),
  freshUntil: z.number().describe('When the value stops being fresh, epoch milliseconds.'),
})

const tierStatsSchema = z.object({
  kind: z.string(),
  hits: z.number(),
  misses: z.number(),
  hitRatio: z.number(),
  writes: z.number(),
  errors: z.number(),
  entries: z.number().optional(),
})

/** `CacheStats`, kept in step with the engine by the compile-time checks below. */
export const statsResponseSchema = z.object({
  requests: z.number(),
  hits: z.number(),
  hitRatio: z.number(),
  tiers: z.object({ l1: tierStatsSchema.optional(), l2: tierStatsSchema.optional(), l3: tierStatsSchema.optional() }),
  origin: z.object({ calls: z.number(), errors: z.number(), timeouts: z.number() }),
  staleServed: z.number(),
  coalesced: z.number(),
})

/** `GET /health`: `degraded` when some tier's circuit is not closed. */
export const healthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  bus: z.enum(['none', 'listening', 'deaf']).describe('none without Redis; deaf: L1 is cleared and bypassed until the bus listens again'),
  tiers: z.array(
    z.object({
      level: z.enum(['l1', 'l2', 'l3']),
      kind: z.string(),
      circuit: z.enum(['closed', 'open', 'half-open']),
      shared: z.boolean(),
      durable: z.boolean(),
    }),
  ),
})

// The serializer drops fields a response schema does not list: these fail the build when the engine's
// CacheStats, TierStats or TierHealth gain (or lose) a field that the schemas above do not document.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false
type StatsSchema = z.output<typeof statsResponseSchema>
const statsInStep: SameKeys<CacheStats, StatsSchema> = true
const tierStatsInStep: SameKeys<TierStats, z.output<typeof tierStatsSchema>> = true
const healthInStep: SameKeys<TierHealth, z.output<typeof healthResponseSchema>['tiers'][number]> = true
const originInStep: SameKeys<CacheStats['origin'], StatsSchema['origin']> = true
void [statsInStep, tierStatsInStep, healthInStep, originInStep]

/** The request and response schemas of every route, built for the given edge bounds. */
export function routeSchemas(limits: EdgeLimits) {
  const key = keySchema(limits.maxKeyLength)
  const tags = z.array(tagSchema(limits.maxTagLength)).max(limits.maxTags)
  const entryParams = z.object({
    namespace: namespaceSchema.describe('Namespace, [A-Za-z0-9._-]{1,128}.'),
    key: key.describe('The key, percent-encoded (encodeURIComponent): "a/b" is sent as a%2Fb.'),
  })

  return {
    entryParams,
    namespaceParams: z.object({ namespace: namespaceSchema }),
    getQuery: z.strictObject({ allowStale: allowStaleQuery }),
    putBody: z.strictObject({
      // Any JSON value, null included; only an absent value is refused (undefined is not storable).
      value: z.unknown().refine((value) => value !== undefined, { message: 'is required (use null for an empty value)', abort: true }),
      ttl: durationSchema.optional().describe('How long the value is fresh. Default: the cache ttl.'),
      grace: durationSchema.optional().describe('How long past its ttl the value may be served stale. Default: the cache grace.'),
      tags: tags.optional().describe('Tags for POST /v1/invalidate.'),
    }),
    deleteResponse: z.object({ deleted: z.boolean().describe('True when some tier held the key.') }),
    batchGetBody: z.strictObject({
      keys: z.array(key).min(1).max(limits.maxBatchKeys),
      allowStale: z.boolean().optional().describe('Also return values within grace. Default false.'),
    }),
    batchGetResponse: z.object({
      entries: z.array(
        z.object({
          key: z.string(),
          found: z.boolean(),
          value: z.unknown().optional(),
          source: sourceSchema.optional(),
          stale: z.boolean().optional(),
          ageMs: z.number().optional(),
          freshUntil: z.number().optional(),
        }),
      ),
    }),
    invalidateBody: z.strictObject({
      tags: z.array(tagSchema(limits.maxTagLength)).min(1).max(limits.maxTags),
      namespace: namespaceSchema.optional().describe('Only this namespace. Default: every namespace.'),
    }),
    invalidateResponse: z.object({ invalidated: z.array(z.string()).describe('The tags, deduplicated.') }),
  }
}

/** The schemas returned by {@link routeSchemas}. */
export type RouteSchemas = ReturnType<typeof routeSchemas>
