/* eslint-disable max-lines -- to be split along its seams (issue 8, item 5) */
import type { EventEmitter } from 'node:events'
import type { Bus, BusMessage } from '../bus/bus.js'
import { TierUnavailableError, UnknownKeyError } from '../errors.js'
import type { Level, SharedLevel } from '../core/level.js'
import type { Counters } from './counters.js'
import type { MemoryTier } from '../tiers/memory.js'
import type { KeyPage, Tier } from '../tiers/tier.js'
import { SetAnnouncer } from './announcer.js'
import type { CircuitState } from './circuit-breaker.js'
import type { Entry } from '../core/entry.js'
import type { CacheEvents } from './events.js'
import { CORRUPT, FAILED, GuardedTier, type Repair } from './guarded-tier.js'
import { InvalidationLog } from './invalidation-log.js'
import { type ReencryptReport, reencryptTiers } from './reencrypt.js'
import { type ScopeLevel, levelOf } from './scope.js'
import type { Sealer } from './sealing.js'

/** An entry and the tier that held it. */
export interface Found {
  readonly entry: Entry
  readonly source: Level
}

/** Of two finds, the one fresh for longer. */
export function fresher(a: Found | undefined, b: Found | undefined): Found | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return b.entry.freshUntil > a.entry.freshUntil ? b : a
}

/** A tier's state, for `/health` and the dashboard. */
export interface TierHealth {
  readonly level: Level
  readonly kind: string
  readonly circuit: CircuitState
  readonly shared: boolean
  readonly durable: boolean
}

export interface TierStackOptions {
  readonly l1: MemoryTier | undefined
  /** Shared tiers from fastest to slowest, with their level. */
  readonly lower: readonly { readonly level: SharedLevel; readonly tier: Tier }[]
  readonly counters: Counters
  readonly events: EventEmitter<CacheEvents>
  readonly circuitBreaker: { readonly failureThreshold: number; readonly openFor: number }
  /** Longest a shared-tier call may take, in ms. */
  readonly tierTimeoutMs: number
  /** Missed removals remembered per shared tier before it is cleared instead. @default 10_000 */
  readonly maxRepairs?: number
  /** The clock of the tiers' circuit breakers, epoch ms. @default Date.now */
  readonly now?: () => number
  /** Tells other instances what changed here; absent without Redis. */
  readonly bus?: Bus
  /** Encrypts non-public entries for the shared tiers and decrypts them on the way up. */
  readonly sealer: Sealer
  /** The levels that may hold entries of each scope. @default every level for every scope */
  readonly scopeTiers?: Readonly<Record<ScopeLevel, readonly Level[]>>
}

/**
 * The tiers in order, fastest first. Reads stop at the first fresh hit and backfill the tiers above
 * with the entry as is, so with its remaining ttl. Writes go to every tier. A failing tier never fails
 * the caller: each shared tier is a {@link GuardedTier} (timeouts, a circuit, removals it missed
 * replayed before it serves again), and the stack carries on with the tiers that work. Every change
 * is published on the bus, when there is one, so that other instances drop it from their L1.
 *
 * Every read that may backfill, and every factory write, is checked against the
 * {@link InvalidationLog}, so that nothing invalidated after the read started is written back.
 */
export class TierStack {
  readonly l1: MemoryTier | undefined
  readonly invalidations = new InvalidationLog()
  private readonly lower: readonly GuardedTier[]
  private readonly counters: Counters
  private readonly events: EventEmitter<CacheEvents>
  private readonly bus: Bus | undefined
  private readonly sealer: Sealer
  private readonly scopeTiers: Readonly<Record<ScopeLevel, ReadonlySet<Level>>>
  /** Tells other instances of writes, without making writers wait for the publish. */
  private readonly sets: SetAnnouncer | undefined

