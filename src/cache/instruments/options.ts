import { z } from 'zod'
import { namespaceSchema } from '../../core/validate.js'

const positiveInt = z.number().int().positive()

/** The cost of one origin call of a namespace: `perCall` units (money, tokens) of `unit`. */
const costSchema = z
  .object({
    perCall: z.number().finite().nonnegative(),
    unit: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, "must be 1 to 32 letters, digits, '_', '.' or '-', e.g. 'usd' or 'tokens'"),
  })
  .strict()

/** `false`, or what `schema` takes, with the object's own issues reported, not zod's bare "Invalid input". */
function falseOr<T extends z.ZodType>(schema: T) {
  return z.union([z.literal(false), schema], {
    error: (issue) => (issue.code === 'invalid_union' ? describeIssues(issue.errors[1] ?? []) : undefined),
  })
}

function describeIssues(issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]): string {
  return issues.map(({ path, message }) => (path.length === 0 ? message : `${path.map(String).join('.')}: ${message}`)).join('; ')
}

/** The schema of {@link MetricsOptions}; defaults live here. */
export const metricsSchema = falseOr(
  z
    .object({
      maxNamespaces: positiveInt.max(100_000).default(200),
      tenants: falseOr(z.object({ max: positiveInt.max(100_000).default(100) }).strict()).default(false),
      costs: z.record(namespaceSchema, costSchema).default({}),
      sampleEvery: positiveInt.max(1_000_000).default(16),
    })
    .strict(),
)

/**
 * Options of a cache's instruments (`createCache({ metrics })`); `metrics: false` turns them off
 * (then `metrics()` answers no families, and `stats()` still counts its totals).
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `maxNamespaces` | `200` | distinct namespaces labelled; further ones are counted under `namespace="_other"` (namespaces named in `costs` always get their own) |
 * | `tenants` | `false` | `{ max? }` (default 100): add a `tenant` label (`''` for the public scope) to the namespace series, at most `max` tenants, further ones under `tenant="_other"` |
 * | `costs` | `{}` | per namespace, `{ perCall, unit }`: what one origin call costs (`unit` e.g. `'usd'`, `'tokens'`), for `tiercache_origin_cost_saved_total` |
 * | `sampleEvery` | `16` | L1 reads and `getOrSet` calls are timed one in this many (the first, then every `sampleEvery`-th); `1` times every call |
 */
export type MetricsOptions = Exclude<z.input<typeof metricsSchema>, false>

/** {@link MetricsOptions} resolved, or false. */
export type ResolvedMetricsOptions = z.output<typeof metricsSchema>
