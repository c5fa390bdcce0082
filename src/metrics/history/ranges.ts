import type { Window } from './store.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * The ranges a history answers, each with its step: a series of 60 points for an hour, 288 for a
 * day, 168 for a week and 120 for 30 days: enough for a chart's width, few enough to send to a
 * browser. Steps divide a day, so the points of every range fall on the same UTC times in every
 * instance and every query.
 */
export const HISTORY_RANGES = {
  '1h': { rangeMs: HOUR, stepMs: MINUTE },
  '24h': { rangeMs: DAY, stepMs: 5 * MINUTE },
  '7d': { rangeMs: 7 * DAY, stepMs: HOUR },
  '30d': { rangeMs: 30 * DAY, stepMs: 6 * HOUR },
} as const

/** One of {@link HISTORY_RANGES}. */
export type HistoryRange = keyof typeof HISTORY_RANGES

/**
 * The window a range covers at `now`: whole steps, ending with the one that holds `now` (which is
 * still filling), so that every query at any time in a step reads the same points.
 */
export function windowOf(range: HistoryRange, now: number, tenant?: string): Window {
  const { rangeMs, stepMs } = HISTORY_RANGES[range]
  const to = (Math.floor(now / stepMs) + 1) * stepMs
  return { from: to - rangeMs, to, stepMs, ...(tenant === undefined ? {} : { tenant }) }
}
