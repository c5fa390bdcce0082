import { z } from 'zod'
import { InvalidContextError } from '../../errors.js'
import { shown } from './shown.js'

// Calendar days for season rules, read as the `seasons` section writes them: windows of whole days,
// both ends included, "MM-DD" (every year; "02-29" is February 28 in a common year) or "YYYY-MM-DD"
// (once), in a time zone (UTC unless the season names one).

/** `MM-DD` as the number `MM * 100 + DD` (`04-01` → 401), the form days are compared in. */
export type MonthDay = number

/** A day of a window: of every year (`year` undefined), or of one year. */
export interface WindowDay {
  readonly year?: number
  readonly monthDay: MonthDay
}

/** A window from one day to another, both included; a yearly window whose `from` is after its `to` wraps over the new year (`12-15` to `01-05`). */
export interface CalendarWindow {
  readonly from: WindowDay
  readonly to: WindowDay
}

/** A day of the calendar. */
export interface CalendarDate {
  readonly year: number
  readonly monthDay: MonthDay
}

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The day `month`/`day` of `year` (of a leap year when undefined), or undefined when there is no such day. */
function dayOf(year: number | undefined, month: number, day: number): MonthDay | undefined {
  const days = month === 2 && year !== undefined && !isLeap(year) ? 28 : DAYS[month - 1]
  return days === undefined || day < 1 || day > days ? undefined : month * 100 + day
}

function parseWindowDay(text: string): WindowDay | undefined {
  const match = /^(?:(\d{4})-)?(\d{2})-(\d{2})$/.exec(text)
  if (match === null) return undefined
  const year = match[1] === undefined ? undefined : Number(match[1])
  const monthDay = dayOf(year, Number(match[2]), Number(match[3]))
  return monthDay === undefined ? undefined : { ...(year === undefined ? {} : { year }), monthDay }
}

const windowDaySchema = z.string().transform((text, ctx): WindowDay => {
  const day = parseWindowDay(text)
  if (day === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a day: give "MM-DD" (every year) or "YYYY-MM-DD" (once)` })
    return z.NEVER
  }
  return day
})

const order = (day: WindowDay) => (day.year ?? 0) * 10_000 + day.monthDay

/** zod schema of a window as configurations write it: `{ from: 'MM-DD', to: 'MM-DD' }`, or both `YYYY-MM-DD`. */
export const windowSchema = z.object({ from: windowDaySchema, to: windowDaySchema }).superRefine((window, ctx) => {
  if ((window.from.year === undefined) !== (window.to.year === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'from and to must be both "MM-DD" (every year) or both "YYYY-MM-DD" (once)' })
  } else if (window.from.year !== undefined && order(window.to) < order(window.from)) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'a one-off window must not end before it starts' })
  }
})

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** True when `date` falls in `window`, its ends included. */
export function inWindow(date: CalendarDate, window: CalendarWindow): boolean {
  if (window.from.year !== undefined) {
    const at = date.year * 10_000 + date.monthDay
    return at >= order(window.from) && at <= order(window.to)
  }
  // A yearly 02-29 is February 28 in a common year.
  const bound = (day: MonthDay) => (day === 229 && !isLeap(date.year) ? 228 : day)
  const [from, to] = [bound(window.from.monthDay), bound(window.to.monthDay)]
  return from <= to ? date.monthDay >= from && date.monthDay <= to : date.monthDay >= from || date.monthDay <= to
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')
const formatDay = (day: WindowDay) => `${day.year === undefined ? '' : `${pad(day.year, 4)}-`}${pad(Math.floor(day.monthDay / 100))}-${pad(day.monthDay % 100)}`

/** `'04-01..10-31'`, `'2026-05-01..2026-05-03'`. */
export function formatWindow(window: CalendarWindow): string {
  return `${formatDay(window.from)}..${formatDay(window.to)}`
}

/** A date as a context gives it: a day as written, or an instant, whose day depends on the time zone. */
export type DateValue = { readonly day: CalendarDate } | { readonly instantMs: number }

/**
 * Reads a context's date: `YYYY-MM-DD`, or an ISO 8601 date-time without an offset, is that day as
 * written; a date-time with an offset (`Z`, `+02:00`) or epoch milliseconds is an instant, whose day
 * is the day in the season's time zone.
 * @param field - the context field, for messages
 * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for anything else, or a day that does not exist
 */
export function readDate(value: string | number | boolean, field: string): DateValue {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Number.isNaN(new Date(value).getTime())) throw new InvalidContextError(`context field ${field}: ${value} is not a date; give YYYY-MM-DD or epoch ms`)
    return { instantMs: value }
  }
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value) : null
  if (match === null) throw new InvalidContextError(`context field ${field}: ${shown(value)} is not a date; give YYYY-MM-DD (or an ISO 8601 date-time) or epoch ms`)
  const year = Number(match[1])
  const monthDay = dayOf(year, Number(match[2]), Number(match[3]))
  if (monthDay === undefined) throw new InvalidContextError(`context field ${field}: ${match[1]}-${match[2]}-${match[3]} is not a day of the calendar`)
  if (match[5] === undefined) return { day: { year, monthDay } }
  const instantMs = Date.parse(value as string)
  if (Number.isNaN(instantMs)) throw new InvalidContextError(`context field ${field}: ${shown(value)} is not a date-time`)
  return { instantMs }
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** The day of `date` in `timeZone` (an IANA zone; `UTC` by default). */
export function dayIn(date: DateValue, timeZone = 'UTC'): CalendarDate {
  if ('day' in date) return date.day
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
    formatters.set(timeZone, formatter)
  }
  const parts = Object.fromEntries(formatter.formatToParts(date.instantMs).map((part) => [part.type, part.value]))
  return { year: Number(parts.year), monthDay: Number(parts.month) * 100 + Number(parts.day) }
}
