const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * The resolutions the history stores, each as its own rows: a flush adds its minute to the minute's
 * row, to its 5-minute row, its hour row and its 6-hour row alike. So every range reads only rows of
 * its own step, as many as it has points, and nothing is folded later. Each resolution is kept as
 * long as the range that reads it needs (plus a step), the coarsest as long as the retention says.
 */
export const SPANS = [
  { spanMs: MINUTE, keepMs: 2 * HOUR },
  { spanMs: 5 * MINUTE, keepMs: DAY + HOUR },
  { spanMs: HOUR, keepMs: 7 * DAY + HOUR },
  { spanMs: 6 * HOUR, keepMs: Number.POSITIVE_INFINITY },
] as const

/**
 * The ranges a history answers, each with its step: a series of 60 points for an hour, 288 for a
 * day, 168 for a week and 120 for 30 days: enough for a chart's width, few enough to send to a
 * browser. Steps divide a day, so the points fall on the same UTC times in every instance.
 */
export const HISTORY_RANGES = {
  '1h': { rangeMs: HOUR, stepMs: MINUTE },
  '24h': { rangeMs: DAY, stepMs: 5 * MINUTE },
  '7d': { rangeMs: 7 * DAY, stepMs: HOUR },
  '30d': { rangeMs: 30 * DAY, stepMs: 6 * HOUR },
} as const

/** One of {@link HISTORY_RANGES}. */
export type HistoryRange = keyof typeof HISTORY_RANGES

/** Rows of one resolution over `[from, to)`; only a tenant's series when `tenant` is set. */
export interface Window {
  /** The resolution read, ms: one of {@link SPANS}, and the step of the series. */
  readonly stepMs: number
  /** Start of the first step, epoch ms. */
  readonly from: number
  /** End of the last step, epoch ms, excluded. */
  readonly to: number
  readonly tenant?: string
}

/**
 * The window a range covers at `now`: whole steps, ending with the one that holds `now` (which is
 * still filling), so that every query at any time in a step reads the same points.
 */
export function windowOf(range: HistoryRange, now: number, tenant?: string): Window {
  const { rangeMs, stepMs } = HISTORY_RANGES[range]
  const to = (Math.floor(now / stepMs) + 1) * stepMs
  return { stepMs, from: to - rangeMs, to, ...(tenant === undefined ? {} : { tenant }) }
}
