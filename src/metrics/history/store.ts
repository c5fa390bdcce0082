import type { RollupRow } from './rollup.js'

/** Minutes `[from, to)`, read in steps of `stepMs`; only a tenant's series when `tenant` is set. */
export interface Window {
  /** Epoch ms, a multiple of `stepMs`. */
  readonly from: number
  /** Epoch ms, a multiple of `stepMs`; excluded. */
  readonly to: number
  /** A multiple of a minute. */
  readonly stepMs: number
  readonly tenant?: string
}

/** A counter series summed over every instance and minute of one step. */
export interface CounterSum {
  /** Start of the step, epoch ms. */
  readonly step: number
  readonly metric: string
  /** Canonical JSON. */
  readonly labels: string
  readonly le: string
  /** A bucket's lower bound; null for the lowest bucket and for rows that are not buckets. */
  readonly lower: number | null
  readonly value: number
}

/**
 * A gauge series over one step: per minute, the sum and the largest value over the instances that
 * wrote it; then each averaged over the minutes of the step that have it.
 */
export interface GaugeValue {
  readonly step: number
  readonly metric: string
  readonly labels: string
  readonly total: number
  readonly highest: number
}

/**
 * `tiercache_metric_rollups` in one SQL dialect. Reads aggregate in SQL: they return one row per
 * step and series, whatever the number of instances and minutes.
 */
export interface HistoryStore {
  /**
   * Writes one flush's rows in one transaction: a counter row adds to a row already stored for its
   * minute, instance and series; a gauge row replaces it.
   */
  write(rows: readonly RollupRow[]): Promise<void>
  /** Deletes the rows of minutes before `before` (epoch ms); returns how many went. */
  prune(before: number): Promise<number>
  /**
   * Folds the rows of `[from, to)` (whole hours, epoch ms) into one row per hour, instance and series,
   * stored at the hour's start: counters summed, gauges averaged. One transaction, serialized with
   * other instances' compactions; folding an hour again changes nothing. Returns how many rows fewer.
   */
  compact(from: number, to: number): Promise<number>
  /** Counter sums per step and series (histograms' buckets, sums and counts among them). */
  counters(window: Window): Promise<CounterSum[]>
  /** Gauges per step and series. */
  gauges(window: Window): Promise<GaugeValue[]>
  /** Gauges of the newest minute of the window that has any, with that minute as `step`. */
  latestGauges(window: Window): Promise<GaugeValue[]>
  /** How many instances wrote rows in the window. */
  instances(window: Window): Promise<number>
  close(): Promise<void>
}
