import type { MetricsSnapshot } from '../../cache/instruments/snapshot.js'
import { InternalError, TierUnavailableError, isTiercacheError } from '../../errors.js'
import { type Flat, MINUTE_MS, flatten, minuteOf, rollupRows } from './rollup.js'
import type { HistoryStore } from './store.js'

const HOUR_MS = 3_600_000

/** How often old rows are pruned and compacted at most, ms: an hour's rows at a time, not a minute's. */
export const MAINTENANCE_INTERVAL_MS = HOUR_MS

/**
 * How long minute rows are kept before they are folded into hour rows, ms: longer than the longest
 * range read by the minute (24 h, in 5-minute steps), so that those ranges never see an hour row.
 */
export const MINUTE_ROWS_KEPT_MS = 26 * HOUR_MS

/**
 * How far back each compaction folds, ms, from {@link MINUTE_ROWS_KEPT_MS} ago: it runs every hour,
 * so a day of slack covers every instance being down for a day; older minute rows stay as they are
 * (correct, only larger) until the retention removes them.
 */
export const COMPACTION_WINDOW_MS = 24 * HOUR_MS

export interface RecorderOptions {
  readonly source: () => Promise<MetricsSnapshot>
  readonly instance: string
  readonly retentionMs: number
  /** Flush at every minute boundary on a timer that does not keep the process alive. */
  readonly timer: boolean
  readonly now: () => number
  readonly report: (error: Error) => void
}

/**
 * Writes the deltas of a source of snapshots, a minute at a time: each flush takes a snapshot, turns
 * what changed since the last written one into rows (rollup.ts) and writes them in one transaction.
 * Flushes run one at a time. The baseline moves only once a write succeeds, so a failed write loses
 * nothing: the next one carries its deltas too (in its own minute). Nothing here throws; failures go
 * to `report`.
 */
export class Recorder {
  private previous: Flat = new Map()
  /** Start of the interval the next flush covers, epoch ms. */
  private from: number
  private lastMaintenance = Number.NEGATIVE_INFINITY
  private chain: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly store: HistoryStore,
    private readonly options: RecorderOptions,
  ) {
    this.from = options.now()
    if (options.timer) this.schedule()
  }

  /**
   * Takes a snapshot and writes the rows of what changed since the last flush that was written.
   * @returns the rows written (0 when the flush failed and was reported, or the recorder is closed)
   */
  flush(): Promise<number> {
    if (this.closed) {
      this.options.report(new TierUnavailableError('cannot write the stats history: it is closed'))
      return Promise.resolve(0)
    }
    return this.enqueue()
  }

  /** Stops the timer, waits for the flush under way and writes a last one. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.chain.then(() => undefined)
    this.closed = true
    clearTimeout(this.timer)
    await this.enqueue()
  }

  private enqueue(): Promise<number> {
    const run = this.chain.then(() => this.write())
    this.chain = run
    return run
  }

  private async write(): Promise<number> {
    const to = this.options.now()
    let current: Flat
    try {
      current = flatten(await this.options.source())
    } catch (error) {
      this.options.report(isTiercacheError(error) ? error : new InternalError('cannot take a metrics snapshot for the stats history', { cause: error }))
      return 0
    }
    const rows = rollupRows(this.previous, current, minuteOf(this.from, to), this.options.instance)
    try {
      await this.store.write(rows)
    } catch (cause) {
      this.options.report(new TierUnavailableError('cannot write the stats history', { cause }))
      return 0
    }
    this.previous = current
    this.from = to
    if (to - this.lastMaintenance >= MAINTENANCE_INTERVAL_MS) {
      this.lastMaintenance = to
      await this.maintain(to)
    }
    return rows.length
  }

  /** Deletes the minutes past the retention, and folds older minutes into hours. */
  private async maintain(now: number): Promise<void> {
    const before = Math.floor((now - this.options.retentionMs) / MINUTE_MS) * MINUTE_MS
    const folded = Math.floor((now - MINUTE_ROWS_KEPT_MS) / HOUR_MS) * HOUR_MS
    try {
      await this.store.prune(before)
      if (folded > before) await this.store.compact(Math.max(folded - COMPACTION_WINDOW_MS, before), folded)
    } catch (cause) {
      this.options.report(new TierUnavailableError('cannot prune and compact the stats history', { cause }))
    }
  }

  // One timeout per minute, re-aimed at the next boundary each time, so that a slow flush or a
  // late timer does not drift the flushes off the minutes they cover.
  private schedule(): void {
    const delay = MINUTE_MS - (this.options.now() % MINUTE_MS)
    this.timer = setTimeout(() => {
      void this.enqueue().finally(() => {
        if (!this.closed) this.schedule()
      })
    }, delay)
    this.timer.unref()
  }
}
