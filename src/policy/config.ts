import { z } from 'zod'
import { InvalidOptionsError } from '../errors.js'
import { keysSchema } from './keys/schema.js'
import { rulesSchema } from './rules/schema.js'
import { checkTtlSections, ttlSections } from './ttl/schema.js'
import { warmSchema } from './warm/schema.js'

/**
 * The schema of the policy configuration (`tiercache.policy.json`, an ES module's default export, or
 * an object in code): ttl policies by data type with their multipliers and seasons, context-aware
 * keys, invalidation rules and warming jobs. Every section is optional. See docs/policies.md.
 */
export const policyConfigSchema = z
  .object({
    /** The configuration's format; only 1 exists. */
    version: z.literal(1).default(1),
    ...ttlSections,
    keys: keysSchema.optional(),
    rules: rulesSchema.optional(),
    warm: warmSchema.optional(),
  })
  .strict()
  // Cross-references between sections (a policy's volatility class exists, ...), each at its path.
  .superRefine(checkTtlSections)

/** The policy configuration as written: durations as ms or strings such as `'5m'`. */
export type PolicyConfigInput = z.input<typeof policyConfigSchema>
/** The policy configuration after validation, defaults filled in. */
export type PolicyConfig = z.output<typeof policyConfigSchema>

// The configurations this module has validated (and frozen): parsing one again returns it as is, so
// that a loaded configuration can be handed to `definePolicy`, `new Policy` or `createCache` (its
// durations are already `...Ms`, which the schema, reading durations as written, would refuse).
const validated = new WeakSet<object>()

/**
 * Validates a policy configuration once and freezes it (deeply: plain objects and arrays); a
 * configuration this function returned before is returned as is.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) listing every problem, each with its path
 */
export function parsePolicyConfig(input: unknown): PolicyConfig {
  if (typeof input === 'object' && input !== null && validated.has(input)) return input as PolicyConfig
  const parsed = policyConfigSchema.safeParse(input)
  if (!parsed.success) throw new InvalidOptionsError(`invalid policy configuration: ${z.prettifyError(parsed.error)}`)
  const config = deepFreeze(parsed.data)
  validated.add(config)
  return config
}

/** Freezes plain objects and arrays, recursively; leaves functions and class instances (a warm job's source) as they are. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  const prototype: unknown = Object.getPrototypeOf(value)
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return value
  for (const child of Object.values(value)) deepFreeze(child)
  return Object.freeze(value)
}
