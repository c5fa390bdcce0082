/**
 * Assembles a {@link StatsReport} from its sources: the history's window (totals and steps, every
 * instance summed) or, without history, this instance's live counters; this instance's live gauges
 * and tier health (`now`); its top keys; and the suggestions they call for.
 */
import type { MetricFamily, MetricsSnapshot } from '../../cache/instruments/snapshot.js'
import type { TierHealth } from '../../cache/stack-types.js'
import { type SuggestionThresholds, suggest } from '../suggestions.js'
import type { TopKeys } from '../top-keys.js'
import { type StatsNow, type StatsRange, type StatsReport, type StatsSeries, type TierLevel, TIER_LEVELS, type TopKeyItem, type LargeEntryItem } from './report.js'
import { Summary, share } from './summarize.js'

/** What the history answered for a range: the families' increase over it, and per step. */
export interface HistoryWindow {
  /** Start of the first step, epoch ms. */
  readonly from: number
  /** End of the last step, epoch ms (excluded). */
  readonly to: number
  readonly stepMs: number
  /** Instances that recorded rows in the window. */
  readonly instances: number
  /** Each counter's and histogram's increase over the whole window. */
  readonly total: readonly MetricFamily[]
  /** The same per step, oldest first; steps without rows may be absent. */
  readonly steps: readonly { readonly t: number; readonly families: readonly MetricFamily[] }[]
}

/** Who the report is for. */
export type ReportScope = { readonly tenant: string } | { readonly deployment: true }

/** The sources of {@link buildReport}. */
export interface ReportSources {
  readonly scope: ReportScope
  readonly range: StatsRange
  /** Only this namespace. */
  readonly namespace?: string
  /** The history of the range; undefined when none is kept (then the live counters stand in, since start). */
  readonly history: HistoryWindow | undefined
  /** This instance's instruments now. */
  readonly live: MetricsSnapshot
  readonly health: readonly TierHealth[]
  readonly bus: 'none' | 'listening' | 'deaf'
  readonly topKeys: TopKeys
  readonly thresholds?: Partial<SuggestionThresholds>
  /** @default Date.now() */
  readonly now?: number
}

/** Namespaces, top keys and large entries listed in a report. */
export const REPORT_LIST_LIMIT = 20

/** The report of `sources`; see report.ts for its fields. */
export function buildReport(sources: ReportSources): StatsReport {
  const { scope, range, history, live, topKeys } = sources
  const at = sources.now ?? Date.now()
  const tenant = 'tenant' in scope ? scope.tenant : undefined
  const summaryScope = { ...(tenant === undefined ? {} : { tenant }), ...(sources.namespace === undefined ? {} : { namespace: sources.namespace }) }
  const levels = TIER_LEVELS.filter((level) => sources.health.some((tier) => tier.level === level))
  const summary = new Summary(summaryScope, tenant === undefined).add(history?.total ?? live.families)
  const totals = summary.totals(levels)
  const namespaces = summary.namespaceStats(Number.MAX_SAFE_INTEGER)
  const now = nowOf(sources, live, at, tenant === undefined)
  const keys = topKeysOf(topKeys, tenant, sources.namespace)
  const largestEntries = largestOf(topKeys, tenant, sources.namespace)
  const suggestions = suggest({ range, totals, namespaces, now, topKeys: keys, largestEntries }, sources.thresholds)
  if (tenant !== undefined && !labelsTenants(live)) suggestions.unshift(TENANTS_UNLABELLED)
  return {
    scope: tenant === undefined ? { deployment: true } : { tenant },
    range,
    from: history?.from ?? topKeys.since,
    to: history?.to ?? at,
    stepMs: history?.stepMs ?? 0,
    instances: history?.instances ?? 1,
    history: history !== undefined,
    totals,
    namespaces: namespaces.slice(0, REPORT_LIST_LIMIT),
    series: history === undefined ? emptySeries() : seriesOf(history, summaryScope, levels),
    now,
    topKeys: keys,
    topKeysSince: topKeys.since,
    largestEntries,
    suggestions,
  }
}

/** Said in a tenant's report when the cache does not label its series by tenant: the figures then read as zero. */
const TENANTS_UNLABELLED = {
  code: 'tenants-unlabelled',
  severity: 'warning' as const,
  message:
    "this cache does not label its series by tenant, so a tenant's figures read as zero: create it with createCache({ metrics: { tenants: { max } } }) " +
    '(tiercache serve does), then restart the server',
}

