/**
 * The shape of a statistics report, as `GET /v1/stats` answers it and `tiercache stats`, `tiercache
 * top` and the dashboard read it (docs/stats.md describes every field). One zod schema: the server
 * serializes with it, the OpenAPI document shows it, the command line parses with it.
 *
 * Counts are over the report's range (`from`..`to`), every instance sharing the SQL tier summed;
 * `now` and `topKeys` are this instance's, live. Durations are seconds; times epoch milliseconds.
 */
import { z } from 'zod'
import type { HistoryRange } from '../history/ranges.js'
import { aiStatsSchema } from './ai.js'
import { httpStatsSchema } from './http.js'

/** The ranges a report covers: those of the history (its steps: 1 min, 5 min, 1 h, 6 h). */
export const STATS_RANGES = ['1h', '24h', '7d', '30d'] as const satisfies readonly HistoryRange[]
/** A `/v1/stats` range: `1h`, `24h`, `7d` or `30d` (see docs/stats.md for their steps). */
export type StatsRange = (typeof STATS_RANGES)[number]

const count = z.number().nonnegative()
const ratio = z.number().min(0).max(1).describe('A fraction, 0 to 1; 0 when there was nothing to divide.')
const seconds = z.number().nonnegative().nullable()

/** p50, p95, p99 from histogram buckets (interpolated as Prometheus's histogram_quantile), seconds; null when nothing was observed. */
export const latencySchema = z.object({ p50: seconds, p95: seconds, p99: seconds, count })

/** Tier misses by reason (docs/metrics.md, `tiercache_misses_total`). */
export const missReasonsSchema = z.object({
  absent: count,
  expired: count,
  invalidated: count,
  evicted: count,
  unavailable: count,
  suspended: count,
  unreadable: count,
  bypassed: count,
})

/** Stale answers by why they were served. */
export const staleReasonsSchema = z.object({ requested: count, factoryError: count, timeout: count })

/** Entries a tier dropped on its own, by reason. */
export const evictionReasonsSchema = z.object({ size: count, count: count, expired: count })

/** Removals asked of the cache, by kind. */
export const invalidationKindsSchema = z.object({ key: count, tags: count, clear: count, scope: count })

/** What the origin calls that were saved would have cost, per unit (`metrics.costs`). */
export const costSchema = z.array(z.object({ unit: z.string(), amount: count }))

/** The tiers a report names, fastest first. */
export const TIER_LEVELS = ['l1', 'l2', 'l3'] as const
export type TierLevel = (typeof TIER_LEVELS)[number]

/** One tier over the range. */
export const tierTotalsSchema = z.object({
  hits: count.describe('Lookups the tier answered fresh.'),
  misses: count.describe('Lookups that reached the tier and found no fresh entry.'),
  hitRatio: ratio.describe('hits / (hits + misses): of the lookups that reached this tier.'),
  served: ratio.describe('hits / totals.requests: the share of all lookups this tier answered.'),
  missReasons: missReasonsSchema,
  evictions: evictionReasonsSchema,
  errors: count.describe('Operations on the tier that threw or timed out (every tenant: tiers are shared).'),
  circuitOpens: count.describe('Times its circuit opened (every tenant).'),
  latency: latencySchema.describe('Reads of the tier (every tenant).'),
})

const tiersSchema = z.object({ l1: tierTotalsSchema.optional(), l2: tierTotalsSchema.optional(), l3: tierTotalsSchema.optional() })

/** Origin (factory) calls. */
export const originSchema = z.object({
  calls: count,
  errors: count,
  timeouts: count,
  saved: count.describe('getOrSet lookups answered without calling the origin.'),
  costSaved: costSchema,
  latency: latencySchema,
})

/** The whole scope over the range. */
export const totalsSchema = z.object({
  requests: count.describe('Keys looked up by get, getOrSet, getMany (one per key).'),
  hits: count.describe('Lookups some tier answered fresh.'),
  misses: count.describe('requests - hits: lookups no tier answered fresh (the stale answers among them).'),
  hitRatio: ratio.describe('hits / requests.'),
  staleHits: count,
  staleReasons: staleReasonsSchema,
  missReasons: missReasonsSchema.describe('Tier misses by reason, every tier summed (a lookup that missed in L1 and L2 counts twice).'),
  tiers: tiersSchema,
  getOrSet: z.object({ latency: latencySchema }),
  origin: originSchema,
  writes: count.describe('Entries written by set or a factory result, every tier summed.'),
  deletes: count,
  invalidations: invalidationKindsSchema,
  evictions: evictionReasonsSchema.describe('Every tier summed.'),
  coalesced: count.describe('Lookups that joined an origin call already in flight.'),
  errors: count.describe('Tier operations that threw or timed out (every tenant).'),
})

/** One namespace over the range. */
export const namespaceStatsSchema = z.object({
  namespace: z.string().describe('As callers name it; `_other` past the cache\'s metrics.maxNamespaces.'),
  tenant: z.string().optional().describe('In a deployment report, the tenant (`\'\'` for the public scope) when tenants are labelled.'),
  requests: count,
  hits: count,
  hitRatio: ratio,
  staleHits: count,
  staleReasons: staleReasonsSchema,
  missReasons: missReasonsSchema,
  writes: count,
  evictions: evictionReasonsSchema,
  originCalls: count,
  originErrors: count.describe('Origin calls that failed or timed out.'),
  saved: count,
  costSaved: costSchema,
  getOrSetP95: seconds,
})

