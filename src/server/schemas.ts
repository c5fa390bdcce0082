/**
 * The zod schemas of the REST API: request validation (through fastify-type-provider-zod), response
 * serialization, and the OpenAPI document (through @fastify/swagger's `jsonSchemaTransform`).
 *
 * The edge checks shape and types, and bounds sizes by {@link EdgeLimits} so that no request can make
 * the server do unbounded work. The cache then applies its own, configured limits with the same
 * error codes (see `errors.ts`), so a client sees the same answer whichever layer rejects its input.
 */
import { z } from 'zod'
import type { TierHealth } from '../cache/tier-stack.js'
import { type Limits, keySchema, namespaceSchema, tagSchema } from '../core/validate.js'
import { STATS_RANGES } from '../metrics/stats/report.js'
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditRecord, MAX_AUDIT_QUERY_LIMIT } from '../security/audit/index.js'

/** Bounds the edge enforces before a request reaches the cache. */
export interface EdgeLimits {
  /** Longest key, in UTF-16 code units. */
  readonly maxKeyLength: number
  /** Most tags in one body (`PUT` tags, `POST /v1/purge` tags). */
  readonly maxTags: number
  /** Longest tag, in UTF-16 code units. */
  readonly maxTagLength: number
  /** Most keys in one `batch-get`. */
  readonly maxBatchKeys: number
}

/** Most keys in one `batch-get`. */
export const MAX_BATCH_KEYS = 1000

/** Most keys in one page of `GET /v1/entries/:namespace`. */
export const MAX_LIST_LIMIT = 1000

/** Keys in a page of `GET /v1/entries/:namespace` when `limit` is not given. */
export const DEFAULT_LIST_LIMIT = 100

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

/** `?explain=true`: the read route answers the key's explanation instead of its value (docs/explain.md). */
const explainQuery = z
  .enum(['true', 'false'], { error: 'must be "true" or "false"' })
  .transform((text) => text === 'true')
  .optional()
  .describe(
    'Answer where the key is in each tier, how fresh, and the last removals that touched it, instead of its value ' +
      '(200 always, an explanation: see docs/explain.md). Counts as no lookup. Default false.',
  )

/** `{ error: { code, message } }`, the body of every 4xx and 5xx answer. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable machine-readable code, e.g. TC_INVALID_KEY.'),
      message: z.string().describe('Human-readable explanation; never contains cache values.'),
    }),
  })
  .describe('Error')

const sourceSchema = z.enum(['l1', 'l2', 'l3', 'origin', 'fallback']).describe('The tier that answered (`origin`: the origin, `fallback`: a fallback value).')

/** The `Served` shape of a value: how it was served, with its age and freshness. */
export const servedSchema = z.object({
  value: z.unknown().describe('The stored JSON value.'),
  source: sourceSchema,
  stale: z.boolean().describe('True when the value is past its ttl and served within grace.'),
  ageMs: z.number().describe('Milliseconds since the value was stored.'),
  freshUntil: z.number().describe('When the value stops being fresh, epoch milliseconds.'),
})

/** `GET /v1/audit`: the tenant's audit events, newest first. */
export const auditResponseSchema = z.object({
  events: z.array(
    z.object({
      id: z.number(),
      at: z.number().describe('Epoch ms.'),
      action: z.enum(AUDIT_ACTIONS),
      outcome: z.enum(AUDIT_OUTCOMES),
      keyId: z.string().nullable().describe('The API key that acted, tck_...; null for the command line.'),
      tenant: z.string().nullable(),
      target: z.string().nullable().describe('What it acted on: a namespace, tags, a key id, a route.'),
      ip: z.string().nullable(),
      userAgent: z.string().nullable(),
      detail: z.string().nullable(),
    }),
  ),
})

