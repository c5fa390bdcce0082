/**
 * Rate-limit plans: how many requests an API key may make, and over how long.
 */
import { z } from 'zod'
import { InvalidOptionsError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'

/**
 * A finite plan: a burst of up to `limit` requests, and `limit` more every `windowMs` milliseconds
 * after that (see gcra.ts for exactly what is allowed when).
 */
export interface FinitePlan {
  /** Requests per window, and the largest burst: an integer from 1 to {@link MAX_LIMIT}. */
  readonly limit: number
  /** The window, in ms: an integer from 1 to {@link MAX_WINDOW_MS}. */
  readonly windowMs: number
}

/** A plan: a {@link FinitePlan}, or `'unlimited'` (every request allowed, nothing counted or stored). */
export type Plan = FinitePlan | 'unlimited'

/** Largest `limit` of a plan. */
export const MAX_LIMIT = 1_000_000_000
/** Longest `windowMs` of a plan: 366 days. */
export const MAX_WINDOW_MS = 366 * 24 * 3_600_000

/** Plan names: 1 to 64 of `A-Z a-z 0-9 . _ -`, like tenant ids. */
export const PLAN_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

// The algorithm counts in integer units of 1/limit ms, up to limit × windowMs of them (see gcra.ts);
// keeping that product a safe integer keeps the arithmetic exact in JavaScript and in Redis's Lua.
const exactArithmetic = (plan: FinitePlan) => plan.limit * plan.windowMs <= Number.MAX_SAFE_INTEGER

/** zod schema of a {@link Plan}. */
export const planSchema = z.union([
  z.literal('unlimited'),
  z
    .strictObject({
      limit: z.number().int().min(1).max(MAX_LIMIT),
      windowMs: z.number().int().min(1).max(MAX_WINDOW_MS),
    })
    .refine(exactArithmetic, `limit × windowMs must be at most ${Number.MAX_SAFE_INTEGER}`),
])

/** zod schema of named plans: plan name → {@link Plan}, at least one. */
export const plansSchema = z
  .record(z.string().regex(PLAN_NAME_PATTERN, "must be 1 to 64 letters, digits, '.', '_' or '-'"), planSchema)
  .refine((plans) => Object.keys(plans).length > 0, 'must name at least one plan')

/** Named plans, as {@link parsePlans} returns them. */
export type Plans = Readonly<Record<string, Plan>>

/** The plan of a key that names none. */
export const DEFAULT_PLAN_NAME = 'free'

/** The plans when none are configured: free (1,000 an hour), pro (5,000 an hour) and unlimited. */
export const DEFAULT_PLANS: Plans = Object.freeze({
  free: Object.freeze({ limit: 1_000, windowMs: 3_600_000 }),
  pro: Object.freeze({ limit: 5_000, windowMs: 3_600_000 }),
  unlimited: 'unlimited',
})

/**
 * Validates configured plans (e.g. `{ free: { limit: 1000, windowMs: 3_600_000 }, unlimited:
 * 'unlimited' }`) and returns them frozen.
 * @throws InvalidOptionsError naming each offending plan and field
 */
export function parsePlans(input: unknown): Plans {
  const plans = parseOptions(plansSchema, input, 'rate-limit plans')
  for (const plan of Object.values(plans)) if (typeof plan === 'object') Object.freeze(plan)
  return plans
}

/**
 * Checks a plan given to a limiter's `consume`, cheaply (this runs on every request): plans read
 * through {@link parsePlans} always pass.
 * @throws InvalidOptionsError when `plan` is not a {@link Plan}
 */
export function checkPlan(plan: unknown): asserts plan is Plan {
  if (plan === 'unlimited') return
  if (typeof plan === 'object' && plan !== null) {
    const { limit, windowMs } = plan as { limit?: unknown; windowMs?: unknown }
    if (
      Number.isInteger(limit) &&
      Number.isInteger(windowMs) &&
      (limit as number) >= 1 &&
      (limit as number) <= MAX_LIMIT &&
      (windowMs as number) >= 1 &&
      (windowMs as number) <= MAX_WINDOW_MS &&
      exactArithmetic(plan as FinitePlan)
    ) {
      return
    }
  }
  throw new InvalidOptionsError("invalid rate-limit plan: expected 'unlimited' or { limit, windowMs } within bounds")
}
