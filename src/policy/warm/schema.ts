import { Cron } from 'croner'
import { z } from 'zod'
import { toMs } from '../../core/duration.js'
import { NAMESPACE_PATTERN } from '../../core/validate.js'

// The `warm` section of the policy configuration: warming jobs by name. Durations are written as ms
// or strings ('30s') and converted here, once, to `...Ms` fields. See docs/warming.md.

/** Job names: the characters of policy names. */
export const JOB_NAME = /^[A-Za-z0-9._:-]{1,128}$/

/** Most keys one job may list: past it, the list belongs in a source, not a configuration. */
export const MAX_JOB_KEYS = 100_000

/** Most factories one job may run at once. */
export const MAX_CONCURRENCY = 256

/** Defaults of a job. */
export const WARM_DEFAULTS = { concurrency: 4, timeoutMs: 30_000, hotTop: 100 } as const

/** What a source function receives. */
export interface WarmSourceContext {
  /** The key to load. */
  readonly key: string
  /** The namespace it is written in (as the cache view names it). */
  readonly namespace: string
  /** The job's name (`adhoc` for {@link warm} without one). */
  readonly job: string
  /** Aborted when the key passes the job's `timeout`, or the run is stopped. */
  readonly signal: AbortSignal
}

/** A source in code (an ES module or an object configuration): loads one key's value. */
export type WarmSourceFunction = (context: WarmSourceContext) => unknown

/** An HTTP source after validation: GET `url` with `{key}` replaced by the key, URL-encoded. */
export interface UrlSource {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** A source after validation. */
export type WarmSource = UrlSource | WarmSourceFunction

function duration(what: string) {
  return z.union([z.number(), z.string()], { error: `${what} must be ms or a string such as '30s'` }).transform((input, ctx) => {
    try {
      const ms = toMs(input, what)
      if (ms === 0) throw new Error(`${what} must be positive`)
      return ms
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  })
}

/** The problem with a source URL template (`{key}` allowed anywhere, checked with a key in its place), if any. */
function urlProblem(template: string): string | undefined {
  let url: URL
  try {
    url = new URL(template.replaceAll('{key}', 'key'))
  } catch {
    return `${JSON.stringify(template.slice(0, 200))} is not a URL: write https://host/path/{key}`
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : `a source URL is http or https, not ${url.protocol}`
}

// The shapes of a source, plain: checked by toSource in a transform, so that zod reports the URL's
// own problem rather than a union's "Invalid input".
const sourceShape = z.union(
  [
    z.string(),
    z.strictObject({ url: z.string(), headers: z.record(z.string(), z.string()).optional() }),
    z.custom<WarmSourceFunction>((value) => typeof value === 'function'),
  ],
  { error: 'a source is an http(s) URL (with {key} where the key goes), { url, headers }, or, in code, a function ({ key, signal }) => value' },
)

function toSource(input: z.output<typeof sourceShape>, ctx: z.RefinementCtx, path: (string | number)[]): WarmSource {
  if (typeof input === 'function') return input
  const source: UrlSource = typeof input === 'string' ? { url: input, headers: {} } : { url: input.url, headers: input.headers ?? {} }
  const problem = urlProblem(source.url)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path, message: problem })
  return source
}

const sourceSchema = sourceShape.transform((input, ctx) => toSource(input, ctx, []))

const tagsSchema = z.array(z.string().min(1).max(256)).max(64)

const keySchema = z.string().min(1, 'a key is not empty').max(1024)

const keyEntrySchema = z
  .union([keySchema, z.strictObject({ key: keySchema, source: sourceShape.optional(), tags: tagsSchema.optional() })])
  .transform((entry, ctx) => {
    if (typeof entry === 'string') return { key: entry, source: undefined, tags: undefined }
    return { key: entry.key, source: entry.source === undefined ? undefined : toSource(entry.source, ctx, ['source']), tags: entry.tags }
  })

/** What a policy's context may hold: what the ttl multipliers read. */
const contextSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))

const hotSchema = z
  .strictObject({
    top: z.number().int().min(1).max(10_000).default(WARM_DEFAULTS.hotTop).describe('How many of the busiest tracked keys to re-warm.'),
    match: z.string().min(1).max(1024).optional().describe('Only keys matching this pattern (`*`: any characters), e.g. flight:*.'),
  })

/** A job's `hot` option after validation. */
export interface HotOptions {
  readonly top: number
  readonly match?: string
}