/** False when the cache counted lookups but none under a `tenant` label (`metrics.tenants` is off). */
function labelsTenants(live: MetricsSnapshot): boolean {
  const requests = live.families.find((family) => family.name === 'tiercache_requests_total')
  if (requests === undefined || requests.samples.length === 0) return true
  return requests.samples.some((sample) => 'tenant' in sample.labels)
}

/** One point per step of the window, zeros where a step has no rows. */
function seriesOf(history: HistoryWindow, scope: { tenant?: string; namespace?: string }, levels: readonly TierLevel[]): StatsSeries {
  const series = emptySeries()
  const byStep = new Map(history.steps.map((step) => [step.t, step.families]))
  const costs = new Map<string, number[]>()
  let index = 0
  for (let t = history.from; t < history.to; t += history.stepMs, index++) {
    const totals = new Summary(scope, false).add(byStep.get(t) ?? []).totals(levels)
    series.t.push(t)
    series.requests.push(totals.requests)
    series.hits.push(totals.hits)
    series.staleHits.push(totals.staleHits)
    series.errors.push(totals.errors)
    series.hitRatio.overall.push(totals.hitRatio)
    series.latencyP95.getOrSet.push(totals.getOrSet.latency.p95)
    for (const level of TIER_LEVELS) {
      const tier = totals.tiers[level]
      series.hitRatio[level].push(share(tier?.hits ?? 0, totals.requests))
      series.latencyP95[level].push(tier?.latency.p95 ?? null)
    }
    series.originCalls.push(totals.origin.calls)
    for (const { unit, amount } of totals.origin.costSaved) {
      let values = costs.get(unit)
      if (values === undefined) costs.set(unit, (values = []))
      values[index] = amount
    }
  }
  for (const [unit, values] of [...costs].sort(([a], [b]) => a.localeCompare(b))) {
    series.costSaved.push({ unit, values: Array.from({ length: series.t.length }, (_, i) => values[i] ?? 0) })
  }
  return series
}

function emptySeries(): StatsSeries {
  return {
    t: [],
    requests: [],
    hits: [],
    staleHits: [],
    errors: [],
    hitRatio: { overall: [], l1: [], l2: [], l3: [] },
    latencyP95: { getOrSet: [], l1: [], l2: [], l3: [] },
    originCalls: [],
    costSaved: [],
  }
}

/** This instance's tiers and bus; entry counts and bytes only for a deployment report (they count every tenant's). */
function nowOf(sources: ReportSources, live: MetricsSnapshot, at: number, deployment: boolean): StatsNow {
  const gauge = (name: string, level: TierLevel): number | undefined => {
    const family = live.families.find((f) => f.name === name)
    if (family === undefined || family.type === 'histogram') return undefined
    return family.samples.find((sample) => sample.labels.tier === level)?.value
  }
  const tiers: StatsNow['tiers'] = {}
  for (const tier of sources.health) {
    const figures = {
      entries: gauge('tiercache_entries', tier.level),
      bytes: gauge('tiercache_bytes', tier.level),
      capacityEntries: gauge('tiercache_capacity_entries', tier.level),
      capacityBytes: gauge('tiercache_capacity_bytes', tier.level),
    }
    tiers[tier.level] = {
      kind: tier.kind,
      circuit: tier.circuit,
      healthy: tier.circuit === 'closed',
      ...(deployment ? definedOnly(figures) : {}),
    }
  }
  return { at, tiers, bus: sources.bus === 'none' ? null : { listening: sources.bus === 'listening' } }
}

function topKeysOf(topKeys: TopKeys, tenant: string | undefined, namespace: string | undefined): TopKeyItem[] {
  const all = tenant === undefined ? topKeys.topAcross(namespace === undefined ? REPORT_LIST_LIMIT : topKeys.capacity * topKeys.maxTenants) : topKeys.top(tenant, namespace === undefined ? REPORT_LIST_LIMIT : topKeys.capacity)
  return all.filter((hit) => namespace === undefined || hit.namespace === namespace).slice(0, REPORT_LIST_LIMIT)
}

function largestOf(topKeys: TopKeys, tenant: string | undefined, namespace: string | undefined): LargeEntryItem[] {
  const all = tenant === undefined ? topKeys.largestAcross(topKeys.maxTenants) : topKeys.largest(tenant)
  return all.filter((entry) => namespace === undefined || entry.namespace === namespace).slice(0, REPORT_LIST_LIMIT)
}

function definedOnly<T extends Record<string, number | undefined>>(figures: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(figures).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: number }
}
