/**
 * What `GET /v1/stats` answers: the report of a scope over a range (see docs/stats.md), from the
 * stats history, this instance's instruments, and the top keys the entry routes feed.
 */
import type { Cache } from '../cache/cache.js'
import { CacheClosedError } from '../errors.js'
import type { AiUsageSource } from '../metrics/ai-usage.js'
import type { HttpUsageSource } from '../metrics/http-usage.js'
import { aiStatsOf } from '../metrics/stats/ai.js'
import { httpStatsOf } from '../metrics/stats/http.js'
import { type ReportScope, buildReport } from '../metrics/stats/build.js'
import type { StatsHistory } from '../metrics/stats/history.js'
import type { StatsRange, StatsReport } from '../metrics/stats/report.js'
import type { SuggestionThresholds } from '../metrics/suggestions.js'
import { TopKeys, type TopKeysOptions } from '../metrics/top-keys.js'

/** Options of {@link ServerStats}. */
export interface ServerStatsOptions {
  /**
   * The stats history the reports read ranges from (see `openStatsHistory`); without it, reports
   * count this instance since it started. {@link buildServer}'s caller keeps owning it;
   * `startServer` closes it when the app closes (before the cache: its last flush reads the cache).
   */
  readonly history?: StatsHistory
  /** Bounds of the top-keys sketches. */
  readonly topKeys?: TopKeysOptions
  /** Overrides of the suggestions' thresholds. */
  readonly thresholds?: Partial<SuggestionThresholds>
  /**
   * How old this instance's part of a report may be, ms: a report first flushes the history when no
   * report has for this long, so that the figures include this instance's last seconds, not only the
   * minutes the history recorded (other instances' lag up to their minute). @default 5000
   */
  readonly freshnessMs?: number
}

/** Default of {@link ServerStatsOptions.freshnessMs}. */
export const DEFAULT_STATS_FRESHNESS_MS = 5000

/** The server's statistics: its top keys, and the reports of `/v1/stats`. */
export class ServerStats {
  readonly topKeys: TopKeys
  private flushedAt = Number.NEGATIVE_INFINITY
  private flushing: Promise<unknown> | undefined

  /**
   * @param ai - the AI cache's accounting (`aiCache.accounting`): reports then have an `ai` section,
   *   the scope's rows (a tenant's, or every tenant's in a deployment report)
   * @param http - the HTTP cache (`HttpCache`): deployment reports then have an `http` section. Its
   *   responses are the public scope's, no tenant's: a tenant's report does not show them
   */
  constructor(
    private readonly cache: Cache,
    private readonly options: ServerStatsOptions = {},
    private readonly ai?: AiUsageSource,
    private readonly http?: HttpUsageSource,
  ) {
    this.topKeys = new TopKeys(options.topKeys)
  }

  /**
   * The report of `scope` over `range`, for `namespace` only when given.
   * @throws CacheClosedError once the cache is closed; what the history's read throws
   */
  async report(scope: ReportScope, range: StatsRange, namespace?: string): Promise<StatsReport> {
    const { cache, options } = this
    if (cache.closed) throw new CacheClosedError('cache is closed')
    const tenant = 'tenant' in scope ? scope.tenant : undefined
    await this.freshen()
    const [live, history] = await Promise.all([cache.metrics(), options.history?.window({ range, ...(tenant === undefined ? {} : { tenant }) })])
    const report = buildReport({
      scope,
      range,
      ...(namespace === undefined ? {} : { namespace }),
      history,
      live,
      health: cache.health(),
      bus: cache.busState,
      topKeys: this.topKeys,
      ...(options.thresholds === undefined ? {} : { thresholds: options.thresholds }),
    })
    const ai = this.ai === undefined ? undefined : aiStatsOf(this.ai.rows(tenant), { ...(namespace === undefined ? {} : { namespace }), withTenant: tenant === undefined })
    const http = this.http === undefined || tenant !== undefined ? undefined : httpStatsOf(this.http.counts.rows())
    return { ...report, ...(ai === undefined ? {} : { ai }), ...(http === undefined ? {} : { http }) }
  }

  /** Flushes the history when no report did for `freshnessMs`; concurrent reports share one flush. */
  private async freshen(): Promise<void> {
    const history = this.options.history
    if (history === undefined) return
    if (this.flushing === undefined && Date.now() - this.flushedAt >= (this.options.freshnessMs ?? DEFAULT_STATS_FRESHNESS_MS)) {
      this.flushedAt = Date.now()
      this.flushing = history.flush().finally(() => (this.flushing = undefined))
    }
    await this.flushing
  }
}
