/**
 * Figures of a report from metric families (docs/metrics.md): the increase of every counter and
 * histogram over a window, whether the history summed it over minutes and instances or a live
 * snapshot holds it since the cache started. One pass over the families; nothing here knows where
 * they came from.
 *
 * Scope: with `tenant`, only series labelled with that tenant count among the namespace series
 * (requests, hits, misses, origin calls, ...); series without a namespace (tier reads, errors,
 * circuits) are the shared tiers' and count whatever the scope. Without `tenant`, everything counts.
 */
import type { HistogramFamily, Labels, MetricFamily } from '../../cache/instruments/snapshot.js'
import { quantilesOf } from '../history/quantile.js'
import type { Latency, MissReasons, NamespaceStats, StatsTotals, TierLevel, TierTotals } from './report.js'

/** Which series count. */
export interface SummaryScope {
  /** Only this tenant's namespace series; all when undefined. */
  readonly tenant?: string
  /** Only this namespace's series (and those of removals that reached every namespace). */
  readonly namespace?: string
}

/** Histogram observations added up, with the bounds they were counted in. */
interface Buckets {
  bounds: readonly number[]
  counts: number[]
  sum: number
}

const LEVEL_INDEX: Readonly<Record<string, 0 | 1 | 2>> = { l1: 0, l2: 1, l3: 2 }

const missZero = (): MissReasons => ({ absent: 0, expired: 0, invalidated: 0, evicted: 0, unavailable: 0, suspended: 0, unreadable: 0, bypassed: 0 })
const staleZero = () => ({ requested: 0, factoryError: 0, timeout: 0 })
const evictionZero = () => ({ size: 0, count: 0, expired: 0 })

/** One namespace's accumulators. */
interface NamespaceAcc {
  namespace: string
  tenant: string | undefined
  requests: number
  hits: number
  staleHits: number
  staleReasons: ReturnType<typeof staleZero>
  missReasons: MissReasons
  /** Set writes per tier, l1 to l3: a set reaches every tier, so the namespace's writes are the largest. */
  writes: [number, number, number]
  evictions: ReturnType<typeof evictionZero>
  originCalls: number
  originErrors: number
  saved: number
  cost: Map<string, number>
  getOrSet: Buckets | undefined
}

interface TierAcc {
  hits: number
  misses: number
  missReasons: MissReasons
  evictions: ReturnType<typeof evictionZero>
  writes: number
  errors: number
  circuitOpens: number
  reads: Buckets | undefined
}

/** Everything a report needs of a window's families, before ratios and quantiles. */
export class Summary {
  readonly namespaces = new Map<string, NamespaceAcc>()
  readonly tiers = new Map<TierLevel, TierAcc>()
  deletes = 0
  coalesced = 0
  originTimeouts = 0
  readonly invalidations = { key: 0, tags: 0, clear: 0, scope: 0 }
  getOrSet: Buckets | undefined
  origin: Buckets | undefined

  constructor(
    private readonly scope: SummaryScope,
    /** Keep namespaces apart by tenant too (a deployment report). */
    private readonly byTenant: boolean,
  ) {}

  /** Adds every family of a window. */
  add(families: readonly MetricFamily[]): this {
    for (const family of families) {
      if (family.type === 'histogram') this.addHistogram(family)
      else if (family.type === 'counter') for (const { labels, value } of family.samples) this.addCounter(family.name, labels, value)
    }
    return this
  }

  private counts(labels: Labels): boolean {
    const namespace = labels.namespace
    if (namespace === undefined) return true
    if (this.scope.tenant !== undefined && labels.tenant !== this.scope.tenant) return false
    return this.scope.namespace === undefined || namespace === this.scope.namespace || namespace === '*'
  }

  private ns(labels: Labels): NamespaceAcc {
    const namespace = labels.namespace ?? ''
    const tenant = this.byTenant ? labels.tenant : undefined
    const id = tenant === undefined ? namespace : `${tenant}\u0000${namespace}`
    let acc = this.namespaces.get(id)
    if (acc === undefined) {
      acc = {
        namespace,
        tenant,
        requests: 0,
        hits: 0,
        staleHits: 0,
        staleReasons: staleZero(),
        missReasons: missZero(),
        writes: [0, 0, 0],
        evictions: evictionZero(),
        originCalls: 0,
        originErrors: 0,
        saved: 0,
        cost: new Map(),
        getOrSet: undefined,
      }
      this.namespaces.set(id, acc)
    }
    return acc
  }

