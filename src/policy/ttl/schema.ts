import { z } from 'zod'
import { toMs } from '../../core/duration.js'
import { compareInYear, isTimeZone, parseCalendarDay } from './calendar.js'

// The sections of the policy configuration that decide ttls: `policies`, `multipliers`, `seasons`.
// Durations are written as ms or strings ('5m') and converted here, once, to `...Ms` fields.

const NAME = /^[A-Za-z0-9._:-]{1,128}$/
const NAME_RULE = '1 to 128 of A-Z a-z 0-9 . _ : -'

/** The most a factor may multiply or divide by: past it, a value is a typo, not a policy. */
const MAX_FACTOR = 1_000

function duration(what: string, { positive }: { positive: boolean }) {
  const error = (issue: { input?: unknown }) => `${what} ${issue.input === undefined ? 'is required:' : 'must be'} ms or a string such as '5m'`
  return z.union([z.number(), z.string()], { error }).transform((input, ctx) => {
    try {
      const ms = toMs(input, what)
      if (positive && ms === 0) throw new Error(`${what} must be positive`)
      return ms
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  })
}

const factor = z
  .number({ error: 'must be a number (a factor such as 1.5)' })
  .positive('must be a positive factor')
  .max(MAX_FACTOR, `must be at most ${MAX_FACTOR}`)

/** A record whose keys are names; a bad name is reported at its own path, with the rule. */
function named<T extends z.ZodType>(what: string, value: T) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      if (!NAME.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${what} names are ${NAME_RULE}` })
    }
  })
}

const roleFactors = z
  .object({ anon: factor.optional(), authenticated: factor.optional(), service: factor.optional() })
  .strict()

const freshnessClass = z
  .object({ factor: factor.optional(), cap: duration('cap', { positive: true }).optional() })
  .strict()
  .refine((c) => c.factor !== undefined || c.cap !== undefined, 'a freshness class needs a factor, a cap, or both')
  .transform(({ factor, cap }) => ({ factor: factor ?? 1, capMs: cap }))

/** The freshness classes when the configuration names none: the issue's `realtime` and `eventual`. */
export const DEFAULT_FRESHNESS: Readonly<Record<string, FreshnessClass>> = Object.freeze({
  realtime: Object.freeze({ factor: 1, capMs: 60_000 }),
  eventual: Object.freeze({ factor: 2, capMs: undefined }),
})

const multiplierTables = {
  /** By the role of the calling view: `anon`, `authenticated`, `service`. */
  role: roleFactors.optional(),
  /** By `context.freshness`: a factor, a cap, or both (factor first, then cap). */
  freshness: named('freshness class', freshnessClass).optional(),
  /** By the policy's `volatility`, or `context.volatility`. */
  volatility: named('volatility class', factor).optional(),
  /** By `context.marketTier`, or the policy's `marketTier`. */
  marketTier: named('market tier', factor).optional(),
}

/** The `multipliers` section. `freshness` defaults to {@link DEFAULT_FRESHNESS}; the other tables to none. */
const multipliersSchema = z
  .object(multiplierTables)
  .strict()
  .transform(({ freshness, ...rest }) => ({ ...rest, freshness: freshness ?? DEFAULT_FRESHNESS }))

/** A policy's own factors, over the section's entry by entry; `season` by season name. */
const policyMultipliersSchema = z
  .object({
    role: roleFactors.optional(),
    freshness: named('freshness class', freshnessClass).optional(),
    volatility: named('volatility class', factor).optional(),
    marketTier: named('market tier', factor).optional(),
    season: named('season', factor).optional(),
  })
  .strict()

const refreshSchema = z
  .object({
    threshold: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1 (a fraction of the ttl)').optional(),
    beta: z.number().positive('must be positive (1 is the paper’s choice)').max(MAX_FACTOR).optional(),
  })
  .strict()
  .refine((r) => r.threshold !== undefined || r.beta !== undefined, 'refresh needs a threshold, a beta, or both')
  .transform((r) => Object.freeze({ ...r }))

/** The largest jitter: past half the ttl, jitter stops spreading expiries and starts losing hits. */
export const MAX_JITTER = 0.5

const policySchema = z
  .object({
    ttl: duration('ttl', { positive: true }),
    grace: duration('grace', { positive: false }).default(0),
    floor: duration('floor', { positive: true }).optional(),
    ceiling: duration('ceiling', { positive: true }).optional(),
    jitter: z.number().min(0, 'must be at least 0').max(MAX_JITTER, `must be at most ${MAX_JITTER} (a fraction of the ttl)`).default(0),
    volatility: z.string().optional(),
    marketTier: z.string().optional(),
    refresh: refreshSchema.optional(),
    multipliers: policyMultipliersSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.floor !== undefined && p.ceiling !== undefined && p.floor > p.ceiling) {
      ctx.addIssue({ code: 'custom', path: ['floor'], message: `floor (${p.floor} ms) must not exceed ceiling (${p.ceiling} ms)` })
    }
  })
  .transform(({ ttl, grace, floor, ceiling, ...rest }) => ({ ...rest, ttlMs: ttl, graceMs: grace, floorMs: floor, ceilingMs: ceiling }))

const calendarDay = z.string().refine((text) => parseCalendarDay(text) !== undefined, {
  message: 'must be a day: "MM-DD" (every year) or "YYYY-MM-DD" (once)',
})

const windowSchema = z
  .object({ from: calendarDay, to: calendarDay })
  .strict()
  .superRefine((w, ctx) => {
    const from = parseCalendarDay(w.from)
    const to = parseCalendarDay(w.to)
    if (from === undefined || to === undefined) return
    if ((from.year === undefined) !== (to.year === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'from and to must be both "MM-DD" (every year) or both "YYYY-MM-DD" (once)' })
    } else if (from.year !== undefined && to.year !== undefined && (to.year - from.year || compareInYear(to, from)) < 0) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `a one-off window must not end (${w.to}) before it starts (${w.from})` })
    }
  })

const seasonSchema = z
  .object({
    windows: z.array(windowSchema).min(1, 'a season needs at least one window'),
    /** The ttl factor while the season holds. */
    ttl: factor.default(1),
    /** The factor of L1's bounds (entries and bytes) while the season holds. */
    l1: factor.default(1),
    /** The IANA time zone whose days the windows name. */
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone this runtime knows, such as "UTC" or "Europe/Paris"')
      .default('UTC'),
  })
  .strict()

/** The `policies`, `multipliers` and `seasons` sections of the policy configuration (docs/policies.md). */
export const ttlSections = {
  policies: named('policy', policySchema).default({}),
  multipliers: multipliersSchema.prefault({}),
  seasons: named('season', seasonSchema).default({}),
}

/** The three sections after validation. */
export interface TtlSections {
  readonly policies: Readonly<Record<string, TtlPolicyConfig>>
  readonly multipliers: MultipliersConfig
  readonly seasons: Readonly<Record<string, SeasonConfig>>
}
/** One policy after validation: durations in ms. */
export type TtlPolicyConfig = z.output<typeof policySchema>
/** The `multipliers` section after validation. */
export type MultipliersConfig = z.output<typeof multipliersSchema>
/** One season after validation. */
export type SeasonConfig = z.output<typeof seasonSchema>
/** A freshness class after validation: its factor (1 when only a cap is given) and cap. */
export interface FreshnessClass {
  readonly factor: number
  readonly capMs: number | undefined
}

type Issue = { code: 'custom'; path: (string | number)[]; message: string }

/** The names a reference may take, for messages. */
function known(names: readonly string[]): string {
  return names.length === 0 ? 'none is declared' : `known: ${names.join(', ')}`
}

/**
 * Checks what one section names of another: a policy's `volatility` and `marketTier` classes exist
 * in `multipliers`, and its `multipliers` override only declared classes and seasons. Each problem
 * comes with its path. For the whole configuration's `superRefine`.
 */
export function checkTtlSections(config: TtlSections, ctx: { addIssue(issue: Issue): void }): void {
  const volatility = Object.keys(config.multipliers.volatility ?? {})
  const tiers = Object.keys(config.multipliers.marketTier ?? {})
  const seasons = Object.keys(config.seasons)
  for (const [name, policy] of Object.entries(config.policies)) {
    const at = (...path: string[]) => ['policies', name, ...path]
    if (policy.volatility !== undefined && !volatility.includes(policy.volatility)) {
      ctx.addIssue({ code: 'custom', path: at('volatility'), message: `volatility class "${policy.volatility}" is not in multipliers.volatility (${known(volatility)})` })
    }
    if (policy.marketTier !== undefined && !tiers.includes(policy.marketTier)) {
      ctx.addIssue({ code: 'custom', path: at('marketTier'), message: `market tier "${policy.marketTier}" is not in multipliers.marketTier (${known(tiers)})` })
    }
    const own = policy.multipliers ?? {}
    for (const [table, names] of [['volatility', volatility], ['marketTier', tiers], ['season', seasons]] as const) {
      const where = table === 'season' ? 'seasons' : `multipliers.${table}`
      for (const key of Object.keys(own[table] ?? {})) {
        if (!names.includes(key)) ctx.addIssue({ code: 'custom', path: at('multipliers', table, key), message: `"${key}" is not in ${where} (${known(names)})` })
      }
    }
  }
}
