/**
 * Suggestions worth acting on, as pure functions of a statistics report: each rule reads the figures,
 * and says what it saw and what to do, under a stable `code`. Rules need a minimum of traffic before
 * they speak, so that a quiet namespace or a handful of requests raises nothing.
 *
 * | code | severity | when |
 * |---|---|---|
 * | `expired-short-ttl` | warning | a busy key misses often and was written with a short ttl |
 * | `expired-misses` | warning | most of a namespace's misses are expired entries |
 * | `oversized-entries` | warning | a write, or a tier's average entry, is larger than `oversizedBytes` |
 * | `l1-evicting` | info | L1 drops entries for room at a rate that costs hits |
 * | `failing-origin` | warning | stale answers served because the origin failed or timed out, or origin calls failing |
 * | `circuit-flapping` | warning | a shared tier's circuit opened again and again |
 * | `low-hit-ratio` | info | a busy namespace answers few lookups from the cache |
 */
import { formatShare, formatSize, formatTtl, tierName } from './stats/words.js'
import type { NamespaceStats, StatsReport, Suggestion, TierLevel } from './stats/report.js'

/** What the rules read: a report without its series and suggestions. */
export type SuggestionInput = Pick<StatsReport, 'range' | 'totals' | 'namespaces' | 'now' | 'topKeys' | 'largestEntries'>

/** Thresholds of the rules; every one has a default. */
export interface SuggestionThresholds {
  /** Lookups a namespace (or key) needs before a ratio of it is judged. @default 100 (keys: 50) */
  readonly minRequests: number
  readonly minKeyLookups: number
  /** A ttl at or below this is short, ms. @default 60,000 */
  readonly shortTtlMs: number
  /** Share of a key's lookups that miss for `expired-short-ttl`. @default 0.2 */
  readonly keyMissShare: number
  /** Share of a namespace's tier misses that are expiries, for `expired-misses`. @default 0.5 */
  readonly expiredShare: number
  /** An entry this large is oversized, bytes. @default 256 KiB */
  readonly oversizedBytes: number
  /** L1 evictions for room (size or count) per L1 write, for `l1-evicting`. @default 0.2 */
  readonly evictionShare: number
  /** Stale answers for a failing origin per lookup, for `failing-origin`. @default 0.01 */
  readonly failingStaleShare: number
  /** Failed or timed-out origin calls per call, for `failing-origin`. @default 0.05 */
  readonly failingOriginShare: number
  /** Circuit openings in the range, for `circuit-flapping`. @default 3 */
  readonly circuitOpens: number
  /** A hit ratio below this is low, for `low-hit-ratio`. @default 0.5 */
  readonly lowHitRatio: number
}

export const DEFAULT_THRESHOLDS: SuggestionThresholds = {
  minRequests: 100,
  minKeyLookups: 50,
  shortTtlMs: 60_000,
  keyMissShare: 0.2,
  expiredShare: 0.5,
  oversizedBytes: 256 * 1024,
  evictionShare: 0.2,
  failingStaleShare: 0.01,
  failingOriginShare: 0.05,
  circuitOpens: 3,
  lowHitRatio: 0.5,
}

/** Most suggestions of one code, so that one problem in many keys does not bury the others. */
const MAX_PER_CODE = 5

type Rule = (stats: SuggestionInput, t: SuggestionThresholds) => Suggestion[]

/** Busy keys missing often while written with a short ttl. */
export const expiredShortTtl: Rule = ({ topKeys }, t) =>
  topKeys
    .filter((k) => k.ttlMs !== undefined && k.ttlMs <= t.shortTtlMs && k.count - k.error >= t.minKeyLookups && k.misses / k.count >= t.keyMissShare)
    .map((k) => ({
      code: 'expired-short-ttl',
      severity: 'warning' as const,
      message:
        `key '${k.key}' in namespace '${k.namespace}' misses ${formatShare(k.misses / k.count)} of its ${k.count} lookups and is written with a ttl of ${formatTtl(k.ttlMs ?? 0)}: ` +
        'raise its ttl, or give it a grace period and read it with allowStale so that it is refreshed without a miss',
      namespace: k.namespace,
      key: k.key,
      ...(k.tenant === undefined ? {} : { tenant: k.tenant }),
    }))

