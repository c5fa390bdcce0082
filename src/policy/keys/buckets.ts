import { z } from 'zod'
import { InvalidContextError, InvalidOptionsError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'
import { type CalendarWindow, dayIn, formatWindow, inWindow, isTimeZone, readDate, windowSchema } from './calendar.js'
import { Market } from './places.js'
import type { ContextRule, SeasonRule, ThresholdRule } from './schema.js'
import { shown } from './shown.js'

/** A context value's bucket, and why it landed there. */
export interface Bucketed {
  readonly bucket: string
  readonly reason: string
}

/** A context rule, ready to bucket values. */
export interface Bucketer {
  /** The rule in words, for explanations: `market us`, `season (peak 04-01..10-31)`, `tiers 5000, 15000`. */
  readonly rule: string
  /** @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a value the rule cannot bucket */
  bucket(value: string | number | boolean, field: string): Bucketed
}

/**
 * The bucketer of `rule`, with the configuration it reads: `keys.markets` for market rules, the
 * `seasons` section for season rules that name seasons.
 * @param where - the rule's place in the configuration, for messages (`keys.builders.venueSearch.context.date`)
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a season the configuration does not declare, or
 *   one whose windows it cannot read
 */
export function bucketerOf(rule: ContextRule, config: PolicyConfig, where: string): Bucketer {
  switch (rule.kind) {
    case 'market': {
      const spec = config.keys?.markets[rule.market]
      // keysSchema checks that the market exists; a config built around it would be a bug.
      if (spec === undefined) throw new InvalidOptionsError(`${where}: no market ${rule.market} in keys.markets`)
      const market = new Market(rule.market, spec)
      return { rule: `market ${rule.market}`, bucket: (value, field) => market.bucketOf(value, field) }
    }
    case 'season':
      return seasonBucketer(rule, seasonsOf(rule, config.seasons, where))
    default:
      return thresholdBucketer(rule)
  }
}

/** What keys need of a season of the `seasons` section (validated there): its windows, as days keys can compare, and time zone. */
const configSeasonSchema = z.looseObject({
  windows: z.array(windowSchema).min(1),
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone this runtime knows').optional(),
})

/** A season as a rule matches dates against it. */
interface Season {
  readonly name: string
  readonly windows: readonly CalendarWindow[]
  readonly timeZone: string
}

/** The seasons a season rule matches dates against, in order: the first that holds a date wins. */
function seasonsOf(rule: SeasonRule, seasons: PolicyConfig['seasons'], where: string): Season[] {
  if (rule.seasons.from === 'rule') return Object.entries(rule.seasons.windows).map(([name, windows]) => ({ name, windows, timeZone: rule.timeZone }))
  const declared: Readonly<Record<string, unknown>> = seasons ?? {}
  const names = rule.seasons.names === 'all' ? Object.keys(declared) : rule.seasons.names
  if (names.length === 0) throw new InvalidOptionsError(`${where}: season: true, but the configuration declares no seasons; declare them in seasons, or give the rule windows of its own`)
  return names.map((name) => {
    if (!Object.hasOwn(declared, name)) {
      throw new InvalidOptionsError(`${where}: no season ${name} in seasons${Object.keys(declared).length === 0 ? '' : ` (seasons: ${Object.keys(declared).join(', ')})`}`)
    }
    const parsed = configSeasonSchema.safeParse(declared[name])
    if (!parsed.success) throw new InvalidOptionsError(`${where}: season ${name} has no windows keys can read: ${z.prettifyError(parsed.error)}`)
    return { name, windows: parsed.data.windows, timeZone: parsed.data.timeZone ?? 'UTC' }
  })
}

function seasonBucketer(rule: SeasonRule, seasons: readonly Season[]): Bucketer {
  const described = seasons.map(({ name, windows, timeZone }) => `${name} ${windows.map(formatWindow).join(', ')}${timeZone === 'UTC' ? '' : ` ${timeZone}`}`)
  return {
    rule: `season (${described.join('; ')}; otherwise ${rule.otherwise})`,
    bucket(value, field) {
      const date = readDate(value, field)
      for (const { name, windows, timeZone } of seasons) {
        const window = windows.find((candidate) => inWindow(dayIn(date, timeZone), candidate))
        if (window !== undefined) return { bucket: name, reason: `falls in ${name} (${formatWindow(window)})` }
      }
      return { bucket: rule.otherwise, reason: `in no season's window: ${rule.otherwise}` }
    },
  }
}

const NUMERIC = /^\s*\d+(?:\.\d+)?\s*$/

function thresholdBucketer(rule: ThresholdRule): Bucketer {
  const { thresholds, names } = rule
  const what = rule.kind === 'bands' ? 'a count' : 'an amount'
  const label = (index: number): string => {
    const named = names?.[index]
    if (named !== undefined) return named
    const low = index === 0 ? 0 : thresholds[index - 1]
    return `[${low},${index === thresholds.length ? 'inf' : thresholds[index]})`
  }
  return {
    rule: `${rule.kind} ${thresholds.join(', ')}${names === undefined ? '' : ` (${names.join(', ')})`}`,
    bucket(value, field) {
      // Text too: a query string or a command line carries numbers as text.
      const n = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value) ? Number(value) : Number.NaN
      const whole = rule.kind === 'bands'
      if (!Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n))) {
        throw new InvalidContextError(`context field ${field}: ${shown(value)} is not ${what}; give ${whole ? 'a whole number' : 'a number'} >= 0`)
      }
      let index = 0
      while (index < thresholds.length && n >= (thresholds[index] ?? Number.POSITIVE_INFINITY)) index++
      const bucket = label(index)
      const low = index === 0 ? 0 : thresholds[index - 1]
      const high = index === thresholds.length ? undefined : thresholds[index]
      return { bucket, reason: `${n} is in [${low}, ${high ?? 'inf'})${names === undefined ? '' : `: ${bucket}`}` }
    },
  }
}
