import type { RefreshAhead } from '../../cache/policy-hook.js'
import type { ContextRole } from '../../cache/scope.js'
import type { SeasonCalendar, SeasonState } from './seasons.js'
import type { FreshnessClass, MultipliersConfig, SeasonConfig, TtlPolicyConfig } from './schema.js'

/**
 * One policy with everything a decision reads looked up in advance: its own multipliers merged over
 * the section's, bounds as numbers, the season factor memoized per season state. Built once per
 * configuration; a decision then costs a few map reads.
 */
export interface CompiledPolicy {
  readonly name: string
  readonly ttlMs: number
  readonly graceMs: number
  /** `0` when the policy has none. */
  readonly floorMs: number
  /** `Infinity` when the policy has none. */
  readonly ceilingMs: number
  readonly jitter: number
  readonly refresh: RefreshAhead | undefined
  readonly role: Readonly<Partial<Record<ContextRole, number>>>
  readonly freshness: ReadonlyMap<string, FreshnessClass>
  readonly volatility: ReadonlyMap<string, number>
  readonly marketTier: ReadonlyMap<string, number>
  /** The class used when the call's context names none. */
  readonly defaultVolatility: string | undefined
  readonly defaultMarketTier: string | undefined
  /** The ttl factor of each season, by its index in the calendar: the policy's own, else the season's. */
  readonly seasonFactors: readonly number[]
  /** The product of {@link seasonFactors} over the last season state asked for. */
  seasonMemo: { state: SeasonState; factor: number } | undefined
}

function table<T>(global: Readonly<Record<string, T>> | undefined, own: Readonly<Record<string, T>> | undefined): ReadonlyMap<string, T> {
  return new Map([...Object.entries(global ?? {}), ...Object.entries(own ?? {})])
}

function ownEntry<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined
}

/** Compiles the policy `name` of a validated configuration. */
export function compilePolicy(
  name: string,
  policy: TtlPolicyConfig,
  multipliers: MultipliersConfig,
  seasons: Readonly<Record<string, SeasonConfig>>,
  calendar: SeasonCalendar,
): CompiledPolicy {
  const own = policy.multipliers
  return {
    name,
    ttlMs: policy.ttlMs,
    graceMs: policy.graceMs,
    floorMs: policy.floorMs ?? 0,
    ceilingMs: policy.ceilingMs ?? Infinity,
    jitter: policy.jitter,
    refresh: policy.refresh,
    role: Object.freeze({ ...multipliers.role, ...own?.role }),
    freshness: table(multipliers.freshness, own?.freshness),
    volatility: table(multipliers.volatility, own?.volatility),
    marketTier: table(multipliers.marketTier, own?.marketTier),
    defaultVolatility: policy.volatility,
    defaultMarketTier: policy.marketTier,
    seasonFactors: calendar.names.map((season) => ownEntry(own?.season, season) ?? ownEntry(seasons, season)?.ttl ?? 1),
    seasonMemo: undefined,
  }
}

/** The product of the ttl factors of the seasons holding in `state`, memoized on the policy. */
export function seasonFactor(policy: CompiledPolicy, state: SeasonState): number {
  const memo = policy.seasonMemo
  if (memo !== undefined && memo.state === state) return memo.factor
  let factor = 1
  for (const index of state.active) factor *= policy.seasonFactors[index] ?? 1
  policy.seasonMemo = { state, factor }
  return factor
}
