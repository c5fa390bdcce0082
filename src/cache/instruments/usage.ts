import type { SharedLevel } from '../../core/level.js'
import type { TierUsage } from '../../tiers/tier.js'
import { FAILED, type GuardedTier } from '../guarded-tier.js'

/** How long the shared tiers' counts are reused, ms: a scrape must not cost a count of every namespace. */
export const USAGE_MAX_AGE_MS = 10_000

/**
 * What each shared tier holds in the storage namespaces this cache has seen, counted at most once per
 * {@link USAGE_MAX_AGE_MS} (callers meanwhile get the last counts, and concurrent callers share one
 * count), never on a cache call: only `metrics()` asks. A tier that fails is left out until the next
 * count.
 */
export class SharedUsage {
  private last: { readonly at: number; readonly usage: ReadonlyMap<SharedLevel, TierUsage> } | undefined
  private counting: Promise<ReadonlyMap<SharedLevel, TierUsage>> | undefined

  constructor(
    private readonly shared: readonly GuardedTier[],
    private readonly namespaces: () => readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Per shared level, entries (and bytes, where the tier can tell) in the namespaces seen. */
  async get(): Promise<ReadonlyMap<SharedLevel, TierUsage>> {
    const last = this.last
    if (last !== undefined && this.now() - last.at < USAGE_MAX_AGE_MS) return last.usage
    this.counting ??= this.count().finally(() => (this.counting = undefined))
    return this.counting
  }

  private async count(): Promise<ReadonlyMap<SharedLevel, TierUsage>> {
    const namespaces = this.namespaces()
    const usage = new Map<SharedLevel, TierUsage>()
    await Promise.all(
      this.shared.map(async (shared) => {
        const counted = await shared.call('count', (tier) => (tier.usage === undefined ? countEach(tier.count.bind(tier), namespaces) : tier.usage(namespaces)))
        if (counted !== FAILED && typeof counted === 'object') usage.set(shared.level, counted)
      }),
    )
    this.last = { at: this.now(), usage }
    return usage
  }
}

/** Entries of `namespaces` counted one namespace at a time, for a tier without `usage`. */
export async function countEach(count: (namespace: string) => Promise<number>, namespaces: readonly string[]): Promise<TierUsage> {
  const counts = await Promise.all(namespaces.map((namespace) => count(namespace)))
  return { entries: counts.reduce((sum, n) => sum + n, 0) }
}
