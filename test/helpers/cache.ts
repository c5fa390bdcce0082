import { assembleCache } from '../../src/cache/assemble.js'
import type { Cache } from '../../src/cache/cache.js'
import type { Entry } from '../../src/core/entry.js'
import type { DistributedLock } from '../../src/bus/lock.js'
import { type CacheOptions, resolveCacheOptions } from '../../src/cache/options.js'
import { MemoryTier } from '../../src/tiers/memory.js'
import type { KeyPage, Tier } from '../../src/tiers/tier.js'

/**
 * A stand-in for a shared tier in unit tests of the engine's logic: an in-memory store that can be
 * made to fail, to hang until released, and that counts its calls. Real tiers are proven by the
 * conformance suite against real backends.
 */
export class ControlledTier implements Tier {
  readonly kind = 'controlled'
  readonly capabilities = { shared: true, durable: false }
  readonly store = new MemoryTier({ maxEntries: 100_000 })
  failing = false
  calls = 0
  private gate: Promise<void> | undefined
  private arrived: { promise: Promise<void>; open: () => void } | undefined

  /** Holds every get until the returned function is called; see {@link reached}. */
  hold(): () => void {
    let release!: () => void
    this.gate = new Promise((resolve) => (release = resolve))
    this.arrived = gate()
    return () => {
      this.gate = undefined
      release()
    }
  }

  /** Resolves once a get is held by {@link hold}: a gate to order callers instead of a sleep. */
  reached(): Promise<void> {
    if (this.arrived === undefined) throw new Error('reached() needs hold() first')
    return this.arrived.promise
  }

  private async enter(): Promise<void> {
    this.calls++
    if (this.failing) throw new Error('tier down')
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    await this.enter()
    const entry = await this.store.get(namespace, key)
    if (this.gate) {
      this.arrived?.open()
      await this.gate
    }
    return entry
  }
  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    await this.enter()
    return this.store.getMany(namespace, keys)
  }
  async set(entry: Entry): Promise<void> {
    await this.enter()
    return this.store.set(entry)
  }
  async delete(namespace: string, key: string): Promise<boolean> {
    await this.enter()
    return this.store.delete(namespace, key)
  }
  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    await this.enter()
    return this.store.deleteByTags(tags, namespace)
  }
  async clear(namespace?: string): Promise<void> {
    await this.enter()
    return this.store.clear(namespace)
  }
  async rewrite(_entry: Entry, _payload: Uint8Array): Promise<boolean> {
    await this.enter()
    return this.store.rewrite()
  }
  async clearPrefix(prefix: string): Promise<void> {
    await this.enter()
    return this.store.clearPrefix(prefix)
  }
  async namespaces(prefix: string): Promise<string[]> {
    await this.enter()
    return this.store.namespaces(prefix)
  }
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    await this.enter()
    return this.store.keys(namespace, page)
  }
  async count(namespace?: string): Promise<number> {
    await this.enter()
    return this.store.count(namespace)
  }
  async close(): Promise<void> {}
}

/**
 * A cache over an L1 (unless `l1: false`) and the given shared tier as L3; with `lock`, read-through
 * is single flight across every cache sharing that lock, as across processes. `now` is the clock of
 * the circuit breaker (see {@link FakeClock}).
 */
export function cacheOver(
  l3: Tier | undefined,
  options: CacheOptions = {},
  lock?: { readonly lock: DistributedLock; readonly ttlMs: number },
  now?: () => number,
): { cache: Cache; l1: MemoryTier | undefined } {
  const shared = l3 === undefined ? [] : [{ level: 'l3' as const, tier: l3 }]
  const cache = assembleCache(resolveCacheOptions({ ...options, l3: false }), shared, { ...(lock === undefined ? {} : { crossProcess: lock }), now })
  return { cache, l1: l1Of(cache) }
}

/** The memory tier behind a cache, for assertions on what L1 holds. */
function l1Of(cache: Cache): MemoryTier | undefined {
  return (cache as unknown as { core: { stack: { l1: MemoryTier | undefined } } }).core.stack.l1
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/** A clock that moves only when told: pass `clock.now` where a clock is taken, then `advance` it. */
export class FakeClock {
  private ms: number

  constructor(start = Date.now()) {
    this.ms = start
  }

  readonly now = (): number => this.ms

  advance(ms: number): void {
    this.ms += ms
  }
}