/** Per step of the range, oldest first; every array has the length of `t`. */
export const seriesSchema = z.object({
  t: z.array(z.number()).describe('Start of each step, epoch ms.'),
  requests: z.array(count).describe('Lookups per step (divide by stepMs / 1000 for per second).'),
  hits: z.array(count),
  staleHits: z.array(count),
  errors: z.array(count),
  hitRatio: z.object({
    overall: z.array(ratio),
    l1: z.array(ratio).describe('Each tier\'s hits / totals.requests of the step (its share), so that the tiers add up to overall.'),
    l2: z.array(ratio),
    l3: z.array(ratio),
  }),
  latencyP95: z.object({ getOrSet: z.array(seconds), l1: z.array(seconds), l2: z.array(seconds), l3: z.array(seconds) }),
  originCalls: z.array(count),
  costSaved: z.array(z.object({ unit: z.string(), values: z.array(count) })),
})

/** One tier of this instance, now. */
export const tierNowSchema = z.object({
  kind: z.string().describe('memory, redis, sqlite, postgres, ...'),
  circuit: z.enum(['closed', 'open', 'half-open']),
  healthy: z.boolean().describe('circuit closed.'),
  entries: count.optional().describe('Entries the tier holds for this cache (deployment reports only).'),
  bytes: count.optional().describe('Their bytes, where the tier can tell (deployment reports only).'),
  capacityEntries: count.optional(),
  capacityBytes: count.optional(),
})

/** This instance, live. */
export const nowSchema = z.object({
  at: z.number(),
  tiers: z.object({ l1: tierNowSchema.optional(), l2: tierNowSchema.optional(), l3: tierNowSchema.optional() }),
  bus: z.object({ listening: z.boolean() }).nullable().describe('null without a bus.'),
})

/** One of the busiest keys (Space-Saving: count - error <= true lookups <= count). */
export const topKeySchema = z.object({
  tenant: z.string().optional().describe('In a deployment report: whose key it is.'),
  namespace: z.string(),
  key: z.string(),
  count: count.describe('Lookups through this instance, an upper bound.'),
  error: count.describe('How much count may overestimate; 0 is exact.'),
  misses: count.describe('Lookups that found no value, since the key was last tracked.'),
  ttlMs: count.optional().describe('Ttl of its last write through this instance, ms.'),
})

/** One of the largest writes through this instance. */
export const largeEntrySchema = z.object({
  tenant: z.string().optional(),
  namespace: z.string(),
  key: z.string(),
  bytes: count.describe('Size of the write as it arrived (the request body).'),
  at: z.number(),
})

/** Something worth acting on; see suggestions.ts for the codes. */
export const suggestionSchema = z.object({
  code: z.string().describe('Stable: expired-short-ttl, expired-misses, oversized-entries, l1-evicting, failing-origin, circuit-flapping, low-hit-ratio, tenants-unlabelled.'),
  severity: z.enum(['info', 'warning']),
  message: z.string().describe('What was seen and what to do.'),
  namespace: z.string().optional(),
  key: z.string().optional(),
  tenant: z.string().optional(),
  tier: z.enum(TIER_LEVELS).optional(),
})

/** The answer of `GET /v1/stats`. */
export const statsReportSchema = z.object({
  scope: z.union([z.object({ tenant: z.string() }), z.object({ deployment: z.literal(true) })]),
  range: z.enum(STATS_RANGES),
  from: z.number().describe('Start of the first step, epoch ms.'),
  to: z.number().describe('End of the last step, epoch ms (excluded).'),
  stepMs: z.number(),
  instances: count.describe('Instances that recorded history in the range.'),
  history: z.boolean().describe('False when the server keeps no history: then the range figures are this instance\'s since it started.'),
  totals: totalsSchema,
  namespaces: z.array(namespaceStatsSchema).describe('Busiest first, at most 20 (all, with ?namespace=).'),
  series: seriesSchema,
  now: nowSchema,
  topKeys: z.array(topKeySchema).describe('Busiest first, at most 20.'),
  topKeysSince: z.number().describe('When this instance started counting top keys, epoch ms.'),
  largestEntries: z.array(largeEntrySchema),
  suggestions: z.array(suggestionSchema),
  ai: aiStatsSchema.optional().describe('With an AI gateway only: what the AI cache answered and saved, this instance since it started.'),
  http: httpStatsSchema
    .optional()
    .describe('With an HTTP cache only, in deployment reports (a service key): how it served its responses per route group, this instance since it started.'),
})

/** The answer of `GET /v1/stats`, as `statsReportSchema` defines it field by field (docs/stats.md). */
export type StatsReport = z.infer<typeof statsReportSchema>
export type StatsTotals = z.infer<typeof totalsSchema>
export type TierTotals = z.infer<typeof tierTotalsSchema>
export type NamespaceStats = z.infer<typeof namespaceStatsSchema>
export type StatsSeries = z.infer<typeof seriesSchema>
export type StatsNow = z.infer<typeof nowSchema>
export type TopKeyItem = z.infer<typeof topKeySchema>
export type LargeEntryItem = z.infer<typeof largeEntrySchema>
export type Suggestion = z.infer<typeof suggestionSchema>
export type Latency = z.infer<typeof latencySchema>
export type MissReasons = z.infer<typeof missReasonsSchema>
export type { AiStats, AiStatsRow } from './ai.js'
export type { HttpStats, HttpStatsRow } from './http.js'
