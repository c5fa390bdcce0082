import type { Window } from './ranges.js'
import type { RollupRow } from './rollup.js'

export type { Window } from './ranges.js'

/** A counter series summed over every instance, over one step or over the whole window. */
export interface CounterSum {
  /** Start of the step, epoch ms; the window's start for sums over the whole window. */
  readonly step: number
  readonly metric: string
  /** Canonical JSON: the series' labels, or only its point labels (see `RollupRow.pointLabels`). */
  readonly labels: string
  readonly le: string
  /** A bucket's lower bound; null for the lowest bucket and for rows that are not buckets. */
  readonly lower: number | null
  readonly value: number
}

/** A gauge series over the instances: `total` their sum, `highest` their largest value. */
export interface GaugeValue {
  readonly step: number
  readonly metric: string
  readonly labels: string
  readonly total: number
  readonly highest: number
}

/**
 * `tiercache_metric_rollups` in one SQL dialect. Reads aggregate in SQL and read one resolution:
 * they return one row per step and point series (or per series, for the totals), whatever the
 * number of instances.
 */
export interface HistoryStore {
  /**
   * Writes one flush's rows in one transaction: a counter row adds to a row already stored for its
   * resolution, step, instance and series; a gauge row replaces it.
   */
  write(rows: readonly RollupRow[]): Promise<void>
  /** Deletes the rows of resolution `span` whose step starts before `before` (epoch ms); returns how many. */
  prune(span: number, before: number): Promise<number>
  /** Counter sums per step and point series (histograms' buckets, sums and counts among them). */
  points(window: Window): Promise<CounterSum[]>
  /** Counter sums over the whole window per series, with all its labels. */
  totals(window: Window): Promise<CounterSum[]>
  /** Gauges per step and series. */
  gauges(window: Window): Promise<GaugeValue[]>
  /**
   * Gauges now: each instance's newest minute row in `[since, until)`, summed over the instances
   * (`step` is `until`). Only a tenant's series when `tenant` is set.
   */
  latestGauges(since: number, until: number, tenant?: string): Promise<GaugeValue[]>
  /** How many instances wrote rows in the window. */
  instances(window: Window): Promise<number>
  close(): Promise<void>
}
