/**
 * What the AI cache saved: tokens and money per namespace, tenant, model and cache type. An answer
 * served from the cache saved the tokens the upstream billed when it produced it (the `usage` of the
 * stored completion), priced per model.
 */

/** A model's price, US dollars per million tokens, as providers list them. */
export interface ModelPrice {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
}

/**
 * Prices by model. A model is priced by its own name, else by the longest name here that it starts
 * with, so that `gpt-4o-mini` prices `gpt-4o-mini-2024-07-18`.
 */
export type Prices = Readonly<Record<string, ModelPrice>>

/** What one answer saved; `costUsd` is absent when its model has no price. */
export interface Saving {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly costUsd?: number
}

/** How an answer was served, as `x-tiercache-cache` says it. */
export type AnswerStatus = 'HIT' | 'SEMANTIC-HIT' | 'STALE' | 'MISS' | 'REFRESH' | 'BYPASS'

/** The figures of one namespace, tenant, model and cache type. */
export interface AiUsageRow {
  readonly namespace: string
  /** The tenant of the answers, `_public` for a view without one. */
  readonly tenant: string
  readonly model: string
  readonly cacheType: string
  /** Answers by how they were served. */
  readonly answers: Readonly<Record<AnswerStatus, number>>
  readonly promptTokensSaved: number
  readonly completionTokensSaved: number
  /** Dollars saved by the answers whose model has a price. */
  readonly costSavedUsd: number
}

/** Where an answer belongs. */
export interface AnswerLabels {
  readonly namespace: string
  readonly tenant: string
  readonly model: string
  readonly cacheType: string
}

/** The model that rows beyond {@link AiAccounting}'s bound are counted under. */
export const OTHER_MODEL = '_other'

const STATUSES: readonly AnswerStatus[] = ['HIT', 'SEMANTIC-HIT', 'STALE', 'MISS', 'REFRESH', 'BYPASS']

type MutableRow = { -readonly [K in keyof AiUsageRow]: K extends 'answers' ? Record<AnswerStatus, number> : AiUsageRow[K] }

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0)

/** Counts answers and what they saved; bounded to `maxRows` rows (further models count as `_other`). */
export class AiAccounting {
  readonly #rows = new Map<string, MutableRow>()
  readonly #prices: readonly (readonly [string, ModelPrice])[]

  constructor(
    prices: Prices = {},
    readonly maxRows = 10_000,
  ) {
    // Longest names first, so that the first prefix found is the longest.
    this.#prices = Object.entries(prices).sort(([a], [b]) => b.length - a.length)
  }

  /** The price of `model`: its own, else the longest priced name it starts with. */
  priceOf(model: string): ModelPrice | undefined {
    return this.#prices.find(([name]) => model === name)?.[1] ?? this.#prices.find(([name]) => model.startsWith(name))?.[1]
  }

  /**
   * What serving `completion` from the cache saved: its `usage`, priced (`prompt_tokens` and
   * `completion_tokens`, or the Responses API's `input_tokens` and `output_tokens`). Undefined without usage.
   */
  savingOf(model: string, completion: unknown): Saving | undefined {
    type Usage = { prompt_tokens?: unknown; completion_tokens?: unknown; input_tokens?: unknown; output_tokens?: unknown }
    const usage = (completion as { usage?: Usage } | null)?.usage
    if (typeof usage !== 'object' || usage === null) return undefined
    const promptTokens = count(usage.prompt_tokens ?? usage.input_tokens)
    const completionTokens = count(usage.completion_tokens ?? usage.output_tokens)
    const price = this.priceOf(model)
    if (price === undefined) return { promptTokens, completionTokens }
    return { promptTokens, completionTokens, costUsd: (promptTokens * price.inputPerMillion + completionTokens * price.outputPerMillion) / 1e6 }
  }

  /** Counts one answer, and what it saved when it was served from the cache. */
  record(labels: AnswerLabels, status: AnswerStatus, saving: Saving | undefined): void {
    const row = this.#rowOf(labels)
    row.answers[status]++
    if (saving === undefined) return
    row.promptTokensSaved += saving.promptTokens
    row.completionTokensSaved += saving.completionTokens
    row.costSavedUsd += saving.costUsd ?? 0
  }

  /** The rows, of one tenant when `tenant` is given; copies. */
  rows(tenant?: string): AiUsageRow[] {
    const rows = [...this.#rows.values()].filter((row) => tenant === undefined || row.tenant === tenant)
    return rows.map((row) => ({ ...row, answers: { ...row.answers } }))
  }

  #rowOf(labels: AnswerLabels): MutableRow {
    // NUL cannot occur in a namespace, tenant or cache type, so the id is unambiguous.
    const id = `${labels.namespace}\u0000${labels.tenant}\u0000${labels.cacheType}\u0000${labels.model}`
    const row = this.#rows.get(id)
    if (row !== undefined) return row
    if (this.#rows.size >= this.maxRows && labels.model !== OTHER_MODEL) return this.#rowOf({ ...labels, model: OTHER_MODEL })
    const created: MutableRow = {
      ...labels,
      answers: Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<AnswerStatus, number>,
      promptTokensSaved: 0,
      completionTokensSaved: 0,
      costSavedUsd: 0,
    }
    this.#rows.set(id, created)
    return created
  }
}
