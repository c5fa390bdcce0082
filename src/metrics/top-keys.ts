/**
 * Each tenant's busiest keys, as the server sees them: one Space-Saving sketch per tenant (see
 * space-saving.ts), and the few largest entries it wrote. Bounded twice: `capacity` counters per
 * tenant, and at most `maxTenants` tenants (the one counted least recently is forgotten first), so
 * memory is at most `maxTenants × (capacity + largest)` keys, whatever the traffic.
 *
 * @see A. Metwally, D. Agrawal, A. El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 *   in Data Streams", ICDT 2005 (the sketch and its guarantees)
 */
import { InvalidOptionsError } from '../errors.js'
import { type HeavyHitter, SpaceSaving } from './space-saving.js'

export type { HeavyHitter } from './space-saving.js'

/** Options of {@link TopKeys}. */
export interface TopKeysOptions {
  /** Counters per tenant: keys looked up more than 1/capacity of the tenant's lookups are always listed. @default 100 */
  readonly capacity?: number
  /** Tenants tracked at once; past it, the tenant counted least recently is forgotten. @default 1000 */
  readonly maxTenants?: number
  /** Largest entries remembered per tenant. @default 10 */
  readonly largest?: number
}

/** One of a tenant's largest writes. */
export interface LargeEntry {
  readonly namespace: string
  readonly key: string
  /** Size of the write as it arrived (the request body of a REST write), bytes. */
  readonly bytes: number
  /** When it was written, epoch ms. */
  readonly at: number
}

/** A heavy hitter with the tenant it belongs to. */
export interface TenantHeavyHitter extends HeavyHitter {
  readonly tenant: string
}

/** A large entry with the tenant it belongs to. */
export interface TenantLargeEntry extends LargeEntry {
  readonly tenant: string
}

interface TenantKeys {
  readonly sketch: SpaceSaving
  /** Largest first, at most `largest`; one item per key. */
  readonly largest: LargeEntry[]
}

/** Defaults of {@link TopKeysOptions}. */
export const TOP_KEYS_DEFAULTS = { capacity: 100, maxTenants: 1000, largest: 10 } as const

/** The per-tenant sketches of the busiest keys; see the module's comment. */
export class TopKeys {
  readonly capacity: number
  readonly maxTenants: number
  private readonly largestKept: number
  /** In order of last use, least recent first. */
  private readonly tenants = new Map<string, TenantKeys>()
  /** The tenant used last, and its sketches: the common case of one busy tenant needs no map operation. */
  private recent: string | undefined
  private recentKeys: TenantKeys | undefined
  /** When counting started, epoch ms. */
  readonly since: number

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when an option is not a positive integer */
  constructor(options: TopKeysOptions = {}, now: number = Date.now()) {
    this.capacity = positive(options.capacity ?? TOP_KEYS_DEFAULTS.capacity, 'capacity')
    this.maxTenants = positive(options.maxTenants ?? TOP_KEYS_DEFAULTS.maxTenants, 'maxTenants')
    this.largestKept = positive(options.largest ?? TOP_KEYS_DEFAULTS.largest, 'largest')
    this.since = now
  }

  /** Counts one lookup of `key` in `tenant`'s `namespace`; `found: false` counts a miss too. O(1). */
  count(tenant: string, namespace: string, key: string, found = true): void {
    this.of(tenant).sketch.count(namespace, key, found)
  }

  /**
   * Notes a write: its ttl (ms; undefined when the write left the cache's default) on the key's
   * counter when the key is monitored, and its size among the tenant's largest writes.
   */
  wrote(tenant: string, namespace: string, key: string, ttlMs: number | undefined, bytes: number, at: number = Date.now()): void {
    const keys = this.of(tenant)
    keys.sketch.wrote(namespace, key, ttlMs)
    const list = keys.largest
    const index = list.findIndex((entry) => entry.namespace === namespace && entry.key === key)
    if (index >= 0) list.splice(index, 1)
    else if (list.length >= this.largestKept && bytes <= (list[list.length - 1]?.bytes ?? 0)) return
    let position = list.findIndex((entry) => entry.bytes < bytes)
    if (position < 0) position = list.length
    list.splice(position, 0, { namespace, key, bytes, at })
    if (list.length > this.largestKept) list.pop()
  }

  /** `tenant`'s `n` busiest keys, busiest first; empty for a tenant not tracked. */
  top(tenant: string, n: number): HeavyHitter[] {
    return this.tenants.get(tenant)?.sketch.top(n) ?? []
  }

  /** The `n` busiest keys of every tenant tracked, busiest first, ties by tenant (each tenant's sketch bounds its own keys). */
  topAcross(n: number): TenantHeavyHitter[] {
    const all: TenantHeavyHitter[] = []
    for (const [tenant, keys] of this.tenants) for (const hit of keys.sketch.top(n)) all.push({ tenant, ...hit })
    // Stable: within a tenant, top() has ordered ties already.
    return all.sort((a, b) => b.count - a.count || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0)).slice(0, n)
  }

  /** Lookups counted for `tenant` since it was last tracked. */
  lookups(tenant: string): number {
    return this.tenants.get(tenant)?.sketch.length ?? 0
  }

  /** `tenant`'s largest writes, largest first. */
  largest(tenant: string): LargeEntry[] {
    return [...(this.tenants.get(tenant)?.largest ?? [])]
  }

  /** The `n` largest writes of every tenant tracked, largest first. */
  largestAcross(n: number): TenantLargeEntry[] {
    const all: TenantLargeEntry[] = []
    for (const [tenant, keys] of this.tenants) for (const entry of keys.largest) all.push({ tenant, ...entry })
    return all.sort((a, b) => b.bytes - a.bytes).slice(0, n)
  }

  /** Tenants tracked now. */
  get size(): number {
    return this.tenants.size
  }

  private of(tenant: string): TenantKeys {
    if (tenant === this.recent && this.recentKeys !== undefined) return this.recentKeys
    let keys = this.tenants.get(tenant)
    if (keys !== undefined) {
      // Re-inserted so that the map's order is least recently used first.
      this.tenants.delete(tenant)
      this.tenants.set(tenant, keys)
      this.recent = tenant
      this.recentKeys = keys
      return keys
    }
    if (this.tenants.size >= this.maxTenants) {
      const oldest = this.tenants.keys().next().value
      if (oldest !== undefined) this.tenants.delete(oldest)
    }
    keys = { sketch: new SpaceSaving(this.capacity), largest: [] }
    this.tenants.set(tenant, keys)
    this.recent = tenant
    this.recentKeys = keys
    return keys
  }
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidOptionsError(`${name} must be a positive integer, not ${n}`)
  return n
}
