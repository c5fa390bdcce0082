import { z } from 'zod'
import { InvalidContextError } from '../../errors.js'
import { shown } from './shown.js'

/** Days in each month, February with its 29th (a window may name it; a year without it skips it). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** `MM-DD` as the number `MM * 100 + DD` (`04-01` → 401), the form windows are compared in. */
export type MonthDay = number

function monthDayOf(month: number, day: number): MonthDay | undefined {
  const days = MONTH_DAYS[month - 1]
  return days === undefined || day < 1 || day > days ? undefined : month * 100 + day
}

/** zod schema of a calendar day without a year, `MM-DD` (`'04-01'`), read as its {@link MonthDay}. */
export const monthDaySchema = z
  .string()
  .regex(/^\d{2}-\d{2}$/, 'must be a day of the year as MM-DD, e.g. "04-01"')
  .transform((text, ctx): MonthDay => {
    const day = monthDayOf(Number(text.slice(0, 2)), Number(text.slice(3)))
    if (day === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a day of the year` })
      return z.NEVER
    }
    return day
  })

/** A calendar window: from one day of the year to another, both included; `from` after `to` wraps over the new year (`12-15` to `01-15`). */
export interface CalendarWindow {
  readonly from: MonthDay
  readonly to: MonthDay
}

/** zod schema of a window as configurations write it: `{ from: 'MM-DD', to: 'MM-DD' }`. */
export const windowSchema = z.object({ from: monthDaySchema, to: monthDaySchema })

/** True when `day` falls in `window`, its ends included. */
export function inWindow(day: MonthDay, window: CalendarWindow): boolean {
  return window.from <= window.to ? day >= window.from && day <= window.to : day >= window.from || day <= window.to
}

/** `401` → `'04-01'`. */
export function formatMonthDay(day: MonthDay): string {
  const month = Math.floor(day / 100)
  return `${String(month).padStart(2, '0')}-${String(day - month * 100).padStart(2, '0')}`
}

/** `{ from: 401, to: 1031 }` → `'04-01..10-31'`. */
export function formatWindow(window: CalendarWindow): string {
  return `${formatMonthDay(window.from)}..${formatMonthDay(window.to)}`
}

/**
 * The calendar day of a date as a context gives it: a string that starts with `YYYY-MM-DD` (a date,
 * or an ISO 8601 date-time, whose day is taken as written: the local day where the event happens),
 * or epoch milliseconds (read in UTC).
 * @param field - the context field, for messages
 * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for anything else, or a day that does not exist
 */
export function monthDayOfDate(value: string | number | boolean, field: string): MonthDay {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidContextError(`context field ${field}: ${value} is not a date; give YYYY-MM-DD or epoch ms`)
    const date = new Date(value)
    if (Number.isNaN(date.getTime())) throw new InvalidContextError(`context field ${field}: ${value} ms is outside the range of dates`)
    return date.getUTCMonth() * 100 + 100 + date.getUTCDate()
  }
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(value) : null
  if (match === null) throw new InvalidContextError(`context field ${field}: ${shown(value)} is not a date; give YYYY-MM-DD (or an ISO 8601 date-time) or epoch ms`)
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const checked = new Date(0)
  // setUTCFullYear, not Date.UTC, which reads years 0 to 99 as 1900 to 1999. Both roll 02-30 over to
  // 03-02: a day that does not round-trip does not exist.
  checked.setUTCFullYear(year, month - 1, day)
  if (checked.getUTCMonth() !== month - 1 || checked.getUTCDate() !== day) {
    throw new InvalidContextError(`context field ${field}: ${match[0]} is not a day of the calendar`)
  }
  return month * 100 + day
}
