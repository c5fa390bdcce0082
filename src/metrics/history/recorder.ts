import type { MetricsSnapshot } from '../../cache/instruments/snapshot.js'
import { InternalError, TierUnavailableError, isTiercacheError } from '../../errors.js'
import { SPANS } from './ranges.js'
import { type Flat, MINUTE_MS, flatten, inEverySpan, minuteOf, rollupRows } from './rollup.js'
import type { HistoryStore } from './store.js'

/** How often old rows are pruned at most, ms: an hour's rows at a time, not a minute's. */
export const PRUNE_INTERVAL_MS = 3_600_000

/**
 * What a recorder needs: `source` (the cache's `metrics()`), this process's `instance` id, the
 * `retentionMs` of the coarsest rows, and the rest as the history that makes it passes them.
 */
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
 * what changed since the last written one into rows (rollup.ts), adds them to their minute and to
 * the coarser steps that hold it, and writes all of it in one transaction.
 * Flushes run one at a time. The baseline moves only once a write succeeds, so a failed write loses
 * nothing: the next one carries its deltas too (in its own minute). Nothing here throws; failures go
 * to `report`.
 */
export class Recorder {
  private previous: Flat = new Map()
  /** Start of the interval the next flush covers, epoch ms. */
  private from: number
  private lastPrune = Number.NEGATIVE_INFINITY
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
      await this.store.write(inEverySpan(rows))
    } catch (cause) {
      this.options.report(new TierUnavailableError('cannot write the stats history', { cause }))
      return 0
    }
    this.previous = current
    this.from = to
    if (to - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = to
      await this.prune(to)
    }
    return rows.length
  }

  /** Deletes each resolution's steps that no range reads any more, and all past the retention. */
  private async prune(now: number): Promise<void> {
    try {
      for (const { spanMs, keepMs } of SPANS) {
        const keep = Math.min(keepMs, this.options.retentionMs)
        await this.store.prune(spanMs, Math.floor((now - keep) / spanMs) * spanMs)
      }
    } catch (cause) {
      this.options.report(new TierUnavailableError('cannot prune the stats history', { cause }))
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
