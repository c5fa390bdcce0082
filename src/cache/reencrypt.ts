import { TierUnavailableError, UnknownKeyError } from '../errors.js'
import type { Tier } from '../tiers/tier.js'
import { CORRUPT, FAILED, type GuardedTier } from './guarded-tier.js'
import type { Sealer } from './sealing.js'

/** Keys read per round trip by {@link reencryptTiers}. */
export const REENCRYPT_PAGE = 500

/** What {@link reencryptTiers} did, summed over the shared tiers. */
export interface ReencryptReport {
  /** Non-public entries read. */
  readonly examined: number
  /** Entries sealed again with the current key. */
  readonly rewritten: number
  /** Entries sealed with a key the ring does not hold: left as they are. */
  readonly unreadable: number
  /** Entries that failed authentication or are malformed: left for reads to drop. */
  readonly corrupt: number
}

/**
 * Seals again, with the key ring's current key, every entry of `tiers` sealed with an older one
 * (after a rotation), tier by tier and namespace by namespace, {@link REENCRYPT_PAGE} keys at a
 * time. Each rewrite is a compare-and-set ({@link Tier.rewrite}), so an entry written meanwhile is
 * left as written. Entries under a key the ring lacks are counted, not touched.
 * @throws TierUnavailableError when a tier fails; what was done stays done, and a new run goes on
 *   from there
 */
export async function reencryptTiers(tiers: readonly GuardedTier[], sealer: Sealer): Promise<ReencryptReport> {
  const report = { examined: 0, rewritten: 0, unreadable: 0, corrupt: 0 }
  for (const shared of tiers) {
    const call = async <T>(operation: string, run: (tier: Tier) => Promise<T>): Promise<T> => {
      const result = await shared.call(operation, run)
      if (result === FAILED || result === CORRUPT) {
        throw new TierUnavailableError(`${shared.level} (${shared.tier.kind}) tier failed during re-encryption`, { cause: shared.lastError })
      }
      return result
    }
    // Non-public namespaces all start with '~' (see scope.ts).
    for (const namespace of await call('namespaces', (tier) => tier.namespaces('~'))) {
      let after: string | undefined
      for (;;) {
        const page = { limit: REENCRYPT_PAGE, ...(after === undefined ? {} : { after }) }
        const keys = await call('keys', (tier) => tier.keys(namespace, page))
        const entries = keys.length === 0 ? [] : await call('getMany', (tier) => tier.getMany(namespace, keys))
        for (const entry of entries) {
          if (entry === undefined) continue
          report.examined++
          let payload: Uint8Array | undefined
          try {
            payload = sealer.reseal(entry)
          } catch (error) {
            if (error instanceof UnknownKeyError) report.unreadable++
            else report.corrupt++
            continue
          }
          if (payload !== undefined && (await call('rewrite', (tier) => tier.rewrite(entry, payload)))) report.rewritten++
        }
        if (keys.length < REENCRYPT_PAGE) break
        after = keys[keys.length - 1]
      }
    }
  }
  return report
}
