/**
 * What the AI cache saved, as Prometheus families: the `tiercache_ai_*` counters of docs/metrics.md,
 * read from an AI cache's accounting (`aiCache.accounting`) when scraped. This layer sits below
 * `ai/`, so the accounting is described here by its shape only; `AiAccounting` has it.
 */
import { Counter } from 'prom-client'
import type { Labels } from '../cache/instruments/snapshot.js'
import type { AnyRegistry } from './prometheus.js'

/** How an answer was served, as the gateway's `x-tiercache-cache` says it. */
export const AI_ANSWER_STATUSES = ['HIT', 'SEMANTIC-HIT', 'STALE', 'MISS', 'REFRESH', 'BYPASS'] as const
export type AiAnswerStatus = (typeof AI_ANSWER_STATUSES)[number]

/** The statuses of the answers served from the cache: the hits of an AI hit ratio. */
export const AI_HIT_STATUSES: readonly AiAnswerStatus[] = ['HIT', 'SEMANTIC-HIT', 'STALE']
/** The statuses of the answers the upstream gave and the cache stored: the misses of an AI hit ratio (BYPASS is neither). */
export const AI_MISS_STATUSES: readonly AiAnswerStatus[] = ['MISS', 'REFRESH']

/** The figures of one namespace, tenant, model and cache type, as `AiAccounting.rows()` gives them. */
export interface AiUsageFigures {
  readonly namespace: string
  /** The tenant of the answers, `_public` for a view without one. */
  readonly tenant: string
  readonly model: string
  readonly cacheType: string
  /** Answers by how they were served. */
  readonly answers: Readonly<Partial<Record<AiAnswerStatus, number>>>
  readonly promptTokensSaved: number
  readonly completionTokensSaved: number
  /** US dollars saved, by the answers whose model has a price. */
  readonly costSavedUsd: number
}

/** What the AI figures are read from: an AI cache's `accounting`. */
export interface AiUsageSource {
  /** Every row, or those of one tenant; counted in this process since it started. */
  rows(tenant?: string): readonly AiUsageFigures[]
}

/** The AI families, by name, in the order of docs/metrics.md. */
export const AI_METRIC_CATALOGUE = [
  { name: 'tiercache_ai_answers_total', help: 'Answers of the AI cache, by how they were served (x-tiercache-cache).' },
  { name: 'tiercache_ai_tokens_saved_total', help: 'Tokens the answers served from the AI cache saved (the stored answer\'s usage), by kind.' },
  { name: 'tiercache_ai_cost_saved_usd_total', help: 'US dollars the answers served from the AI cache saved, for the models that have a price.' },
] as const

interface Value {
  value: number
  labels: Labels
}

const labelsOf = (row: AiUsageFigures): Labels => ({ namespace: row.namespace, tenant: row.tenant, model: row.model, cache_type: row.cacheType })

/** The series of each family, from the rows. */
const VALUES: Readonly<Record<(typeof AI_METRIC_CATALOGUE)[number]['name'], (rows: readonly AiUsageFigures[]) => Value[]>> = {
  tiercache_ai_answers_total: (rows) =>
    rows.flatMap((row) => AI_ANSWER_STATUSES.map((status) => ({ value: row.answers[status] ?? 0, labels: { ...labelsOf(row), status } }))),
  tiercache_ai_tokens_saved_total: (rows) =>
    rows.flatMap((row) => [
      { value: row.promptTokensSaved, labels: { ...labelsOf(row), kind: 'prompt' } },
      { value: row.completionTokensSaved, labels: { ...labelsOf(row), kind: 'completion' } },
    ]),
  tiercache_ai_cost_saved_usd_total: (rows) => rows.map((row) => ({ value: row.costSavedUsd, labels: labelsOf(row) })),
}

/** A prom-client counter whose values are the accounting's at scrape time. */
class AiUsageCounter extends Counter {
  constructor(
    name: string,
    help: string,
    registry: AnyRegistry,
    private readonly values: () => Value[],
  ) {
    super({ name, help, registers: [registry] })
  }

  override async get(): ReturnType<Counter['get']> {
    return { ...(await super.get()), values: this.values() }
  }
}

/**
 * Registers the `tiercache_ai_*` counters in `registry`, each reading `source.rows()` when scraped.
 * Every status of a row is present, at zero until it is counted; a model without a price keeps its
 * cost at 0. The names must be free in the registry (see `createPrometheusRegistry`, which checks).
 */
export function registerAiMetrics(registry: AnyRegistry, source: AiUsageSource): void {
  for (const { name, help } of AI_METRIC_CATALOGUE) new AiUsageCounter(name, help, registry, () => VALUES[name](source.rows()))
}