/** A query parameter holding a whole number: query strings are text. */
const wholeNumberQuery = (digits: number) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,${digits}}$`), `must be a whole number of at most ${digits} digits`)
    .transform(Number)

/** `?since=&limit=` of `GET /v1/audit`. */
export const auditQuerySchema = z.strictObject({
  since: wholeNumberQuery(15).optional().describe('Only events at or after this time, epoch ms. Default 0.'),
  limit: wholeNumberQuery(4)
    .pipe(z.number().min(1, 'must be at least 1').max(MAX_AUDIT_QUERY_LIMIT, `must be at most ${MAX_AUDIT_QUERY_LIMIT}`))
    .optional()
    .describe(`Most events returned, 1 to ${MAX_AUDIT_QUERY_LIMIT}. Default 100.`),
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

/** A user id as the cache takes it (`SecurityContext.userId`): 1 to 256 characters, well-formed UTF-16. */
const userIdSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((text) => text.isWellFormed(), 'must be a well-formed string (no lone surrogates)')

/** `POST /v1/erase`: the user to erase, or none for the whole tenant. */
export const eraseBodySchema = z.strictObject(
  {
    userId: userIdSchema
      .optional()
      .describe("The user of the key's tenant to erase, as the application names it (1 to 256 characters). Leave it out to erase the whole tenant, its users included."),
  },
  // Required, so that a request that lost its body does not erase the whole tenant.
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object: { "userId": "..." } to erase a user, {} to erase the whole tenant' : undefined) },
)

/** `POST /v1/erase`: what was erased. */
export const eraseResponseSchema = z.object({
  erased: z.enum(['user', 'tenant']).describe("user: every entry of that user; tenant: every entry of the key's tenant, its users' included."),
})

/** `?userId=` of `GET /v1/export`. */
export const exportQuerySchema = z.strictObject({
  userId: userIdSchema.optional().describe("The user of the key's tenant to export; without it, the whole tenant, its users included."),
})

/** One line of the NDJSON that `GET /v1/export` answers (see export-json.ts for how values are converted). */
export const exportLineSchema = z
  .object({
    scope: z.enum(['tenant', 'user']).describe("The entry's scope: the tenant's, or one of its users'."),
    user: z.string().optional().describe('For a user entry: the user, as the 22-character hash tiers store (the id itself is not stored).'),
    namespace: z.string().describe('The namespace, as the scope names it.'),
    key: z.string(),
    value: z
      .unknown()
      .describe(
        'The value, in JSON: Date as an ISO 8601 string, Map as an object (or [key, value] pairs when a key is not a string), Set as an array, ' +
          'bigint as a decimal string, NaN and ±Infinity as strings, binary as { "$base64": "..." }, other typed arrays as arrays, a cycle as { "$circular": true }.',
      ),
    createdAt: z.number().describe('When it was stored, epoch ms.'),
    freshUntil: z.number().describe('When it stops being fresh, epoch ms.'),
    stale: z.boolean().describe('True when past its ttl, kept within grace.'),
  })
  .describe('One exported entry; the answer is one such object per line (application/x-ndjson).')

// The serializer drops fields a response schema does not list: these fail the build when
// AuditRecord or the engine's TierHealth gain (or lose) a field that the schemas above do not document.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false
const auditInStep: SameKeys<AuditRecord, z.output<typeof auditResponseSchema>['events'][number]> = true
const healthInStep: SameKeys<TierHealth, z.output<typeof healthResponseSchema>['tiers'][number]> = true
void [auditInStep, healthInStep]

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
    namespaceParams: z.object({ namespace: namespaceSchema.describe('Namespace, [A-Za-z0-9._-]{1,128}.') }),
    getQuery: z.strictObject({ allowStale: allowStaleQuery, explain: explainQuery }),
    listQuery: z.strictObject({
      limit: wholeNumberQuery(4)
        .pipe(z.number().min(1, 'must be at least 1').max(MAX_LIST_LIMIT, `must be at most ${MAX_LIST_LIMIT}`))
        .optional()
        .describe(`Most keys in the page, 1 to ${MAX_LIST_LIMIT}. Default ${DEFAULT_LIST_LIMIT}.`),
      after: key.optional().describe('Start after this key: the next of the previous page.'),
    }),
    listResponse: z.object({
      keys: z.array(z.string()).describe("The page's keys, in the storage tier's order (bytes of UTF-8)."),
      next: z.string().nullable().describe('Pass as after for the next page; null on the last page.'),
    }),
    putBody: z.strictObject({
      // Any JSON value, null included; only an absent value is refused (undefined is not storable).
      value: z.unknown().refine((value) => value !== undefined, { message: 'is required (use null for an empty value)', abort: true }),
      ttl: durationSchema.optional().describe('How long the value is fresh. Default: the cache ttl.'),
      grace: durationSchema.optional().describe('How long past its ttl the value may be served stale. Default: the cache grace.'),
      tags: tags.optional().describe('Tags for POST /v1/purge.'),
      policy: z
        .string()
        .min(1)
        .max(128)
        .optional()
        .describe("A ttl policy of the server's policy file (serve --policy): its ttl and grace for the caller's role and context. An explicit ttl or grace wins."),
      context: z
        .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
        .refine((context) => Object.keys(context).length <= 32, 'has more than 32 fields')
        .optional()
        .describe('What the policy reads: freshness, volatility, marketTier, ... Only with policy.'),
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
      // Required: an invalidation stays within one namespace of the caller's tenant.
      namespace: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required: the namespace to invalidate in' : 'must be a string') })
        .pipe(namespaceSchema)
        .describe("The namespace, of the key's tenant, to invalidate in."),
    }),
    invalidateResponse: z.object({ invalidated: z.array(z.string()).describe('The tags, deduplicated.') }),
    purgeResponse: z.object({ purged: z.array(z.string()).describe('The tags, deduplicated.') }),
    clearBody: z.strictObject({
      namespace: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required: the namespace to clear' : 'must be a string') })
        .pipe(namespaceSchema)
        .describe("The namespace, of the key's tenant, to clear."),
    }),
    clearResponse: z.object({ cleared: z.string().describe('The namespace cleared.') }),
    statsQuery: z.strictObject({
      range: z.enum(STATS_RANGES, { error: `must be one of ${STATS_RANGES.join(', ')}` }).optional().describe('The window of the history. Default 1h.'),
      namespace: namespaceSchema.optional().describe('Only this namespace.'),
    }),
  }
}

/** The schemas returned by {@link routeSchemas}. */
export type RouteSchemas = ReturnType<typeof routeSchemas>