  private tier(labels: Labels): TierAcc | undefined {
    const level = labels.tier
    if (level !== 'l1' && level !== 'l2' && level !== 'l3') return undefined
    let acc = this.tiers.get(level)
    if (acc === undefined) {
      acc = { hits: 0, misses: 0, missReasons: missZero(), evictions: evictionZero(), writes: 0, errors: 0, circuitOpens: 0, reads: undefined }
      this.tiers.set(level, acc)
    }
    return acc
  }

  private addCounter(name: string, labels: Labels, value: number): void {
    if (!this.counts(labels)) return
    switch (name) {
      case 'tiercache_requests_total':
        this.ns(labels).requests += value
        break
      case 'tiercache_hits_total': {
        this.ns(labels).hits += value
        const tier = this.tier(labels)
        if (tier !== undefined) tier.hits += value
        break
      }
      case 'tiercache_stale_hits_total': {
        const ns = this.ns(labels)
        ns.staleHits += value
        if (labels.reason === 'factory-error') ns.staleReasons.factoryError += value
        else if (labels.reason === 'timeout') ns.staleReasons.timeout += value
        else ns.staleReasons.requested += value
        break
      }
      case 'tiercache_misses_total': {
        const reason = labels.reason as keyof MissReasons | undefined
        const ns = this.ns(labels)
        if (reason !== undefined && reason in ns.missReasons) ns.missReasons[reason] += value
        const tier = this.tier(labels)
        if (tier === undefined) break
        tier.misses += value
        if (reason !== undefined && reason in tier.missReasons) tier.missReasons[reason] += value
        break
      }
      case 'tiercache_writes_total': {
        if (labels.kind !== 'set') break
        const index = LEVEL_INDEX[labels.tier ?? '']
        if (index !== undefined) this.ns(labels).writes[index] += value
        const tier = this.tier(labels)
        if (tier !== undefined) tier.writes += value
        break
      }
      case 'tiercache_deletes_total':
        this.deletes += value
        break
      case 'tiercache_invalidations_total': {
        const kind = labels.kind as keyof Summary['invalidations'] | undefined
        if (kind !== undefined && kind in this.invalidations) this.invalidations[kind] += value
        break
      }
      case 'tiercache_evictions_total': {
        const reason = labels.reason as keyof TierAcc['evictions'] | undefined
        if (reason === undefined || !(reason in evictionZero())) break
        this.ns(labels).evictions[reason] += value
        const tier = this.tier(labels)
        if (tier !== undefined) tier.evictions[reason] += value
        break
      }
      case 'tiercache_coalesced_total':
        this.coalesced += value
        break
      case 'tiercache_errors_total': {
        const tier = this.tier(labels)
        if (tier !== undefined) tier.errors += value
        break
      }
      case 'tiercache_circuit_changes_total': {
        const tier = this.tier(labels)
        if (tier !== undefined && labels.state === 'open') tier.circuitOpens += value
        break
      }
      case 'tiercache_origin_calls_total': {
        const ns = this.ns(labels)
        ns.originCalls += value
        if (labels.outcome === 'error' || labels.outcome === 'timeout') ns.originErrors += value
        if (labels.outcome === 'timeout') this.originTimeouts += value
        break
      }
      case 'tiercache_origin_calls_saved_total':
        this.ns(labels).saved += value
        break
      case 'tiercache_origin_cost_saved_total': {
        const ns = this.ns(labels)
        const unit = labels.unit ?? ''
        ns.cost.set(unit, (ns.cost.get(unit) ?? 0) + value)
        break
      }
    }
  }

  private addHistogram(family: HistogramFamily): void {
    for (const sample of family.samples) {
      if (!this.counts(sample.labels)) continue
      const add = (into: Buckets | undefined): Buckets => {
        const acc = into ?? { bounds: family.buckets, counts: new Array<number>(family.buckets.length + 1).fill(0), sum: 0 }
        sample.counts.forEach((n, i) => (acc.counts[i] = (acc.counts[i] ?? 0) + n))
        acc.sum += sample.sum
        return acc
      }
      if (family.name === 'tiercache_tier_read_duration_seconds') {
        const tier = this.tier(sample.labels)
        if (tier !== undefined) tier.reads = add(tier.reads)
      } else if (family.name === 'tiercache_get_or_set_duration_seconds') {
        this.getOrSet = add(this.getOrSet)
        const ns = this.ns(sample.labels)
        ns.getOrSet = add(ns.getOrSet)
      } else if (family.name === 'tiercache_origin_duration_seconds') {
        this.origin = add(this.origin)
      }
    }
  }

