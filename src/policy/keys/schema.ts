import { z } from 'zod'
import { type CalendarWindow, isTimeZone, windowSchema } from './calendar.js'
import { normalizePlace } from './places.js'

/** Names of builders, markets and seasons: builders start keys (`venueSearch:v2:...`), so no `:` in them. */
const NAME = /^[A-Za-z0-9._-]{1,128}$/
const NAME_RULE = 'must match [A-Za-z0-9._-]{1,128}'
const nameSchema = z.string().regex(NAME, NAME_RULE)

/** Names of params and context fields. */
const FIELD = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/
const FIELD_RULE = 'must be a letter or _ then up to 63 of [A-Za-z0-9_-]'
const fieldSchema = z.string().regex(FIELD, FIELD_RULE)

/**
 * A record whose names follow `pattern`. zod reports a bad record key as "Invalid key in record";
 * this names the key and the rule it breaks.
 */
function namedRecord<V extends z.ZodType>(what: string, pattern: RegExp, rule: string, value: V) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const name of Object.keys(record)) if (!pattern.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `the ${what} name ${JSON.stringify(name)} ${rule}` })
  })
}

/** A bucket's name as a configuration writes it (a region, a tier): it ends up in explanations. */
const labelSchema = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters')

/** The types a param may declare; `json` (any JSON data) when it declares none. */
export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'json'] as const
/** One of {@link PARAM_TYPES}. */
export type ParamType = (typeof PARAM_TYPES)[number]

/** A request parameter that makes the key. */
export interface ParamSpec {
  readonly name: string
  /** @default 'json' */
  readonly type: ParamType
  /** A request may leave it out. @default false */
  readonly optional: boolean
  /** For `string` params: Unicode NFC, trimmed, runs of whitespace as one space, lowercased, so that `' Paris'` and `'paris'` share a key. @default false */
  readonly fold: boolean
}

const paramSchema = z
  .union(
    [
      fieldSchema,
      z.strictObject({
        name: fieldSchema,
        type: z.enum(PARAM_TYPES).default('json'),
        optional: z.boolean().default(false),
        fold: z.boolean().default(false),
      }),
    ],
    { error: `must be a param name, or { name, type?: ${PARAM_TYPES.join(' | ')}, optional?, fold? }` },
  )
  .transform((param): ParamSpec => (typeof param === 'string' ? { name: param, type: 'json', optional: false, fold: false } : param))
  .refine((param) => !param.fold || param.type === 'string', 'fold applies to params of type string only')

/** A location into its market: the market data lives in `keys.markets`. */
export interface MarketRule {
  readonly kind: 'market'
  readonly market: string
  readonly optional: boolean
}

/** A date into its season: the seasons of the configuration (`true`: all of them, in their order; or those named), or windows of its own. */
export interface SeasonRule {
  readonly kind: 'season'
  readonly seasons: { readonly from: 'config'; readonly names: readonly string[] | 'all' } | { readonly from: 'rule'; readonly windows: Readonly<Record<string, readonly CalendarWindow[]>> }
  /** The bucket of a date in no window. @default 'off-season' */
  readonly otherwise: string
  /** The time zone of the rule's own windows, for dates given as instants (config seasons name their own). @default 'UTC' */
  readonly timeZone: string
  readonly optional: boolean
}

/** A number into the interval between thresholds: a budget into a tier (`tiers`), a count into a band (`bands`, whole numbers only). */
export interface ThresholdRule {
  readonly kind: 'tiers' | 'bands'
  /** Ascending, each > 0. */
  readonly thresholds: readonly number[]
  /** One name per interval (thresholds + 1); without them, intervals are named `[5000,15000)`. */
  readonly names: readonly string[] | undefined
  readonly optional: boolean
}

/** How a declared context field is bucketed. */
export type ContextRule = MarketRule | SeasonRule | ThresholdRule

const RULE_KINDS = ['market', 'season', 'windows', 'tiers', 'bands'] as const

const thresholdsSchema = z
  .array(z.number().positive('must be > 0').finite(), { error: 'must be a list of numbers' })
  .min(1, 'must list at least one threshold')
  .max(64, 'must list at most 64 thresholds')
  .refine((list) => list.every((n, i) => i === 0 || n > (list[i - 1] ?? 0)), 'must be in ascending order, without repeats')

