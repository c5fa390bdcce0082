/**
 * The HTTP-date of RFC 9110 §5.6.7, strictly: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the
 * two obsolete forms a recipient must accept, rfc850-date (`Sunday, 06-Nov-94 08:49:37 GMT`) and
 * asctime-date (`Sun Nov  6 08:49:37 1994`). `Date.parse` is far more lenient (it takes `UTC`, a
 * missing comma, one-digit hours, dashed 4-digit dates...), which RFC 9111 §5.3 asks a cache to treat
 * as invalid. Names are matched without regard to case, as the suites' "optimal" tests expect.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)'
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)'
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i')
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i')
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i')

const FIFTY_YEARS_MS = 50 * 365.25 * 24 * 3600 * 1000

function at(year: number, month: string, day: string, hour: string, minute: string, second: string): number | undefined {
  const m = MONTHS.indexOf(month.toLowerCase())
  const d = Number(day)
  const h = Number(hour)
  const min = Number(minute)
  const sec = Number(second)
  if (m < 0 || d < 1 || d > 31 || h > 23 || min > 59 || sec > 60) return undefined
  const ms = Date.UTC(year, m, d, h, min, Math.min(sec, 59))
  // Reject a day past the month's end (31 Feb rolls over in Date.UTC).
  return new Date(ms).getUTCDate() === d ? ms : undefined
}

/**
 * Epoch ms of the HTTP-date `value`, or undefined when it is not one. A two-digit rfc850 year more
 * than 50 years in the future is the most recent past year with those digits (RFC 9110 §5.6.7).
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const text = value.trim()
  let match = IMF_FIXDATE.exec(text)
  if (match !== null) return at(Number(match[3]), match[2] ?? '', match[1] ?? '', match[4] ?? '', match[5] ?? '', match[6] ?? '')
  match = ASCTIME.exec(text)
  if (match !== null) return at(Number(match[6]), match[1] ?? '', (match[2] ?? '').trim(), match[3] ?? '', match[4] ?? '', match[5] ?? '')
  match = RFC850.exec(text)
  if (match !== null) {
    const yy = Number(match[3])
    const century = Math.floor(new Date(now).getUTCFullYear() / 100) * 100
    let ms = at(century + yy, match[2] ?? '', match[1] ?? '', match[4] ?? '', match[5] ?? '', match[6] ?? '')
    if (ms !== undefined && ms > now + FIFTY_YEARS_MS) ms = at(century + yy - 100, match[2] ?? '', match[1] ?? '', match[4] ?? '', match[5] ?? '', match[6] ?? '')
    return ms
  }
  return undefined
}
