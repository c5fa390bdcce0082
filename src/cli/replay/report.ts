import type { CacheStats, TierStats } from '../../index.js'
import { formatBytes, formatDuration, formatFields, formatInteger, formatPercent, formatTable } from '../format.js'
import type { LatencySummary } from './latency.js'

/** One tier's figures in a {@link ReplayReport}. Ratios are fractions (0..1) of all requests. */
export interface ReplayTierReport {
  /** False when the replay ran without this tier; its figures are then all zero. */
  readonly enabled: boolean
  /** Backend: `'memory'`, `'sqlite'`, `'postgres'`; null when disabled. */
  readonly kind: string | null
  /** Requests this tier answered. */
  readonly hits: number
  /** Requests that reached this tier and were not answered by it. */
  readonly misses: number
  /** hits / all requests (not / requests that reached the tier). */
  readonly hitRatio: number
  /** Entries written to the tier (origin results and backfills). */
  readonly writes: number
  /** Operations of the tier that failed; anything but 0 makes the figures suspect. */
  readonly errors: number
  /**
   * Entries of the replay's own namespace held at the end of the replay; null when disabled or not
   * countable. On an L3 of the caller's, the rows of other namespaces and applications are not counted.
   */
  readonly entries: number | null
}

/** How a replay was set up, echoed in its report. */
export interface ReplaySetup {
  /** The L1 bounds, or false without L1. */
  readonly l1: { readonly maxEntries: number; readonly maxBytes: number } | false
  /** `'none'`, `'sqlite (temporary file)'`, `'sqlite:<path>'` or `'postgres:<url without password>'`. */
  readonly l3: string
  /** Requests in flight at once. */
  readonly concurrency: number
  /** Delay of each origin call, ms. */
  readonly originLatencyMs: number
  /** Size of each value (a string of this many characters), bytes. */
  readonly valueBytes: number
  /** Most requests replayed; null for the whole trace. */
  readonly limit: number | null
  /** Request count and seed of a synthetic workload; null for a trace file. */
  readonly workload: { readonly requests: number; readonly seed: number } | null
}

/**
 * What a replay measured. Every ratio is a fraction (0..1) of all requests, so that
 * `tiers.l1.hitRatio + tiers.l3.hitRatio = overallHitRatio`.
 */
export interface ReplayReport {
  /** The trace file or workload spec replayed. */
  readonly trace: string
  readonly setup: ReplaySetup
  /** Requests made (each one `cache.getOrSet`). */
  readonly requests: number
  /** Distinct keys requested. */
  readonly uniqueKeys: number
  readonly tiers: { readonly l1: ReplayTierReport; readonly l3: ReplayTierReport }
  /** Requests answered by some tier. */
  readonly hits: number
  /** hits / requests. */
  readonly overallHitRatio: number
  /**
   * The best any cache could do on this trace, 1 − uniqueKeys / requests: every first request of a
   * key must go to the origin. With an unbounded L3, overallHitRatio + coalesced / requests reaches it.
   */
  readonly maxHitRatio: number
  /** Factory (origin) calls made. */
  readonly originCalls: number
  /** requests − originCalls: origin calls the cache spared. */
  readonly originCallsSaved: number
  /**
   * Requests that found a lookup of their key already in flight (L3 read or origin call) and shared
   * its result (single flight): neither hits nor origin calls. Only concurrency > 1 produces them;
   * run sequentially, most would have been L1 hits.
   */
  readonly coalesced: number
  /** Latency of each request, from the call of `getOrSet` to its answer (queueing included). */
  readonly latency: LatencySummary
  /** Wall time of the requests, ms (opening and closing the cache excluded). */
  readonly elapsedMs: number
  /** requests / elapsed, requests per second. */
  readonly throughput: number
}

/** What {@link buildReport} needs besides the cache's stats. */
export interface ReportInputs {
  readonly trace: string
  readonly setup: ReplaySetup
  readonly uniqueKeys: number
  readonly latency: LatencySummary
  readonly elapsedMs: number
}

