/**
 * The `http` section of a statistics report (docs/stats.md): how the HTTP cache served its
 * responses, per route group and in total. Read from the HTTP cache's counts, which count in this
 * process since the cache was made: these figures are this instance's, not the range's.
 */
import { z } from 'zod'
import { HTTP_RESPONSE_OUTCOMES, type HttpCountFigures, type HttpResponseOutcome } from '../http-usage.js'

const count = z.number().int().nonnegative()

/** The outcomes whose answer was a stored response: the hits of the HTTP hit ratio. */
export const HTTP_HIT_OUTCOMES: readonly HttpResponseOutcome[] = ['hit', 'stale', 'revalidated', 'collapsed']

/** The figures every row and the totals have. */
const figures = {
  ...(Object.fromEntries(HTTP_RESPONSE_OUTCOMES.map((outcome) => [outcome, count])) as Record<HttpResponseOutcome, typeof count>),
  responses: count.describe('Every response, whatever its outcome.'),
  hits: count.describe('hit + stale + revalidated + collapsed: responses answered with a stored response.'),
  hitRatio: z.number().min(0).max(1).describe('hits / (hits + miss): of the cacheable responses (pass and error count in neither); 0 when there were none.'),
}

/** One route group. */
export const httpRowSchema = z.object({
  group: z.string().describe('The route group: by default / and the first path segment; `other` past 100 groups.'),
  ...figures,
})

/** The `http` section of `GET /v1/stats`: present in deployment reports of a server with an HTTP cache. */
export const httpStatsSchema = z
  .object({
    rows: z.array(httpRowSchema).describe('Most responses first (then by group), every group (at most 101).'),
    totals: z.object(figures).describe('Every route group.'),
  })
  .describe('This instance since its HTTP cache was made, whatever the range: the counts keep no history.')

export type HttpStats = z.infer<typeof httpStatsSchema>
export type HttpStatsRow = z.infer<typeof httpRowSchema>

type Figures = z.infer<z.ZodObject<typeof figures>>

function figuresOf(outcomes: Readonly<Record<HttpResponseOutcome, number>>): Figures {
  const hits = HTTP_HIT_OUTCOMES.reduce((sum, outcome) => sum + outcomes[outcome], 0)
  return {
    ...outcomes,
    responses: HTTP_RESPONSE_OUTCOMES.reduce((sum, outcome) => sum + outcomes[outcome], 0),
    hits,
    hitRatio: hits + outcomes.miss === 0 ? 0 : hits / (hits + outcomes.miss),
  }
}

const zeros = (): Record<HttpResponseOutcome, number> => Object.fromEntries(HTTP_RESPONSE_OUTCOMES.map((outcome) => [outcome, 0])) as Record<HttpResponseOutcome, number>

/** The `http` section of `rows` (`httpCache.counts.rows()`): a row per route group, busiest first. */
export function httpStatsOf(rows: readonly HttpCountFigures[]): HttpStats {
  const groups = new Map<string, Record<HttpResponseOutcome, number>>()
  const total = zeros()
  for (const row of rows) {
    const outcomes = groups.get(row.group) ?? zeros()
    outcomes[row.outcome] += row.count
    total[row.outcome] += row.count
    groups.set(row.group, outcomes)
  }
  const listed = [...groups].map(([group, outcomes]) => ({ group, ...figuresOf(outcomes) }))
  listed.sort((a, b) => b.responses - a.responses || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))
  return { rows: listed, totals: figuresOf(total) }
}