  constructor(options: TierStackOptions) {
    this.l1 = options.l1
    this.sealer = options.sealer
    const every: readonly Level[] = ['l1', 'l2', 'l3']
    const tiers = options.scopeTiers ?? { public: every, tenant: every, user: every }
    this.scopeTiers = { public: new Set(tiers.public), tenant: new Set(tiers.tenant), user: new Set(tiers.user) }
    this.counters = options.counters
    this.events = options.events
    this.bus = options.bus
    this.sets = options.bus === undefined ? undefined : new SetAnnouncer((message) => this.publish(message))
    this.lower = options.lower.map(
      ({ level, tier }) =>
        new GuardedTier(level, tier, {
          failureThreshold: options.circuitBreaker.failureThreshold,
          openForMs: options.circuitBreaker.openFor,
          timeoutMs: options.tierTimeoutMs,
          maxRepairs: options.maxRepairs ?? 10_000,
          onFailure: (operation, error) => {
            this.counters.tiers[level].errors++
            this.events.emit('tier:error', { level, kind: tier.kind, operation, error })
          },
          onCircuit: (state) => this.events.emit('circuit:change', { level, kind: tier.kind, state }),
          onWidened: (widened) => this.events.emit('repair:widened', { level, kind: tier.kind, ...widened }),
          now: options.now,
        }),
    )
  }

  /**
   * Looks `(namespace, key)` up in the shared tiers, fastest first. Returns the first fresh entry
   * (after backfilling the tiers above it), else the first stale one found, else undefined.
   * @param since - the caller's {@link InvalidationLog.begin} sequence
   * @param options - `record: false` for a second look within one request, so that its hits and
   *   misses are not counted twice
   */
  async lookup(namespace: string, key: string, since: number, now: number, options?: { readonly record?: boolean }): Promise<Found | undefined> {
    const record = options?.record ?? true
    let stale: Found | undefined
    for (let i = 0; i < this.lower.length; i++) {
      const lower = this.lower[i] as GuardedTier
      if (!this.holds(lower.level, namespace)) continue
      const counters = this.counters.tiers[lower.level]
      const entry = await this.read(lower, namespace, key)
      if (entry === undefined || entry.freshUntil <= now) {
        if (record) counters.misses++
        if (entry !== undefined) stale ??= { entry, source: lower.level }
        continue
      }
      if (record) counters.hits++
      this.backfill(i, entry, since)
      return { entry, source: lower.level }
    }
    return stale
  }

  /**
   * {@link lookup} for many keys: each shared tier is asked once for the keys still missing.
   * Returns one slot per key, in order. With `backfill: false` (a listing's reads, which would
   * otherwise flush L1's working set with the whole namespace) nothing is copied to upper tiers.
   */
  async lookupMany(
    namespace: string,
    keys: readonly string[],
    since: number,
    now: number,
    options: { readonly backfill?: boolean } = {},
  ): Promise<(Found | undefined)[]> {
    const backfill = options.backfill ?? true
    const found: (Found | undefined)[] = keys.map(() => undefined)
    let missing = keys.map((_, index) => index)
    for (let i = 0; i < this.lower.length && missing.length > 0; i++) {
      const lower = this.lower[i] as GuardedTier
      if (!this.holds(lower.level, namespace)) continue
      const counters = this.counters.tiers[lower.level]
      const wanted = missing.map((index) => keys[index] as string)
      let entries = await lower.call('getMany', (tier) => tier.getMany(namespace, wanted))
      // One undecodable entry fails the batch: read key by key to find and drop it.
      if (entries === CORRUPT) entries = await Promise.all(wanted.map((key) => this.read(lower, namespace, key)))
      const stillMissing: number[] = []
      missing.forEach((index, j) => {
        const stored = entries === FAILED ? undefined : entries[j]
        const entry = stored === undefined ? undefined : this.open(lower, stored)
        if (entry === undefined || entry.freshUntil <= now) {
          counters.misses++
          if (entry !== undefined && found[index] === undefined) found[index] = { entry, source: lower.level }
          stillMissing.push(index)
          return
        }
        counters.hits++
        found[index] = { entry, source: lower.level }
        if (backfill) this.backfill(i, entry, since)
      })
      missing = stillMissing
    }
    return found
  }

  /**
   * Writes `entry` to every tier. With `since` (a factory's write), the write is skipped, or undone,
   * when the entry was invalidated after `since`; without it (a caller's `set`), in-flight factories
   * for the key are told they are outdated. Resolves false when the write was skipped or undone.
   */
  async set(entry: Entry, since?: number): Promise<boolean> {
    const { namespace, key, tags } = entry
    if (since === undefined) this.invalidations.key(namespace, key)
    else if (this.invalidations.isOutdated(since, namespace, key, tags)) return false
    const shared = this.lower.length === 0 ? entry : this.sealer.seal(entry)
    this.putInL1(entry)
    await Promise.all(this.lower.map((lower) => (this.holds(lower.level, namespace) ? this.write(lower, shared) : undefined)))
    // Only once the shared tiers hold the new value: an instance that drops its copy on this message
    // and reads again must find the new value, not the one being replaced. Not awaited: the value is
    // in place, and the message only ends others' use of their old copies, so the caller does not
    // wait a second round trip for it (close() does).
    this.sets?.announce(namespace, key)
    // An invalidation may have run while the shared tiers were being written: undo, so it wins.
    if (since !== undefined && this.invalidations.isOutdated(since, namespace, key, tags)) {
      await this.delete(namespace, key)
      return false
    }
    return true
  }