  /** The totals of the scope. */
  totals(levels: readonly TierLevel[]): StatsTotals {
    let requests = 0
    let hits = 0
    let staleHits = 0
    let calls = 0
    let failed = 0
    let saved = 0
    const staleReasons = staleZero()
    const missReasons = missZero()
    const evictions = evictionZero()
    const cost = new Map<string, number>()
    for (const ns of this.namespaces.values()) {
      requests += ns.requests
      hits += ns.hits
      staleHits += ns.staleHits
      calls += ns.originCalls
      failed += ns.originErrors
      saved += ns.saved
      addInto(staleReasons, ns.staleReasons)
      addInto(missReasons, ns.missReasons)
      addInto(evictions, ns.evictions)
      for (const [unit, amount] of ns.cost) cost.set(unit, (cost.get(unit) ?? 0) + amount)
    }
    const tiers: Partial<Record<TierLevel, TierTotals>> = {}
    let errors = 0
    let writes = 0
    for (const level of levels) {
      const t = this.tiers.get(level)
      errors += t?.errors ?? 0
      writes = Math.max(writes, t?.writes ?? 0)
      tiers[level] = {
        hits: t?.hits ?? 0,
        misses: t?.misses ?? 0,
        hitRatio: share(t?.hits ?? 0, (t?.hits ?? 0) + (t?.misses ?? 0)),
        served: share(t?.hits ?? 0, requests),
        missReasons: t?.missReasons ?? missZero(),
        evictions: t?.evictions ?? evictionZero(),
        errors: t?.errors ?? 0,
        circuitOpens: t?.circuitOpens ?? 0,
        latency: latencyOf(t?.reads),
      }
    }
    return {
      requests,
      hits,
      misses: Math.max(0, requests - hits),
      hitRatio: share(hits, requests),
      staleHits,
      staleReasons,
      missReasons,
      tiers,
      getOrSet: { latency: latencyOf(this.getOrSet) },
      origin: {
        calls,
        errors: failed - this.originTimeouts,
        timeouts: this.originTimeouts,
        saved,
        costSaved: costList(cost),
        latency: latencyOf(this.origin),
      },
      writes,
      deletes: this.deletes,
      invalidations: { ...this.invalidations },
      evictions,
      coalesced: this.coalesced,
      errors,
    }
  }

  /** Every namespace with traffic, busiest (most lookups, then most writes) first, at most `limit`. */
  namespaceStats(limit: number): NamespaceStats[] {
    return [...this.namespaces.values()]
      .filter((ns) => ns.namespace !== '*' && ns.requests + Math.max(...ns.writes) + ns.originCalls + ns.saved > 0)
      .sort((a, b) => b.requests - a.requests || b.originCalls - a.originCalls || a.namespace.localeCompare(b.namespace))
      .slice(0, limit)
      .map((ns) => ({
        namespace: ns.namespace,
        ...(ns.tenant === undefined ? {} : { tenant: ns.tenant }),
        requests: ns.requests,
        hits: ns.hits,
        hitRatio: share(ns.hits, ns.requests),
        staleHits: ns.staleHits,
        staleReasons: ns.staleReasons,
        missReasons: ns.missReasons,
        writes: Math.max(...ns.writes),
        evictions: ns.evictions,
        originCalls: ns.originCalls,
        originErrors: ns.originErrors,
        saved: ns.saved,
        costSaved: costList(ns.cost),
        getOrSetP95: latencyOf(ns.getOrSet).p95,
      }))
  }
}

/** `part / whole`, 0 when whole is 0, clamped to [0, 1]. */
export function share(part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.min(1, Math.max(0, part / whole))
}

/** Quantiles of summed buckets; nulls when nothing was observed. */
export function latencyOf(buckets: Buckets | undefined): Latency {
  if (buckets === undefined) return { p50: null, p95: null, p99: null, count: 0 }
  const q = quantilesOf(buckets.bounds, buckets.counts, buckets.sum)
  return { p50: q.p50, p95: q.p95, p99: q.p99, count: q.count }
}

function costList(cost: ReadonlyMap<string, number>): { unit: string; amount: number }[] {
  return [...cost].map(([unit, amount]) => ({ unit, amount })).sort((a, b) => a.unit.localeCompare(b.unit))
}

function addInto<T extends Record<string, number>>(into: T, from: Readonly<T>): void {
  for (const name of Object.keys(from) as (keyof T)[]) (into[name] as number) += from[name]
}
