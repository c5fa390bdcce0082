import { callPolicy } from './call-policy.js'
import type { CacheCore } from './cache-core.js'
import type { Factory } from './factory.js'
import type { NamespaceSeries } from './instruments/series.js'
import type { RefreshAhead } from './policy-hook.js'
import type { Scope } from './scope.js'
import type { GetOrSetOptions } from './types.js'

/**
 * True when an entry fresh from `createdAt` to `freshUntil` (epoch ms) is due for a refresh ahead of
 * expiry at `now`: past `threshold` of its ttl, or, with `beta`, when XFetch's test
 * `now - δ·β·ln(random) >= freshUntil` holds (δ = `deltaMs`, how long the value took to compute).
 * XFetch makes the refresh likelier the nearer the expiry and the costlier the value, so that one
 * reader, not a crowd, refreshes a hot key. `random` answers a number in (0, 1]; it and `deltaMs`
 * are asked only when the XFetch test runs (a hit on the threshold alone costs no random draw).
 *
 * @see A. Vattani, F. Chierichetti, K. Lowenstein, "Optimal Probabilistic Cache Stampede
 *   Prevention", PVLDB 8(8):886-897, 2015 (Algorithm 1)
 */
export function dueForRefresh(createdAt: number, freshUntil: number, now: number, refresh: RefreshAhead, deltaMs: () => number | undefined, random: () => number): boolean {
  const { threshold, beta } = refresh
  if (threshold !== undefined && now - createdAt >= threshold * (freshUntil - createdAt)) return true
  if (beta === undefined) return false
  const delta = deltaMs()
  return delta !== undefined && delta > 0 && now - delta * beta * Math.log(random()) >= freshUntil
}

/** `Math.random()` in (0, 1]: ln(0) would refresh at once. */
function unitRandom(): number {
  return 1 - Math.random()
}

/**
 * Starts refreshes ahead of expiry from `getOrSet` hits. The refresh settings of a named policy are
 * learned from its first decision and remembered, so that a hit asks the policy layer nothing until
 * its entry is due (they may not depend on the call's context: docs/policies.md says so).
 */
export class RefreshTrigger {
  private readonly policyRefresh = new Map<string, RefreshAhead | null>()

  constructor(
    private readonly core: CacheCore,
    private readonly random: () => number = unitRandom,
  ) {}

  /**
   * Called on a fresh hit of `getOrSet` on storage namespace `stored`: starts a background refresh
   * when the call or its policy asks for one and the entry is due. Never throws: options that fail
   * to resolve fail the caller's own calls on a miss, not here.
   */
  onHit<V>(stored: string, scope: Scope, key: string, hit: HitEntry, factory: Factory<V>, options: GetOrSetOptions<V>, series: NamespaceSeries, now: number): void {
    const refresh = this.refreshOf(options, scope, now)
    if (refresh === undefined) return
    const { readThrough, options: defaults, policy: hook } = this.core
    if (!dueForRefresh(hit.createdAt, hit.freshUntil, now, refresh, () => hit.computeMs ?? readThrough.computeMsOf(stored), this.random)) return
    let policy
    try {
      policy = callPolicy(options, defaults, scope, hook, now)
    } catch {
      return
    }
    void readThrough.refreshAhead(stored, key, factory, policy, series, hit.createdAt, hit.value as V)
  }

  private refreshOf(options: GetOrSetOptions, scope: Scope, now: number): RefreshAhead | undefined {
    const own = options.refresh
    if (own !== undefined) return own === false ? undefined : own
    const name = options.policy
    if (name === undefined || this.core.policy === undefined) return undefined
    let known = this.policyRefresh.get(name)
    if (known === undefined) {
      try {
        known = this.core.policy.decide({ policy: name, role: scope.role, context: options.context, now }).refresh ?? null
      } catch {
        return undefined
      }
      this.policyRefresh.set(name, known)
    }
    return known ?? undefined
  }
}

/** What a hit tells the trigger: the entry's times, its value, and δ when known. */
export interface HitEntry {
  readonly createdAt: number
  readonly freshUntil: number
  readonly value: unknown
  readonly computeMs?: number
}