/** Namespaces whose misses are mostly expiries. */
export const expiredMisses: Rule = ({ namespaces }, t) =>
  namespaces.flatMap((ns) => {
    const misses = sumReasons(ns.missReasons)
    const expired = ns.missReasons.expired
    if (ns.requests < t.minRequests || misses === 0 || expired / misses < t.expiredShare || ns.hitRatio >= 0.95) return []
    return [
      {
        code: 'expired-misses',
        severity: 'warning' as const,
        message:
          `${formatShare(expired / misses)} of the misses in namespace '${ns.namespace}' are expired entries (hit ratio ${formatShare(ns.hitRatio)}): ` +
          'its entries expire while still read; raise the ttl, or add grace with allowStale to refresh them in the background',
        ...nsFields(ns),
      },
    ]
  })

/** Writes and tiers of entries larger than `oversizedBytes`. */
export const oversizedEntries: Rule = ({ largestEntries, now }, t) => {
  const large: Suggestion[] = largestEntries
    .filter((e) => e.bytes >= t.oversizedBytes)
    .map((e) => ({
      code: 'oversized-entries',
      severity: 'warning' as const,
      message:
        `key '${e.key}' in namespace '${e.namespace}' was written with ${formatSize(e.bytes)}: every read moves and decodes all of it; ` +
        'cache a smaller projection of it, split it into several keys, or compress it',
      namespace: e.namespace,
      key: e.key,
      ...(e.tenant === undefined ? {} : { tenant: e.tenant }),
    }))
  for (const level of levels(now.tiers)) {
    const tier = now.tiers[level]
    if (tier?.entries === undefined || tier.bytes === undefined || tier.entries === 0) continue
    const average = tier.bytes / tier.entries
    if (average < t.oversizedBytes) continue
    large.push({
      code: 'oversized-entries',
      severity: 'warning',
      message:
        `entries in ${tierName(level, tier.kind)} average ${formatSize(average)}: large values crowd the tier and slow every read of them; ` +
        'cache smaller projections, split large values, or compress them',
      tier: level,
    })
  }
  return large
}

/** L1 dropping entries for room at a rate that costs hits. */
export const l1Evicting: Rule = ({ totals, now }, t) => {
  const l1 = totals.tiers.l1
  if (l1 === undefined) return []
  const forRoom = l1.evictions.size + l1.evictions.count
  const lookups = l1.hits + l1.misses
  if (lookups < t.minRequests || forRoom / Math.max(1, lookups) < t.evictionShare || l1.missReasons.evicted === 0) return []
  const bound = l1.evictions.size >= l1.evictions.count ? 'bytes (maxBytes, --l1-bytes)' : 'entries (maxEntries, --l1-entries)'
  const capacity = now.tiers.l1
  const held = capacity?.capacityEntries === undefined ? '' : ` (it holds at most ${capacity.capacityEntries} entries)`
  return [
    {
      code: 'l1-evicting',
      severity: 'info',
      message:
        `L1 evicted ${forRoom} entries for room, and ${l1.missReasons.evicted} lookups missed for it${held}: ` +
        `raise its bound on ${bound}, or keep fewer or smaller values in it`,
      tier: 'l1',
    },
  ]
}

/** Stale answers served, or origin calls failing, because the origin fails. */
export const failingOrigin: Rule = ({ namespaces }, t) =>
  namespaces.flatMap((ns) => {
    const failedStale = ns.staleReasons.factoryError + ns.staleReasons.timeout
    const staleShare = ns.requests === 0 ? 0 : failedStale / ns.requests
    const failedShare = ns.originCalls === 0 ? 0 : ns.originErrors / ns.originCalls
    const staleSignal = ns.requests >= t.minRequests && failedStale > 0 && staleShare >= t.failingStaleShare
    const failSignal = ns.originCalls >= 10 && failedShare >= t.failingOriginShare
    if (!staleSignal && !failSignal) return []
    const parts = [
      ...(failedStale > 0 ? [`served ${failedStale} stale answers (${formatShare(staleShare)} of its lookups) because its origin failed or timed out`] : []),
      ...(ns.originErrors > 0 ? [`${formatShare(failedShare)} of its ${ns.originCalls} origin calls failed or timed out`] : []),
    ]
    return [
      {
        code: 'failing-origin',
        severity: 'warning' as const,
        message:
          `namespace '${ns.namespace}' ${parts.join(', and ')}: the origin behind it is failing, and fail-safe is hiding it from callers; ` +
          'check the origin (its errors, latency, and the factory timeout)',
        ...nsFields(ns),
      },
    ]
  })

