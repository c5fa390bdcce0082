import { z } from 'zod'
import {
  type Cache,
  type CallContext,
  type ContextRole,
  type GetOrSetOptions,
  InvalidOptionsError,
  InvalidTraceError,
  type Policy,
} from '../../index.js'
import { type ReplayL3, describeL3, withReplayCache } from './cache.js'
import { type Trace, openTrace } from './trace.js'
import { VirtualClock } from './virtual-clock.js'
import { type WorkloadOptions, isWorkloadSpec, resolveWorkloadOptions } from './workload.js'

/** One run of a comparison: a cache whose ttl is `ttlMs`, or calls naming `policy`. */
export type ReplayVariant = { readonly ttlMs: number } | { readonly policy: string }

/** Options of {@link runComparison}. */
export interface ComparisonOptions {
  /** A trace file or workload spec (see {@link openTrace}), or a {@link Trace} (iterated once per run). */
  readonly trace: string | Trace
  /** Request count and seed when `trace` is a workload spec. */
  readonly workload?: WorkloadOptions
  /** The runs, in the order reported; at least one. */
  readonly variants: readonly ReplayVariant[]
  /** The policy layer that policy variants name; required when there is one. */
  readonly policies?: Policy
  /** The context of every call naming a policy (`freshness`, `volatility`, `marketTier`, ...). */
  readonly context?: CallContext
  /** The role of the calling view (see `cache.withContext`); none when undefined. */
  readonly role?: ContextRole
  /** Request i happens at `startMs + i × 1000 / ratePerSecond`, requests per second, > 0. @default 100 */
  readonly ratePerSecond?: number
  /** The virtual time of the first request, epoch ms; seasons are decided by it. @default now */
  readonly startMs?: number
  /** L1's bounds, or false for none. @default `{ maxEntries: 10_000, maxBytes: 64 MiB }` */
  readonly l1?: { readonly maxEntries: number; readonly maxBytes?: number } | false
  /** @default 'temporary' (each run has a fresh SQLite file) */
  readonly l3?: ReplayL3
  /** Stop each run after this many requests. @default the whole trace */
  readonly limit?: number
  /** Size of the value the origin returns, bytes. @default 100 */
  readonly valueBytes?: number
  /** Called after each run, with the runs done so far. */
  readonly onRun?: (done: number, of: number) => void
  /** Stops the comparison between two requests; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/** A ttl and grace as a run's calls get them, ms; `min < max` when the policy has jitter. */
export interface RunTtl {
  readonly minMs: number
  readonly maxMs: number
  readonly graceMs: number
}

/** What one run measured. Ratios are fractions (0..1) of all requests. */
export interface ComparisonRun {
  /** `'5m'` for a ttl, the policy's name for a policy. */
  readonly label: string
  readonly variant: ReplayVariant
  /** The ttl of a call at the first request's time, and at the last's (they differ when a season begins or ends between). */
  readonly ttlAtStart: RunTtl
  readonly ttlAtEnd: RunTtl
  readonly requests: number
  /** Requests answered by a tier, stale answers included. */
  readonly hits: number
  readonly hitRatio: number
  readonly l1HitRatio: number
  readonly l3HitRatio: number
  /** Answers past their ttl (grace, stale-while-revalidate). */
  readonly staleServed: number
  /** Factory calls, refreshes ahead of expiry included. */
  readonly originCalls: number
  /** Failed operations of a tier; anything but 0 makes the run's figures suspect. */
  readonly tierErrors: number
}

/** What {@link runComparison} reports: the same requests replayed once per variant. */
export interface ComparisonReport {
  readonly trace: string
  readonly setup: {
    readonly l1: { readonly maxEntries: number; readonly maxBytes: number } | false
    readonly l3: string
    readonly ratePerSecond: number
    /** The virtual times of the first and the last request, ISO 8601. */
    readonly start: string
    readonly end: string
    readonly role: ContextRole | null
    readonly context: CallContext
    readonly limit: number | null
    readonly valueBytes: number
    readonly workload: { readonly requests: number; readonly seed: number } | null
  }
  readonly requests: number
  readonly uniqueKeys: number
  /** 1 − uniqueKeys / requests: every first request of a key misses, whatever the ttl. */
  readonly maxHitRatio: number
  readonly runs: readonly ComparisonRun[]
}

/** Default request rate of a comparison, requests per second. */
export const DEFAULT_REPLAY_RATE = 100

const optionsSchema = z.object({
  ratePerSecond: z.number().positive().max(1e9).default(DEFAULT_REPLAY_RATE),
  l1: z
    .union([z.literal(false), z.object({ maxEntries: z.number().int().positive(), maxBytes: z.number().int().positive().default(64 * 1024 * 1024) })])
    .default({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 }),
  limit: z.number().int().positive().optional(),
  valueBytes: z.number().int().min(0).max(1_000_000).default(100),
  variants: z.array(z.union([z.object({ ttlMs: z.number().int().positive() }), z.object({ policy: z.string().min(1) })])).min(1),
})

/**
 * Replays one trace once per variant, a ttl or a named policy, each on a fresh cache, and reports
 * their hit ratios side by side. Requests are made one at a time, with an origin that answers at
 * once, on a virtual clock (see {@link VirtualClock}): request i happens `i / ratePerSecond` seconds
 * after `startMs`, so entries expire as they would at that rate, and seasons hold as they would
 * from that date. L1's capacity is the one in force at `startMs`.
 *
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options, or a policy variant without `policies`
 * @throws UnknownPolicyError (`TC_UNKNOWN_POLICY`), InvalidContextError (`TC_INVALID_CONTEXT`) for a
 *   policy or context the layer does not know, before anything is replayed
 * @throws InvalidTraceError (`TC_INVALID_TRACE`) when the trace cannot be read or is empty
 * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when the L3 cannot be opened
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonReport> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new InvalidOptionsError(`invalid replay options: ${z.prettifyError(parsed.error)}`)
  const settings = parsed.data
  const startMs = options.startMs ?? Date.now()
  const context = options.context ?? {}
  const l3 = options.l3 ?? 'temporary'
  const at = (index: number) => startMs + Math.floor((index * 1000) / settings.ratePerSecond)
  const ttlOf = (variant: ReplayVariant, now: number): RunTtl => {
    if ('ttlMs' in variant) return { minMs: variant.ttlMs, maxMs: variant.ttlMs, graceMs: 0 }
    if (options.policies === undefined) throw new InvalidOptionsError(`policy '${variant.policy}' needs a policy file (--policy-file)`)
    const explained = options.policies.ttl.explain({ policy: variant.policy, role: options.role, context, now })
    return { minMs: explained.ttlMs.min, maxMs: explained.ttlMs.max, graceMs: explained.graceMs }
  }
  // Unknown policies and context values fail before anything is opened.
  for (const variant of settings.variants) ttlOf(variant, startMs)

  const trace = typeof options.trace === 'string' ? openTrace(options.trace, options.workload) : options.trace
  const value = 'x'.repeat(settings.valueBytes)
  const origin = () => value
  const runs: ComparisonRun[] = []
  let requests = 0
  let uniqueKeys = 0
  for (const variant of settings.variants) {
    options.signal?.throwIfAborted()
    const clock = new VirtualClock(startMs)
    const measured = await clock.install(() =>
      withReplayCache(
        settings.l1,
        l3,
        async (cache) => {
          const view = viewOf(cache, options.role)
          const callOptions: GetOrSetOptions | undefined = 'policy' in variant ? { policy: variant.policy, context } : undefined
          const seen = new Set<string>()
          let index = 0
          for await (const key of trace) {
            if (settings.limit !== undefined && index >= settings.limit) break
            options.signal?.throwIfAborted()
            clock.set(at(index++))
            if (runs.length === 0) seen.add(key)
            await view.getOrSet(key, origin, callOptions)
          }
          return { stats: await cache.stats(), uniqueKeys: seen.size }
        },
        { ttl: 'ttlMs' in variant ? variant.ttlMs : undefined, policies: options.policies },
      ),
    )
    const { stats } = measured
    if (stats.requests === 0) throw new InvalidTraceError(`trace ${trace.name} has no requests`)
    if (runs.length === 0) {
      requests = stats.requests
      uniqueKeys = measured.uniqueKeys
    }
    runs.push({
      label: 'ttlMs' in variant ? formatTtlLabel(variant.ttlMs) : variant.policy,
      variant,
      ttlAtStart: ttlOf(variant, startMs),
      ttlAtEnd: ttlOf(variant, at(requests - 1)),
      requests: stats.requests,
      hits: stats.hits,
      hitRatio: stats.hitRatio,
      l1HitRatio: stats.tiers.l1?.hitRatio ?? 0,
      l3HitRatio: stats.tiers.l3?.hitRatio ?? 0,
      staleServed: stats.staleServed,
      originCalls: stats.origin.calls,
      tierErrors: (stats.tiers.l1?.errors ?? 0) + (stats.tiers.l3?.errors ?? 0),
    })
    options.onRun?.(runs.length, settings.variants.length)
  }
  return {
    trace: trace.name,
    setup: {
      l1: settings.l1,
      l3: describeL3(l3),
      ratePerSecond: settings.ratePerSecond,
      start: new Date(startMs).toISOString(),
      end: new Date(at(requests - 1)).toISOString(),
      role: options.role ?? null,
      context,
      limit: settings.limit ?? null,
      valueBytes: settings.valueBytes,
      workload: isWorkloadSpec(trace.name) ? resolveWorkloadOptions(options.workload) : null,
    },
    requests,
    uniqueKeys,
    maxHitRatio: 1 - uniqueKeys / requests,
    runs,
  }
}

/** The view whose calls carry `role`: public entries, so that no key ring is needed. */
function viewOf(cache: Cache, role: ContextRole | undefined): Cache {
  if (role === undefined) return cache
  return cache.withContext(role === 'authenticated' ? { role, tenantId: 'replay' } : { role }, { scope: 'public' })
}

/** `300000` → `'5m'`: the largest unit that divides the ttl. */
export function formatTtlLabel(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
