import type { PolicyDecision, PolicyRequest, RefreshAhead } from '../../cache/policy-hook.js'
import { InvalidContextError, UnknownPolicyError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'
import { type CompiledPolicy, compilePolicy, seasonFactor } from './compile.js'
import { SeasonCalendar } from './seasons.js'

/** The steps of a ttl's computation, in their fixed order. */
export const TTL_STEPS = ['ttl', 'role', 'freshness', 'volatility', 'marketTier', 'season', 'bounds', 'jitter'] as const

/** One step of a ttl's computation, as {@link TtlPolicies.explain} reports it. Durations in ms. */
export interface TtlStep {
  readonly step: (typeof TTL_STEPS)[number]
  /**
   * What the step applied: the role, the class, the seasons holding (comma-separated); undefined
   * when nothing applies (no role, no class named, no season holding, no bounds, no jitter).
   */
  readonly value: string | undefined
  /** The factor multiplied by (`jitter`: the fraction); 1 when the step changes nothing. */
  readonly factor: number
  /** The freshness class's cap; the step's and every later factor's result is held below it. */
  readonly capMs?: number
  /** `bounds`: the policy's floor and ceiling, when it declares them. */
  readonly floorMs?: number
  readonly ceilingMs?: number
  readonly beforeMs: number
  /** The ttl after the step; for `jitter`, the longest it may draw (the shortest is {@link minMs}). */
  readonly afterMs: number
  /** `jitter`: the shortest ttl it may draw. */
  readonly minMs?: number
}

/** The whole computation of one request's ttl. */
export interface TtlExplanation {
  readonly policy: string
  /** The instant the seasons were decided by, epoch ms. */
  readonly now: number
  readonly steps: readonly TtlStep[]
  /** The range jitter draws the ttl in; `min === max` without jitter. */
  readonly ttlMs: { readonly min: number; readonly max: number }
  /** The grace, as declared: no multiplier applies to it. */
  readonly graceMs: number
  readonly refresh: RefreshAhead | undefined
}

/** Options of {@link TtlPolicies} for tests. */
export interface TtlPoliciesOptions {
  /**
   * The source of jitter, uniform in `[0, 1)`.
   * @default Math.random
   */
  readonly random?: () => number
}

const ROUND = (ms: number): number => Math.max(1, Math.round(ms))

/**
 * The ttl policies of a configuration, with their multipliers and seasons.
 *
 * A decision multiplies the policy's ttl in this fixed order, rounding to whole ms after each step:
 *
 * 1. **role** of the calling view (`multipliers.role`); a view without a role: no factor;
 * 2. **freshness**, `context.freshness` (`multipliers.freshness`): its factor, then its cap; the cap
 *    also holds every later step's result below it (a caller asking for `realtime` gets at most the
 *    cap), except for the floor;
 * 3. **volatility** class, `context.volatility`, else the policy's `volatility`;
 * 4. **market tier**, `context.marketTier`, else the policy's `marketTier`;
 * 5. **season**: the product of the ttl factors of the seasons holding at `request.now`;
 * 6. **bounds**: raised to the policy's `floor`, then lowered to its `ceiling`;
 * 7. **jitter**: drawn uniformly in `[max(floor, ttl·(1 − jitter)), ttl]`, never longer than the
 *    ttl of step 6, so that no bound or cap is crossed.
 *
 * A policy's own `multipliers` replace the section's, entry by entry. The grace is the policy's,
 * unmultiplied: it is how long a stale value may stand in when the origin fails, which does not
 * depend on who asks or how fresh they want it.
 */
export class TtlPolicies {
  private readonly policies: ReadonlyMap<string, CompiledPolicy>
  private readonly calendar: SeasonCalendar
  private readonly random: () => number

  constructor(config: PolicyConfig, options: TtlPoliciesOptions = {}) {
    this.calendar = new SeasonCalendar(config.seasons)
    this.random = options.random ?? Math.random
    this.policies = new Map(
      Object.entries(config.policies).map(([name, policy]) => [name, compilePolicy(name, policy, config.multipliers, config.seasons, this.calendar)]),
    )
  }

  /** The names of the policies, in declaration order. */
  names(): string[] {
    return [...this.policies.keys()]
  }

  /**
   * The ttl, grace and refresh of one call naming a policy (see the class for the order).
   * @throws UnknownPolicyError (`TC_UNKNOWN_POLICY`) for a policy the configuration does not declare
   * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a `freshness`, `volatility` or `marketTier`
   *   in the context that the policy's multipliers do not name
   */
  decide(request: PolicyRequest): PolicyDecision {
    const policy = this.policyOf(request.policy)
    const ttlMs = this.bounded(policy, request, undefined)
    return { ttlMs: this.jittered(policy, ttlMs), graceMs: policy.graceMs, refresh: policy.refresh }
  }

  /**
   * Every step of {@link decide}'s computation for `request`, with the range jitter draws in
   * (nothing is drawn: the explanation is the same every time).
   * @throws UnknownPolicyError, InvalidContextError as {@link decide}
   */
  explain(request: PolicyRequest): TtlExplanation {
    const policy = this.policyOf(request.policy)
    const steps: TtlStep[] = []
    const max = this.bounded(policy, request, steps)
    const min = this.shortest(policy, max)
    const value = policy.jitter > 0 ? `${+(policy.jitter * 100).toFixed(2)}%` : undefined
    steps.push({ step: 'jitter', value, factor: policy.jitter, beforeMs: max, afterMs: max, minMs: min })
    return { policy: policy.name, now: request.now, steps, ttlMs: { min, max }, graceMs: policy.graceMs, refresh: policy.refresh }
  }

  /** The multiplier of L1's bounds at `now`: the largest `l1` other than `1` of the seasons holding, else `1`. */
  l1Scale(now: number): number {
    return this.calendar.l1Scale(now)
  }

  /** The first instant after `now` at which {@link l1Scale} may change, epoch ms; undefined when none. */
  nextBoundary(now: number): number | undefined {
    return this.calendar.nextL1Boundary(now)
  }

  /** The seasons holding at `now`, by name, in declaration order. */
  seasonsAt(now: number): string[] {
    return this.calendar.at(now).active.map((index) => this.calendar.names[index] ?? '')
  }

  private policyOf(name: string): CompiledPolicy {
    const policy = this.policies.get(name)
    if (policy === undefined) throw new UnknownPolicyError(`no policy named "${name}" (${listed([...this.policies.keys()])})`)
    return policy
  }

  /** Steps 1 to 6; each step is pushed to `steps` when given (explain), else nothing is allocated. */
  private bounded(policy: CompiledPolicy, request: PolicyRequest, steps: TtlStep[] | undefined): number {
    const context = request.context
    let ttl = policy.ttlMs
    steps?.push({ step: 'ttl', value: policy.name, factor: 1, beforeMs: ttl, afterMs: ttl })
    let limit = Infinity

    const role = request.role
    const roleFactor = role === undefined ? 1 : (policy.role[role] ?? 1)
    ttl = this.step(steps, 'role', role, roleFactor, ttl, limit)

    const freshness = context?.freshness
    if (freshness !== undefined) {
      const fresh = lookup(policy.freshness, 'freshness', 'a freshness class', freshness, policy.name)
      const before = ttl
      ttl = ROUND(ttl * fresh.factor)
      if (fresh.capMs !== undefined) {
        limit = fresh.capMs
        ttl = Math.min(ttl, limit)
      }
      steps?.push({ step: 'freshness', value: String(freshness), factor: fresh.factor, ...(fresh.capMs === undefined ? {} : { capMs: fresh.capMs }), beforeMs: before, afterMs: ttl })
    } else {
      steps?.push({ step: 'freshness', value: undefined, factor: 1, beforeMs: ttl, afterMs: ttl })
    }

    const volatility = context?.volatility ?? policy.defaultVolatility
    const volatilityFactor = volatility === undefined ? 1 : lookup(policy.volatility, 'volatility', 'a volatility class', volatility, policy.name)
    ttl = this.step(steps, 'volatility', volatility, volatilityFactor, ttl, limit)

    const tier = context?.marketTier ?? policy.defaultMarketTier
    const tierFactor = tier === undefined ? 1 : lookup(policy.marketTier, 'marketTier', 'a market tier', tier, policy.name)
    ttl = this.step(steps, 'marketTier', tier, tierFactor, ttl, limit)

    const state = this.calendar.at(request.now)
    const seasons = steps === undefined || state.active.length === 0 ? undefined : state.active.map((index) => this.calendar.names[index]).join(', ')
    ttl = this.step(steps, 'season', seasons, seasonFactor(policy, state), ttl, limit)

    const before = ttl
    ttl = Math.min(Math.max(ttl, policy.floorMs), policy.ceilingMs)
    if (steps !== undefined) {
      const floor = policy.floorMs > 0 ? { floorMs: policy.floorMs } : {}
      const ceiling = policy.ceilingMs < Infinity ? { ceilingMs: policy.ceilingMs } : {}
      const value = policy.floorMs > 0 || policy.ceilingMs < Infinity ? 'floor, ceiling' : undefined
      steps.push({ step: 'bounds', value, factor: 1, ...floor, ...ceiling, beforeMs: before, afterMs: ttl })
    }
    return ttl
  }

  /** One multiplying step: `ttl · factor`, rounded, held below `limit` (a freshness cap). */
  private step(steps: TtlStep[] | undefined, name: TtlStep['step'], value: string | number | boolean | undefined, factor: number, ttl: number, limit: number): number {
    const after = factor === 1 ? ttl : Math.min(ROUND(ttl * factor), limit)
    steps?.push({ step: name, value: value === undefined ? undefined : String(value), factor, beforeMs: ttl, afterMs: after })
    return after
  }

  /** The shortest ttl jitter may draw from `ttlMs`: `ttl·(1 − jitter)`, not below the floor. */
  private shortest(policy: CompiledPolicy, ttlMs: number): number {
    if (policy.jitter === 0) return ttlMs
    return Math.min(ttlMs, Math.max(policy.floorMs, 1, Math.ceil(ttlMs * (1 - policy.jitter))))
  }

  /** Step 7: a whole ms uniformly in `[shortest, ttlMs]`. */
  private jittered(policy: CompiledPolicy, ttlMs: number): number {
    const min = this.shortest(policy, ttlMs)
    if (min === ttlMs) return ttlMs
    return Math.min(ttlMs, min + Math.floor(this.random() * (ttlMs - min + 1)))
  }
}

/** Names for a message: all of them up to 20. */
function listed(names: readonly string[]): string {
  if (names.length === 0) return 'none is declared'
  return names.length <= 20 ? `known: ${names.join(', ')}` : `known: ${names.slice(0, 20).join(', ')}, and ${names.length - 20} more`
}

/** The entry named by a context field. @throws InvalidContextError naming the field and the known values */
function lookup<T>(map: ReadonlyMap<string, T>, field: string, what: string, value: string | number | boolean, policy: string): T {
  const found = typeof value === 'string' ? map.get(value) : undefined
  if (found === undefined) {
    const shown = typeof value === 'string' ? `"${value}"` : String(value)
    throw new InvalidContextError(`context.${field} ${shown} is not ${what} of policy "${policy}" (${listed([...map.keys()])})`)
  }
  return found
}
