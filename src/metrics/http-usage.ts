/**
 * How the HTTP cache served its responses, as a Prometheus family: `tiercache_http_responses_total`
 * of docs/metrics.md, read from an HTTP cache's counts (`httpCache.counts`) when scraped. This layer
 * sits below `http-cache/`, so the cache is described here by its shape only; `HttpCache` has it.
 */
import { Counter } from 'prom-client'
import { HTTP_RESPONSE_OUTCOMES, type HttpCountFigures, type HttpResponseOutcome } from './http-outcomes.js'
import type { AnyRegistry } from './prometheus.js'

export { HTTP_RESPONSE_OUTCOMES, type HttpCountFigures, type HttpResponseOutcome } from './http-outcomes.js'

/** What the HTTP figures are read from: an `HttpCache` (from `tiercache/http-cache`), or anything with its `counts`. */
export interface HttpUsageSource {
  readonly counts: {
    /** Every non-zero count, by route group then outcome. */
    rows(): readonly HttpCountFigures[]
  }
}

/** The HTTP family, by name, as docs/metrics.md lists it. */
export const HTTP_METRIC_CATALOGUE = [
  { name: 'tiercache_http_responses_total', help: 'Responses of the HTTP cache, by route group and how they were served (Cache-Status).' },
] as const

interface Value {
  value: number
  labels: { group: string; outcome: HttpResponseOutcome }
}

/** Every outcome of each group seen, at zero until counted, so that `rate()` has a series from a group's first response. */
function valuesOf(rows: readonly HttpCountFigures[]): Value[] {
  const groups = new Map<string, Map<HttpResponseOutcome, number>>()
  for (const row of rows) {
    const outcomes = groups.get(row.group) ?? new Map<HttpResponseOutcome, number>()
    outcomes.set(row.outcome, (outcomes.get(row.outcome) ?? 0) + row.count)
    groups.set(row.group, outcomes)
  }
  return [...groups].flatMap(([group, outcomes]) => HTTP_RESPONSE_OUTCOMES.map((outcome) => ({ value: outcomes.get(outcome) ?? 0, labels: { group, outcome } })))
}

/** A prom-client counter whose values are the HTTP cache's counts at scrape time. */
class HttpResponsesCounter extends Counter {
  constructor(
    registry: AnyRegistry,
    private readonly source: HttpUsageSource,
  ) {
    const [{ name, help }] = HTTP_METRIC_CATALOGUE
    super({ name, help, labelNames: ['group', 'outcome'], registers: [registry] })
  }

  override async get(): ReturnType<Counter['get']> {
    return { ...(await super.get()), values: valuesOf(this.source.counts.rows()) }
  }
}

/**
 * Registers `tiercache_http_responses_total{group,outcome}` in `registry`, reading
 * `source.counts.rows()` when scraped. The name must be free in the registry (see
 * `createPrometheusRegistry`, which checks).
 */
export function registerHttpMetrics(registry: AnyRegistry, source: HttpUsageSource): void {
  new HttpResponsesCounter(registry, source)
}