/** Assembles a {@link ReplayReport} from the replayed cache's stats. */
export function buildReport(stats: CacheStats, inputs: ReportInputs): ReplayReport {
  const requests = stats.requests
  return {
    trace: inputs.trace,
    setup: inputs.setup,
    requests,
    uniqueKeys: inputs.uniqueKeys,
    tiers: { l1: tierReport(stats.tiers.l1), l3: tierReport(stats.tiers.l3) },
    hits: stats.hits,
    overallHitRatio: stats.hitRatio,
    maxHitRatio: requests === 0 ? 0 : 1 - inputs.uniqueKeys / requests,
    originCalls: stats.origin.calls,
    originCallsSaved: requests - stats.origin.calls,
    coalesced: stats.coalesced,
    latency: inputs.latency,
    elapsedMs: inputs.elapsedMs,
    throughput: inputs.elapsedMs === 0 ? 0 : requests / (inputs.elapsedMs / 1000),
  }
}

function tierReport(stats: TierStats | undefined): ReplayTierReport {
  if (stats === undefined) return { enabled: false, kind: null, hits: 0, misses: 0, hitRatio: 0, writes: 0, errors: 0, entries: null }
  const { kind, hits, misses, hitRatio, writes, errors } = stats
  return { enabled: true, kind, hits, misses, hitRatio, writes, errors, entries: stats.entries ?? null }
}

/** The report as a few aligned lines and a per-tier table, for people. */
export function formatReport(report: ReplayReport): string {
  const { setup, tiers } = report
  const l1 =
    setup.l1 === false ? 'none' : `memory, ${formatInteger(setup.l1.maxEntries)} entries / ${formatBytes(setup.l1.maxBytes)}`
  const header = formatFields([
    ['trace', report.trace + (setup.workload === null ? '' : ` (seed ${setup.workload.seed})`)],
    ['L1', l1],
    ['L3', setup.l3],
    [
      'origin',
      `${setup.originLatencyMs === 0 ? 'no delay' : `${formatDuration(setup.originLatencyMs)} per call`}, ${setup.valueBytes} B values, ${setup.concurrency} request${setup.concurrency === 1 ? '' : 's'} in flight`,
    ],
    ['requests', `${formatInteger(report.requests)} (${formatInteger(report.uniqueKeys)} unique keys)`],
  ])
  const rows: string[][] = [['tier', 'hits', 'misses', 'hit ratio', 'entries']]
  for (const [name, tier] of [['L1', tiers.l1], ['L3', tiers.l3]] as const) {
    if (!tier.enabled) continue
    rows.push([
      `${name} ${tier.kind ?? ''}`,
      formatInteger(tier.hits),
      formatInteger(tier.misses),
      formatPercent(tier.hitRatio),
      tier.entries === null ? '-' : formatInteger(tier.entries),
    ])
  }
  rows.push(['total', formatInteger(report.hits), '', formatPercent(report.overallHitRatio), ''])
  const { latency } = report
  const footer = formatFields([
    ['best possible', `${formatPercent(report.maxHitRatio)} (every key's first request misses)`],
    ['origin calls', `${formatInteger(report.originCalls)} (${formatInteger(report.originCallsSaved)} saved)`],
    ...(report.coalesced > 0
      ? [['coalesced', `${formatInteger(report.coalesced)} (joined a lookup of the same key in flight; see --concurrency)`] as const]
      : []),
    [
      'latency',
      `p50 ${formatDuration(latency.p50Ms)}, p90 ${formatDuration(latency.p90Ms)}, p99 ${formatDuration(latency.p99Ms)}, ` +
        `p99.9 ${formatDuration(latency.p999Ms)}, max ${formatDuration(latency.maxMs)}`,
    ],
    ['throughput', `${formatInteger(report.throughput)} requests/s`],
    ['elapsed', formatDuration(report.elapsedMs)],
  ])
  const warnings = [tiers.l1, tiers.l3]
    .filter((tier) => tier.errors > 0)
    .map((tier) => `warning: the ${tier.kind ?? ''} tier failed ${formatInteger(tier.errors)} times; its figures are not reliable`)
  return [header, '', formatTable(rows, ['left', 'right', 'right', 'right', 'right']), '(hit ratios are fractions of all requests)', '', footer, ...warnings].join('\n')
}
