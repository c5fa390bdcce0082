/**
 * Per-tenant request counters: what `GET /v1/stats` answers a tenant's key. The cache's own counters
 * mix every tenant's traffic, so a tenant is shown only what its keys did through this server.
 */

/** A tenant's counters, since this server instance started. */
export interface TenantStats {
  /** The tenant they are for. */
  readonly tenant: string
  /** When this instance started counting, epoch ms; counters are per instance and not persisted. */
  readonly since: number
  /** Keys looked up (a batch-get of n keys counts n). */
  readonly requests: number
  /** Lookups that found a value. */
  readonly hits: number
  /** Lookups that found none. */
  readonly misses: number
  /** `hits / requests`, 0 before any request. */
  readonly hitRatio: number
  /** Entries written. */
  readonly writes: number
  /** Entries deleted (`DELETE`), whether or not they existed. */
  readonly deletes: number
  /** Purges by tags (`POST /v1/purge` or `/v1/invalidate`). */
  readonly invalidations: number
  /** Namespaces cleared (`POST /v1/clear`). */
  readonly clears: number
}

/** The counted fields of {@link TenantStats}. */
export type TenantCounter = 'hits' | 'misses' | 'writes' | 'deletes' | 'invalidations' | 'clears'

type Counts = Record<TenantCounter, number>

/** Most tenants counted at once; past it, the tenant counted least recently is forgotten. */
export const MAX_COUNTED_TENANTS = 100_000

/** Counters per tenant, bounded in memory by {@link MAX_COUNTED_TENANTS}. */
export class TenantCounters {
  private readonly byTenant = new Map<string, Counts>()
  /** The tenant counted last, and its counts: the last in the map's order already. */
  private last: { readonly tenant: string; readonly counts: Counts } | undefined

  constructor(private readonly since: number = Date.now()) {}

  /** Adds `n` to `tenant`'s `counter`. */
  add(tenant: string, counter: TenantCounter, n = 1): void {
    // The common case, one busy tenant: no map operation at all.
    if (this.last?.tenant === tenant) {
      this.last.counts[counter] += n
      return
    }
    let counts = this.byTenant.get(tenant)
    if (counts === undefined) {
      if (this.byTenant.size >= MAX_COUNTED_TENANTS) {
        const oldest = this.byTenant.keys().next().value
        if (oldest !== undefined) this.byTenant.delete(oldest)
      }
      counts = { hits: 0, misses: 0, writes: 0, deletes: 0, invalidations: 0, clears: 0 }
    } else {
      // Re-inserted so that the map's order is least recently counted first.
      this.byTenant.delete(tenant)
    }
    counts[counter] += n
    this.byTenant.set(tenant, counts)
    this.last = { tenant, counts }
  }

  /** Counts `found` hits and `lookups - found` misses. */
  lookups(tenant: string, lookups: number, found: number): void {
    if (found > 0) this.add(tenant, 'hits', found)
    if (lookups > found) this.add(tenant, 'misses', lookups - found)
  }

  /** `tenant`'s counters, zeros for a tenant not seen. */
  snapshot(tenant: string): TenantStats {
    const counts = this.byTenant.get(tenant)
    const hits = counts?.hits ?? 0
    const requests = hits + (counts?.misses ?? 0)
    return {
      tenant,
      since: this.since,
      requests,
      hits,
      misses: counts?.misses ?? 0,
      hitRatio: requests === 0 ? 0 : hits / requests,
      writes: counts?.writes ?? 0,
      deletes: counts?.deletes ?? 0,
      invalidations: counts?.invalidations ?? 0,
      clears: counts?.clears ?? 0,
    }
  }
}