  /** Removes `(namespace, key)` from every tier and every instance's L1; true when any tier here held it. */
  async delete(namespace: string, key: string): Promise<boolean> {
    const { inL1, results } = await this.remove({ kind: 'key', namespace, key })
    return inL1 || results.some((result) => result === true)
  }

  /** Removes entries carrying any of `tags` from every tier and every instance's L1, in `namespace` or in all. */
  async deleteByTags(tags: readonly string[], namespace?: string): Promise<void> {
    if (tags.length > 0) await this.remove({ kind: 'tags', namespace, tags })
  }

  /** Removes every entry of `namespace`, or every entry, from every tier and every instance's L1. */
  async clear(namespace?: string): Promise<void> {
    await this.remove({ kind: 'clear', namespace })
  }

  /**
   * Erases a scope: removes every entry of every namespace starting with `prefix` from every tier
   * and, through the bus, from every instance's L1. A tier that misses it replays it before serving
   * again, as any removal.
   */
  async erase(prefix: string): Promise<void> {
    await this.remove({ kind: 'scope', prefix })
  }

  /**
   * The namespaces starting with `prefix` in any tier, sorted. Every write goes to every tier, so the
   * last tier normally holds them all; the others are asked too, for entries whose write to the last
   * tier failed.
   * @throws TierUnavailableError when a shared tier fails (a partial list would pass for the whole)
   */
  async namespaces(prefix: string): Promise<string[]> {
    const found = new Set(this.l1 === undefined ? [] : await this.l1.namespaces(prefix))
    for (const lower of this.lower) {
      const names = await lower.call('namespaces', (tier) => tier.namespaces(prefix))
      if (names === FAILED || names === CORRUPT) {
        throw new TierUnavailableError(`${lower.level} (${lower.tier.kind}) tier failed to list namespaces`, { cause: lower.lastError })
      }
      for (const name of names) found.add(name)
    }
    return [...found].sort()
  }

  /**
   * Seals again, with the key ring's current key, every entry of the shared tiers sealed with an
   * older one; see {@link reencryptTiers}.
   * @throws TierUnavailableError when a shared tier fails
   */
  reencrypt(): Promise<ReencryptReport> {
    return reencryptTiers(this.lower, this.sealer)
  }

  /**
   * For an instance that may have missed what others changed (its bus went deaf): empties L1 and
   * keeps it empty until `l1.resume()`, and marks everything outdated for the reads and factories in
   * flight, so that none of them writes back a value it read before the deaf spell.
   */
  distrustL1(): void {
    this.invalidations.cleared(undefined)
    this.l1?.suspend()
  }

  /**
   * Applies what another instance changed: drops the entries from L1, and tells reads and factories
   * in flight here that those entries are outdated, so that they do not write them back.
   */
  applyRemote(message: BusMessage): void {
    switch (message.type) {
      case 'set':
      case 'delete':
        for (const key of message.keys) this.forget({ kind: 'key', namespace: message.namespace, key })
        return
      case 'invalidate-tags':
        this.forget({ kind: 'tags', namespace: message.namespace, tags: message.tags })
        return
      case 'clear':
        this.forget({ kind: 'clear', namespace: message.namespace })
        return
      case 'erase':
        this.forget({ kind: 'scope', prefix: message.prefix })
    }
  }