/** Shared tiers whose circuit keeps opening. */
export const circuitFlapping: Rule = ({ totals, now, range }, t) =>
  levels(totals.tiers).flatMap((level) => {
    const tier = totals.tiers[level]
    if (tier === undefined || tier.circuitOpens < t.circuitOpens) return []
    const name = tierName(level, now.tiers[level]?.kind)
    return [
      {
        code: 'circuit-flapping',
        severity: 'warning' as const,
        message:
          `the circuit of ${name} opened ${tier.circuitOpens} times in the last ${range} (${tier.errors} failed operations): the tier keeps failing or timing out; ` +
          `check its health and latency (p95 ${formatLatency(tier.latency.p95)}), or raise tierTimeout if it is merely slow`,
        tier: level,
      },
    ]
  })

/** Busy namespaces that the cache serves poorly, with the likely cause from their miss reasons. */
export const lowHitRatio: Rule = ({ namespaces }, t) =>
  namespaces.flatMap((ns) => {
    if (ns.requests < t.minRequests || ns.hitRatio >= t.lowHitRatio) return []
    const reasons = Object.entries(ns.missReasons) as [keyof NamespaceStats['missReasons'], number][]
    const [top] = reasons.sort((a, b) => b[1] - a[1])
    const advice: Record<string, string> = {
      absent: 'most misses find no entry at all: check that keys are stable (no timestamps or random parts) and reused, or stop caching this namespace',
      expired: 'most misses are expired entries: raise the ttl, or add grace with allowStale',
      invalidated: 'most misses follow invalidations: invalidate narrower tags, or fewer times',
      evicted: 'most misses are evicted entries: give L1 more room, or cache less in it',
      unavailable: 'most misses come from a tier that is down: check its health',
      suspended: 'most misses happen while L1 is suspended (the bus was deaf): check the Redis connection',
      unreadable: 'most misses are entries that could not be read: check the key ring (TIERCACHE_KEYS) and the codec',
      bypassed: 'most misses bypass tiers on purpose: check the security.tiers options',
    }
    return [
      {
        code: 'low-hit-ratio',
        severity: 'info' as const,
        message: `namespace '${ns.namespace}' answers ${formatShare(ns.hitRatio)} of its ${ns.requests} lookups from the cache; ${advice[top?.[0] ?? 'absent']}`,
        ...nsFields(ns),
      },
    ]
  })

const RULES: readonly Rule[] = [circuitFlapping, failingOrigin, expiredShortTtl, expiredMisses, oversizedEntries, l1Evicting, lowHitRatio]

/**
 * Every suggestion the report calls for, warnings first, at most {@link MAX_PER_CODE} of a code.
 * @param thresholds - overrides of {@link DEFAULT_THRESHOLDS}
 */
export function suggest(stats: SuggestionInput, thresholds: Partial<SuggestionThresholds> = {}): Suggestion[] {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds }
  const all = RULES.flatMap((rule) => rule(stats, t).slice(0, MAX_PER_CODE))
  return [...all.filter((s) => s.severity === 'warning'), ...all.filter((s) => s.severity === 'info')]
}

function sumReasons(reasons: Readonly<Record<string, number>>): number {
  let sum = 0
  for (const n of Object.values(reasons)) sum += n
  return sum
}

function nsFields(ns: NamespaceStats): Pick<Suggestion, 'namespace' | 'tenant'> {
  return { namespace: ns.namespace, ...(ns.tenant === undefined ? {} : { tenant: ns.tenant }) }
}

function levels(tiers: Partial<Record<TierLevel, unknown>>): TierLevel[] {
  return (['l1', 'l2', 'l3'] as const).filter((level) => tiers[level] !== undefined)
}

function formatLatency(p95: number | null): string {
  return p95 === null ? 'unknown' : p95 >= 1 ? `${p95.toFixed(2)} s` : `${(p95 * 1000).toFixed(1)} ms`
}
