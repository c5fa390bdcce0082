/**
 * The `ai` section of a statistics report (docs/stats.md): what the AI cache answered and saved, per
 * namespace, model and cache type, and in total. Read from the AI cache's accounting, which counts
 * in this process since it started: these figures are this instance's, not the range's.
 */
import { z } from 'zod'
import { AI_ANSWER_STATUSES, AI_HIT_STATUSES, AI_MISS_STATUSES, type AiAnswerStatus, type AiUsageFigures } from '../ai-usage.js'

const count = z.number().nonnegative()
const ratio = z.number().min(0).max(1).describe('A fraction, 0 to 1; 0 when there was nothing to divide.')

/** Answers by how they were served, as `x-tiercache-cache` says it. */
export const aiAnswersSchema = z.object(Object.fromEntries(AI_ANSWER_STATUSES.map((status) => [status, count])) as Record<AiAnswerStatus, typeof count>)

/** Rows listed in a report's `ai` section. */
export const AI_ROW_LIMIT = 50

/** The figures every row and the totals have. */
const figures = {
  answers: aiAnswersSchema,
  hits: count.describe('HIT + SEMANTIC-HIT + STALE: answers served from the cache.'),
  misses: count.describe('MISS + REFRESH: answers the upstream gave, stored.'),
  hitRatio: ratio.describe('hits / (hits + misses): of every answer but BYPASS.'),
  promptTokensSaved: count.describe('Prompt tokens of the answers served from the cache (the stored answer\'s usage).'),
  completionTokensSaved: count,
  tokensSaved: count.describe('promptTokensSaved + completionTokensSaved.'),
  costSavedUsd: count.describe('US dollars those tokens cost, for the models that have a price (0 for the others).'),
}

/** One namespace, model and cache type (and tenant, in a deployment report). */
export const aiRowSchema = z.object({
  namespace: z.string(),
  tenant: z.string().optional().describe('In a deployment report: the tenant of the answers (`_public` for a view without one).'),
  model: z.string().describe("As the requests name it; `_other` past the accounting's bound of rows."),
  cacheType: z.string(),
  ...figures,
})

/** The `ai` section of `GET /v1/stats`: present when the server has an AI gateway. */
export const aiStatsSchema = z
  .object({
    rows: z.array(aiRowSchema).describe(`Most answers first, at most ${AI_ROW_LIMIT}.`),
    totals: z.object(figures).describe('Every row of the scope (and namespace), the ones past the limit included.'),
  })
  .describe('This instance since it started, whatever the range: the AI cache keeps no history.')

export type AiStats = z.infer<typeof aiStatsSchema>
export type AiStatsRow = z.infer<typeof aiRowSchema>

type Figures = z.infer<z.ZodObject<typeof figures>>

function figuresOf(answers: Readonly<Record<AiAnswerStatus, number>>, promptTokensSaved: number, completionTokensSaved: number, costSavedUsd: number): Figures {
  const hits = AI_HIT_STATUSES.reduce((sum, status) => sum + answers[status], 0)
  const misses = AI_MISS_STATUSES.reduce((sum, status) => sum + answers[status], 0)
  return {
    answers: { ...answers },
    hits,
    misses,
    hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
    promptTokensSaved,
    completionTokensSaved,
    tokensSaved: promptTokensSaved + completionTokensSaved,
    costSavedUsd,
  }
}

const answersOf = (row: AiUsageFigures): Record<AiAnswerStatus, number> =>
  Object.fromEntries(AI_ANSWER_STATUSES.map((status) => [status, row.answers[status] ?? 0])) as Record<AiAnswerStatus, number>

const answered = (row: AiUsageFigures): number => AI_ANSWER_STATUSES.reduce((sum, status) => sum + (row.answers[status] ?? 0), 0)

/**
 * The `ai` section of `rows`: those of `namespace` when given, busiest first (then by namespace,
 * model and cache type), each with its `tenant` when `withTenant` (a deployment report).
 */
export function aiStatsOf(rows: readonly AiUsageFigures[], options: { readonly namespace?: string; readonly withTenant: boolean }): AiStats {
  const chosen = rows
    .filter((row) => options.namespace === undefined || row.namespace === options.namespace)
    .sort((a, b) => answered(b) - answered(a) || a.namespace.localeCompare(b.namespace) || a.tenant.localeCompare(b.tenant) || a.model.localeCompare(b.model) || a.cacheType.localeCompare(b.cacheType))
  const total = Object.fromEntries(AI_ANSWER_STATUSES.map((status) => [status, 0])) as Record<AiAnswerStatus, number>
  let prompt = 0
  let completion = 0
  let cost = 0
  for (const row of chosen) {
    for (const status of AI_ANSWER_STATUSES) total[status] += row.answers[status] ?? 0
    prompt += row.promptTokensSaved
    completion += row.completionTokensSaved
    cost += row.costSavedUsd
  }
  return {
    rows: chosen.slice(0, AI_ROW_LIMIT).map((row) => ({
      namespace: row.namespace,
      ...(options.withTenant ? { tenant: row.tenant } : {}),
      model: row.model,
      cacheType: row.cacheType,
      ...figuresOf(answersOf(row), row.promptTokensSaved, row.completionTokensSaved, row.costSavedUsd),
    })),
    totals: figuresOf(total, prompt, completion, cost),
  }
}