  /**
   * One page of the live keys of `namespace`, from the last tier of the stack that holds its scope
   * (see `security.tiers`): L3 when there is one
   * (every write goes through every tier, so the last holds what the upper ones hold, and more), else
   * L1. Keys are in that tier's order; see {@link Tier.keys}.
   *
   * Unlike reads and writes, a listing has no tier to fall back to: an upper tier holds only part of
   * the namespace, and answering from it, or answering nothing, would pass a partial list off as the
   * whole. So a failure is counted and emitted like any other (and counts against the circuit), and
   * then thrown.
   *
   * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when that tier fails (its error is the
   *   `cause`) or its circuit is open
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    const last = this.lower.findLast((lower) => this.holds(lower.level, namespace))
    if (last === undefined) return this.l1 === undefined || !this.holds('l1', namespace) ? [] : this.l1.keys(namespace, page)
    const keys = await last.call('keys', (tier) => tier.keys(namespace, page))
    if (keys !== FAILED && keys !== CORRUPT) return keys
    const why = last.breaker.state === 'open' ? 'cannot list keys: its circuit is open' : 'failed to list keys'
    throw new TierUnavailableError(`${last.level} (${last.tier.kind}) tier ${why}`, { cause: last.lastError })
  }

  /** Entries held per level; a level whose tier fails is left out. */
  async counts(namespace?: string): Promise<Partial<Record<Level, number>>> {
    const counts: Partial<Record<Level, number>> = {}
    if (this.l1) counts.l1 = await this.l1.count(namespace)
    await Promise.all(
      this.lower.map(async (lower) => {
        const n = await lower.call('count', (tier) => tier.count(namespace))
        if (typeof n === 'number') counts[lower.level] = n
      }),
    )
    return counts
  }

  /** True when entries of tenants and users may be stored: there are no shared tiers, or a key ring to seal them (or encryption is off). */
  get storesScoped(): boolean {
    return this.lower.length === 0 || this.sealer.canStoreScoped
  }

  /** See `Cache.busState`. */
  get busState(): 'none' | 'listening' | 'deaf' {
    if (this.bus === undefined) return 'none'
    return this.bus.listening ? 'listening' : 'deaf'
  }

  health(): TierHealth[] {
    const l1: TierHealth[] = this.l1 ? [{ level: 'l1', kind: this.l1.kind, circuit: 'closed', shared: false, durable: false }] : []
    return [
      ...l1,
      ...this.lower.map(({ level, tier, breaker }) => ({
        level,
        kind: tier.kind,
        circuit: breaker.state,
        shared: tier.capabilities.shared,
        durable: tier.capabilities.durable,
      })),
    ]
  }

  async close(): Promise<void> {
    await this.sets?.drain()
    await Promise.all([
      this.l1?.close(),
      this.bus?.close().catch(() => undefined),
      ...this.lower.map((lower) => lower.tier.close().catch(() => undefined)),
    ])
  }

  private backfill(foundAt: number, entry: Entry, since: number): void {
    const { namespace, key, tags } = entry
    if (this.invalidations.isOutdated(since, namespace, key, tags)) return
    this.putInL1(entry)
    if (foundAt === 0) return
    // Shared tiers above are filled in the background: the caller has its value already.
    const above = this.lower.slice(0, foundAt).filter((lower) => this.holds(lower.level, namespace))
    void Promise.all(above.map((lower) => this.write(lower, entry))).then(async () => {
      if (this.invalidations.isOutdated(since, namespace, key, tags)) await this.delete(namespace, key)
    })
  }

  /** True when entries of `namespace`'s scope may be held at `level` (`security.tiers`). */
  private holds(level: Level, namespace: string): boolean {
    return this.scopeTiers[levelOf(namespace)].has(level)
  }

  /** Puts the entry in L1, unless there is none or the entry's scope stays out of it. */
  private putInL1(entry: Entry): void {
    if (this.l1 === undefined || !this.holds('l1', entry.namespace)) return
    this.l1.put(entry)
    this.counters.tiers.l1.writes++
  }

  /** Writes to one shared tier; a failed write is remembered as a removal of the key there. */
  private async write(lower: GuardedTier, entry: Entry): Promise<void> {
    const done = await lower.call('set', (tier) => tier.set(entry))
    if (done === FAILED) lower.missed({ kind: 'key', namespace: entry.namespace, key: entry.key })
    else this.counters.tiers[lower.level].writes++
  }

  /**
   * A removal here and everywhere: forgotten locally, applied to the shared tiers, forgotten locally
   * again, and only then published, so that another instance that drops its copy on the message and
   * reads again finds the shared tiers already clean.
   */
  private async remove(removal: Repair): Promise<{ inL1: boolean; results: unknown[] }> {
    const inL1 = this.forget(removal)
    const results = await this.removeEverywhere(removal)
    // Again, now that the shared tiers are clean: a read that began meanwhile must not write back what
    // it read before the removal reached its tier, and may have refilled L1.
    this.forget(removal)
    await this.publish(messageOf(removal))
    return { inL1, results }
  }