const contextRuleSchema = z
  .strictObject({
    market: nameSchema.optional().describe('A market of keys.markets.'),
    season: z
      .union([z.literal(true), z.array(nameSchema).min(1)], { error: 'must be true (every season of the configuration) or a list of season names' })
      .optional(),
    windows: namedRecord('season', NAME, NAME_RULE, z.array(windowSchema).min(1, 'must list at least one window')).optional().describe('Seasons of the rule itself.'),
    otherwise: labelSchema.optional(),
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone this runtime knows, such as "UTC" or "America/Chicago"').optional(),
    tiers: thresholdsSchema.optional(),
    bands: thresholdsSchema.optional(),
    names: z.array(labelSchema).optional(),
    optional: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    const kinds = RULE_KINDS.filter((kind) => rule[kind] !== undefined)
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a context rule has exactly one of ${RULE_KINDS.join(', ')}${kinds.length > 1 ? `, not ${kinds.join(' and ')}` : ''}` })
      return
    }
    const thresholds = rule.tiers ?? rule.bands
    if (rule.names !== undefined) {
      if (thresholds === undefined) ctx.addIssue({ code: 'custom', path: ['names'], message: 'names go with tiers or bands' })
      else if (rule.names.length !== thresholds.length + 1) {
        ctx.addIssue({ code: 'custom', path: ['names'], message: `must name each of the ${thresholds.length + 1} intervals that ${thresholds.length} thresholds make` })
      } else if (new Set(rule.names).size !== rule.names.length) ctx.addIssue({ code: 'custom', path: ['names'], message: 'must not repeat a name' })
    }
    if (rule.otherwise !== undefined && rule.season === undefined && rule.windows === undefined) {
      ctx.addIssue({ code: 'custom', path: ['otherwise'], message: "otherwise goes with season or windows (a market's goes in keys.markets)" })
    }
    if (rule.timeZone !== undefined && rule.windows === undefined) {
      ctx.addIssue({ code: 'custom', path: ['timeZone'], message: 'timeZone goes with windows (the seasons of the seasons section name their own)' })
    }
  })
  .transform((rule): ContextRule => {
    const { optional } = rule
    if (rule.market !== undefined) return { kind: 'market', market: rule.market, optional }
    if (rule.season !== undefined || rule.windows !== undefined) {
      const seasons =
        rule.windows !== undefined ? { from: 'rule' as const, windows: rule.windows } : { from: 'config' as const, names: rule.season === true ? ('all' as const) : (rule.season ?? []) }
      return { kind: 'season', seasons, otherwise: rule.otherwise ?? 'off-season', timeZone: rule.timeZone ?? 'UTC', optional }
    }
    return { kind: rule.tiers !== undefined ? 'tiers' : 'bands', thresholds: rule.tiers ?? rule.bands ?? [], names: rule.names, optional }
  })

const builderSchema = z
  .strictObject({
    version: z.number().int().min(1).max(1_000_000).default(1).describe('The key segment v<version>: raise it when the cached shape changes, and old keys are never read again.'),
    params: z.array(paramSchema).default([]),
    context: namedRecord('context field', FIELD, FIELD_RULE, contextRuleSchema).default({}),
    unknownParams: z.enum(['reject', 'ignore']).default('reject').describe('What a param the builder does not declare does: refused (two requests differing only there would share a key), or left out of the key.'),
    description: z.string().max(1000).optional(),
  })
  .superRefine((builder, ctx) => {
    const seen = new Set<string>()
    builder.params.forEach((param, index) => {
      if (seen.has(param.name)) ctx.addIssue({ code: 'custom', path: ['params', index], message: `param ${param.name} is declared twice` })
      seen.add(param.name)
    })
  })

/** One builder of the `keys` section, validated. */
export type KeyBuilderSpec = z.output<typeof builderSchema>

const marketSchema = z
  .strictObject({
    major: z.array(labelSchema).default([]).describe('Cities that stand alone: each is its own bucket.'),
    regions: z.record(labelSchema, z.array(labelSchema).min(1, 'must list at least one city')).default({}).describe('Region (a state, an area) → its cities: they share the region\'s bucket.'),
    otherwise: labelSchema.optional().describe('The bucket of a location listed nowhere; without it, such a location is refused (TC_INVALID_CONTEXT).'),
  })
  .superRefine((market, ctx) => {
    // A city in two places would bucket by whichever came first: refused, so the data says one thing.
    const where = new Map<string, string>()
    const place = (city: string, in_: string, path: (string | number)[]) => {
      const key = normalizePlace(city)
      const before = where.get(key)
      if (before !== undefined) ctx.addIssue({ code: 'custom', path, message: `${city} is listed twice: ${before} and ${in_}` })
      else where.set(key, in_)
    }
    market.major.forEach((city, index) => place(city, 'major', ['major', index]))
    for (const [region, cities] of Object.entries(market.regions)) cities.forEach((city, index) => place(city, `region ${region}`, ['regions', region, index]))
  })

/** One market of `keys.markets`, validated. */
export type MarketSpec = z.output<typeof marketSchema>

/**
 * The `keys` section of the policy configuration: the market data that location rules read, and the
 * named key builders. See docs/keys.md.
 *
 * ```json
 * { "markets": { "us": { "major": ["New York"], "regions": { "TX": ["Austin", "Dallas"] }, "otherwise": "rest-of-us" } },
 *   "builders": { "venueSearch": { "version": 2, "params": ["query", { "name": "page", "type": "integer", "optional": true }],
 *     "context": { "location": { "market": "us" }, "date": { "season": true }, "budget": { "tiers": [5000, 15000, 40000] }, "guests": { "bands": [50, 100, 200] } } } } }
 * ```
 */
export const keysSchema = z
  .strictObject(
    {
      markets: namedRecord('market', NAME, NAME_RULE, marketSchema).default({}),
      builders: namedRecord('builder', NAME, NAME_RULE, builderSchema).default({}),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}: key builders go under keys.builders, market data under keys.markets` : undefined,
    },
  )
  .superRefine((keys, ctx) => {
    for (const [name, builder] of Object.entries(keys.builders)) {
      for (const [field, rule] of Object.entries(builder.context)) {
        if (rule.kind === 'market' && !Object.hasOwn(keys.markets, rule.market)) {
          const known = Object.keys(keys.markets)
          ctx.addIssue({
            code: 'custom',
            path: ['builders', name, 'context', field, 'market'],
            message: `no market ${rule.market} in keys.markets${known.length === 0 ? '' : ` (markets: ${known.join(', ')})`}`,
          })
        }
      }
    }
  })