/**
 * One job as written. `schedule` is a cron pattern (croner: 5 fields, or 6 with seconds first);
 * without it the job runs on demand only.
 */
export const warmJobSchema = z
  .strictObject({
    description: z.string().max(1000).optional(),
    schedule: z.string().max(256).optional().describe('Cron pattern (croner), e.g. "*/15 * * * *"; none: on demand only.'),
    timezone: z.string().max(64).optional().describe('IANA time zone of the schedule. Default: the process\'s.'),
    namespace: z.string().regex(NAMESPACE_PATTERN, 'must match [A-Za-z0-9._-]{1,128}').optional().describe("Where the keys are written. Default: the cache's namespace."),
    policy: z.string().min(1).max(128).optional().describe('The ttl policy the keys are written with.'),
    context: contextSchema.optional().describe("The policy's context (freshness, volatility, marketTier, ...)."),
    ttl: duration('ttl').optional(),
    grace: duration('grace').optional(),
    tags: tagsSchema.optional().describe('Tags of every key of the job.'),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(WARM_DEFAULTS.concurrency).describe('Most sources running at once.'),
    timeout: duration('timeout')
      .default(WARM_DEFAULTS.timeoutMs)
      .describe("How long one key's source may take before it fails with TC_FACTORY_TIMEOUT."),
    mode: z.enum(['reload', 'missing']).default('reload').describe('reload: every key from its source; missing: only keys without a fresh value (getOrSet).'),
    source: sourceSchema.optional().describe('The source of keys without their own, of hot keys and of keys named in a request.'),
    keys: z.array(keyEntrySchema).max(MAX_JOB_KEYS).default([]),
    hot: z.union([z.literal(true).transform((): HotOptions => ({ top: WARM_DEFAULTS.hotTop })), hotSchema]).optional().describe('Also re-warm the busiest tracked keys of the namespace.'),
  })
  .superRefine((job, ctx) => {
    if (job.schedule !== undefined) checkSchedule(job.schedule, job.timezone, ctx)
    else if (job.timezone !== undefined) ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone applies to a schedule: give the job one' })
    const seen = new Set<string>()
    job.keys.forEach((entry, index) => {
      if (seen.has(entry.key)) ctx.addIssue({ code: 'custom', path: ['keys', index], message: `key ${JSON.stringify(entry.key.slice(0, 80))} is listed twice` })
      seen.add(entry.key)
      if (entry.source === undefined && job.source === undefined) {
        ctx.addIssue({ code: 'custom', path: ['keys', index], message: 'this key has no source: give it one, or give the job a source' })
      }
    })
    if (job.hot !== undefined && job.source === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hot'], message: 'hot keys are loaded through the job\'s source: give the job a source (a URL with {key}, or a function)' })
    }
    if (job.keys.length === 0 && job.hot === undefined && job.source === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'a job loads keys: give it keys, hot, or a source for keys named on demand' })
    }
  })

function checkSchedule(pattern: string, timezone: string | undefined, ctx: z.RefinementCtx): void {
  try {
    // Paused: a pattern evaluator, never a timer (the scheduler keeps its own, see scheduler.ts).
    new Cron(pattern, { paused: true, ...(timezone === undefined ? {} : { timezone }) }).nextRun()
  } catch (error) {
    const path = /time ?zone/i.test((error as Error).message) ? 'timezone' : 'schedule'
    ctx.addIssue({ code: 'custom', path: [path], message: `${path === 'timezone' ? timezone : JSON.stringify(pattern)}: ${(error as Error).message}` })
  }
}

/** One job after validation. */
export type WarmJob = z.output<typeof warmJobSchema>
/** One job as written. */
export type WarmJobInput = z.input<typeof warmJobSchema>

/**
 * The `warm` section of the policy configuration: `{ jobs: { <name>: job } }`. See docs/warming.md.
 *
 * ```json
 * { "jobs": { "reference": { "schedule": "0 * * * *", "policy": "countries", "tags": ["reference"],
 *     "keys": [{ "key": "countries", "source": "https://api.example/countries" }] } } }
 * ```
 */
export const warmSchema = z.strictObject({
  jobs: z.record(z.string(), warmJobSchema).default({}).superRefine((jobs, ctx) => {
    for (const name of Object.keys(jobs)) {
      if (!JOB_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'job names are 1 to 128 of A-Z a-z 0-9 . _ : -' })
    }
  }),
})

/** The `warm` section after validation. */
export type WarmConfig = z.output<typeof warmSchema>
