import type { Entry } from '../core/entry.js'
import { type Lazy, lazy } from '../core/lazy.js'
import { CacheClosedError } from '../errors.js'
import type { KeyPage, Tier, TierCapabilities, TierUsage } from './tier.js'

/**
 * A tier whose backend opens asynchronously (connect, migrate), so that `createCache` can stay
 * synchronous. Calls wait for the opening; a failed opening is retried on the next call (the rule
 * of {@link lazy}), and the stack's circuit breaker spaces those retries out.
 */
export class DeferredTier implements Tier {
  private readonly backend: Lazy<Tier>

  constructor(
    readonly kind: string,
    readonly capabilities: TierCapabilities,
    open: () => Promise<Tier>,
  ) {
    this.backend = lazy(open, () => new CacheClosedError(`${kind} tier is closed`))
  }

  /** Resolves once the backend is open; rejects with the opening error, or CacheClosedError after close. */
  ready(): Promise<Tier> {
    return this.backend.get()
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    return (await this.ready()).get(namespace, key)
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    return (await this.ready()).getMany(namespace, keys)
  }

  async set(entry: Entry): Promise<void> {
    return (await this.ready()).set(entry)
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return (await this.ready()).delete(namespace, key)
  }

  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    return (await this.ready()).deleteByTags(tags, namespace)
  }

  async clear(namespace?: string): Promise<void> {
    return (await this.ready()).clear(namespace)
  }

  async rewrite(entry: Entry, payload: Uint8Array): Promise<boolean> {
    return (await this.ready()).rewrite(entry, payload)
  }

  async clearPrefix(prefix: string): Promise<void> {
    return (await this.ready()).clearPrefix(prefix)
  }

  async namespaces(prefix: string): Promise<string[]> {
    return (await this.ready()).namespaces(prefix)
  }

  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    return (await this.ready()).keys(namespace, page)
  }

  async count(namespace?: string): Promise<number> {
    return (await this.ready()).count(namespace)
  }

  /** The backend's {@link Tier.usage}, else each namespace counted. */
  async usage(namespaces: readonly string[]): Promise<TierUsage> {
    const tier = await this.ready()
    if (tier.usage !== undefined) return tier.usage(namespaces)
    const counts = await Promise.all(namespaces.map((namespace) => tier.count(namespace)))
    return { entries: counts.reduce((sum, n) => sum + n, 0) }
  }

  /** Closes the backend once it has opened (an opening in flight is awaited). Idempotent. */
  async close(): Promise<void> {
    const tier = await this.backend.close()
    await tier?.close()
  }
}
