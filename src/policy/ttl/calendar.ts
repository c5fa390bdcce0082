// Calendar arithmetic of the seasons: days written "MM-DD" (every year) or "YYYY-MM-DD" (once), and
// the instants at which such a day starts in a time zone. Windows are whole days, inclusive at both
// ends: a window "04-01".."10-31" holds from April 1, 00:00 to November 1, 00:00 (excluded).

const DAY_MS = 86_400_000
const YEARLY = /^(\d{2})-(\d{2})$/
const ONCE = /^(\d{4})-(\d{2})-(\d{2})$/

/** A day as a window names it: `year` undefined for a day of every year. */
export interface CalendarDay {
  readonly year: number | undefined
  /** 1 to 12. */
  readonly month: number
  /** 1 to 31. */
  readonly day: number
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * Parses `"MM-DD"` (a day of every year; `02-29` allowed, meaning February 28 in common years) or
 * `"YYYY-MM-DD"` (one day); undefined for anything else, a day that does not exist included.
 */
export function parseCalendarDay(text: string): CalendarDay | undefined {
  const yearly = YEARLY.exec(text)
  const once = yearly === null ? ONCE.exec(text) : null
  if (yearly === null && once === null) return undefined
  const [year, month, day] = yearly !== null ? [undefined, Number(yearly[1]), Number(yearly[2])] : [Number(once?.[1]), Number(once?.[2]), Number(once?.[3])]
  if (month < 1 || month > 12 || day < 1) return undefined
  // A leap year, so that a yearly 02-29 is accepted.
  if (day > daysInMonth(year ?? 2000, month)) return undefined
  return { year, month, day }
}

/** `day` compared with `other` within a year: negative, 0, positive. */
export function compareInYear(day: CalendarDay, other: CalendarDay): number {
  return day.month * 100 + day.day - (other.month * 100 + other.day)
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** True when `timeZone` is an IANA zone (or `UTC`) that this runtime's Intl knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone)
    return true
  } catch {
    return false
  }
}

/** How far the wall clock of `timeZone` is ahead of UTC at `instant`, ms. */
function offsetAt(instant: number, timeZone: string): number {
  const fields: Record<string, number> = {}
  for (const part of formatterOf(timeZone).formatToParts(instant)) if (part.type !== 'literal') fields[part.type] = Number(part.value)
  const wall = Date.UTC(fields.year ?? 1970, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0)
  return wall - (instant - (((instant % 1000) + 1000) % 1000))
}

/**
 * The instant (epoch ms) at which the day `year-month-day` starts in `timeZone`: its midnight, or,
 * where a clock change skips midnight, the first instant of the day. `day` may overflow the month
 * (`32` is the next month's first), as with `Date.UTC`.
 */
export function startOfDay(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day)
  if (timeZone === 'UTC') return wall
  // Two guesses: the offset at the first may differ from the offset at the answer across a clock
  // change. A guess is right when its wall clock falls on the day; of two right ones (midnight twice,
  // clocks put back), the earlier.
  const first = wall - offsetAt(wall, timeZone)
  const second = wall - offsetAt(first, timeZone)
  const right = [first, second].filter((instant) => {
    const local = instant + offsetAt(instant, timeZone)
    return local >= wall && local < wall + DAY_MS
  })
  return right.length === 0 ? first : Math.min(...right)
}

/** One occurrence of a window: `[startMs, endMs)`. */
export interface Occurrence {
  readonly startMs: number
  readonly endMs: number
}

/** A window of whole days, `from` to `to` inclusive, both yearly or both one-off. */
export interface CalendarWindow {
  readonly from: CalendarDay
  readonly to: CalendarDay
}

/** The clamped day of `day` in `year` (February 29 in a common year is February 28). */
function dayIn(year: number, day: CalendarDay): number {
  return Math.min(day.day, daysInMonth(year, day.month))
}

function occurrence(startYear: number, window: CalendarWindow, timeZone: string): Occurrence {
  const { from, to } = window
  const endYear = to.year ?? (compareInYear(to, from) < 0 ? startYear + 1 : startYear)
  return {
    startMs: startOfDay(startYear, from.month, dayIn(startYear, from), timeZone),
    // The day after `to` starts where the window ends.
    endMs: startOfDay(endYear, to.month, dayIn(endYear, to) + 1, timeZone),
  }
}

/**
 * The occurrences of `window` that may hold `now` or begin or end within a year after it, in order:
 * the one-off window itself, or a yearly window's occurrences starting in the years around `now`.
 */
export function occurrencesAround(window: CalendarWindow, now: number, timeZone: string): Occurrence[] {
  const startYear = window.from.year
  if (startYear !== undefined) return [occurrence(startYear, window, timeZone)]
  // A zone is at most 14 h off UTC: the previous, this and the next UTC year cover every occurrence
  // holding `now`, ending after it, or starting within the next year.
  const year = new Date(now).getUTCFullYear()
  return [year - 1, year, year + 1].map((y) => occurrence(y, window, timeZone))
}