  /**
   * Records a removal in the invalidation log, for the reads and factories in flight, and applies it
   * to L1. Resolves true when L1 held the removed key.
   */
  private forget(removal: Repair): boolean {
    switch (removal.kind) {
      case 'key':
        this.invalidations.key(removal.namespace, removal.key)
        return this.l1?.remove(removal.namespace, removal.key) ?? false
      case 'tags':
        this.invalidations.tagged(removal.tags, removal.namespace)
        this.l1?.removeByTags(removal.tags, removal.namespace)
        return false
      case 'clear':
        this.invalidations.cleared(removal.namespace)
        this.l1?.removeAll(removal.namespace)
        return false
      case 'scope':
        this.invalidations.erased(removal.prefix)
        this.l1?.removePrefix(removal.prefix)
        return false
    }
  }

  /**
   * Applies a removal to every shared tier, slowest first, one after the other: while it runs, a
   * read that finds the entry in a faster tier backfills only the tiers above that one, never a tier
   * already cleaned. A tier that misses the removal replays it before serving again.
   */
  private async removeEverywhere(removal: Repair): Promise<unknown[]> {
    const run = (tier: Tier): Promise<unknown> => {
      switch (removal.kind) {
        case 'key':
          return tier.delete(removal.namespace, removal.key)
        case 'tags':
          return tier.deleteByTags(removal.tags, removal.namespace)
        case 'clear':
          return tier.clear(removal.namespace)
        case 'scope':
          return tier.clearPrefix(removal.prefix)
      }
    }
    const operation = { key: 'delete', tags: 'deleteByTags', clear: 'clear', scope: 'clearPrefix' }[removal.kind]
    const results: unknown[] = []
    for (const lower of [...this.lower].reverse()) {
      const result = await lower.call(operation, run)
      if (result === FAILED) lower.missed(removal)
      results.push(result)
    }
    return results
  }

  /** Tells the other instances; a failure is reported, not thrown: their L1 expires it at worst. */
  private async publish(message: BusMessage): Promise<void> {
    if (this.bus === undefined) return
    try {
      await this.bus.publish(message)
    } catch (error) {
      this.events.emit('bus:error', { operation: 'publish', error })
    }
  }

  /** A tier's entry, or undefined when it has none, fails, or holds one it cannot decode (dropped). */
  private async read(lower: GuardedTier, namespace: string, key: string): Promise<Entry | undefined> {
    const entry = await lower.call('get', (tier) => tier.get(namespace, key))
    if (entry === CORRUPT) {
      this.dropCorrupt(lower, namespace, key)
      return undefined
    }
    return entry === FAILED || entry === undefined ? undefined : this.open(lower, entry)
  }

  /**
   * The entry with its value, decrypted when sealed; undefined when it cannot be: a corrupt one is
   * dropped, one sealed under a key this process lacks is kept for the processes that have it.
   */
  private open(lower: GuardedTier, entry: Entry): Entry | undefined {
    try {
      return this.sealer.open(entry)
    } catch (error) {
      if (error instanceof UnknownKeyError) {
        this.events.emit('entry:unreadable', { level: lower.level, namespace: entry.namespace, key: entry.key, error })
        return undefined
      }
      this.dropCorrupt(lower, entry.namespace, entry.key)
      return undefined
    }
  }

  private dropCorrupt(lower: GuardedTier, namespace: string, key: string): void {
    this.events.emit('entry:corrupt', { level: lower.level, namespace, key })
    void lower.call('delete', (tier) => tier.delete(namespace, key))
  }
}

/** The bus message that tells other instances of a removal. */
function messageOf(removal: Repair): BusMessage {
  switch (removal.kind) {
    case 'key':
      return { type: 'delete', namespace: removal.namespace, keys: [removal.key] }
    case 'tags':
      return removal.namespace === undefined ? { type: 'invalidate-tags', tags: removal.tags } : { type: 'invalidate-tags', namespace: removal.namespace, tags: removal.tags }
    case 'clear':
      return removal.namespace === undefined ? { type: 'clear' } : { type: 'clear', namespace: removal.namespace }
    case 'scope':
      return { type: 'erase', prefix: removal.prefix }
  }
}
