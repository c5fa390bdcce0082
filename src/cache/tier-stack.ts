import type { Bus, BusMessage } from '../bus/bus.js'
import { type Entry, isFresh } from '../core/entry.js'
import type { Level } from '../core/level.js'
import type { MemoryTier } from '../tiers/memory.js'
import { SetAnnouncer } from './announcer.js'
import type { EngineEvents, MissReason } from './events.js'
import { FAILED, GuardedTier } from './guarded-tier.js'
import type { Instruments } from './instruments/instruments.js'
import { LEVEL_INDEX, MISS_INDEX, MISS_REASONS, type NamespaceSeries, STALE_INDEX, STALE_REASONS, bump } from './instruments/series.js'
import { InvalidationLog, type InvalidationTicket } from './invalidation-log.js'
import { type ReencryptReport, reencryptTiers } from './reencrypt.js'
import { Removals } from './removal.js'
import { type ScopeLevel, levelOf } from './scope.js'
import type { Sealer } from './sealing.js'
import { readShared } from './shared-read.js'
import type { Fill, Found, TierStackOptions, Walk } from './stack-types.js'

export type { Fill, Found, SharedTiers, TierHealth, TierStackOptions } from './stack-types.js'

/**
 * The tiers in order, fastest first: every read of the cache walks L1 → L2 → L3 here, stops at the
 * first fresh hit and backfills the tiers above with the entry as is, so with its remaining ttl.
 * Writes go to every tier. A failing tier never fails the caller: each shared tier is a
 * {@link GuardedTier} (timeouts, a circuit, removals it missed replayed before it serves again), and
 * the stack carries on with the tiers that work. Every change is published on the bus, when there is
 * one, so that other instances drop it from their L1.
 *
 * Every read is issued an {@link InvalidationTicket} and keeps it until its backfills are done, so that
 * nothing invalidated after the read started is written back; so does a read-through, until its
 * factory's result is stored.
 */
export class TierStack {
  readonly l1: MemoryTier | undefined
  readonly invalidations = new InvalidationLog()
  /** The shared tiers, fastest first. */
  readonly shared: readonly GuardedTier[]
  readonly instruments: Instruments
  private readonly events: EngineEvents
  private readonly bus: Bus | undefined
  /** Seals entries for the shared tiers, and opens them on the way up (and for `explain`). */
  readonly sealer: Sealer
  private readonly scopeTiers: Readonly<Record<ScopeLevel, ReadonlySet<Level>>>
  /** Tells other instances of writes, without making writers wait for the publish. */
  private readonly sets: SetAnnouncer | undefined
  private readonly removals: Removals
  private closed = false

  constructor(options: TierStackOptions) {
    this.l1 = options.l1
    this.sealer = options.sealer
    const every: readonly Level[] = ['l1', 'l2', 'l3']
    const tiers = options.scopeTiers ?? { public: every, tenant: every, user: every }
    this.scopeTiers = { public: new Set(tiers.public), tenant: new Set(tiers.tenant), user: new Set(tiers.user) }
    const instruments = (this.instruments = options.instruments)
    this.events = options.events
    this.bus = options.bus
    this.sets = options.bus === undefined ? undefined : new SetAnnouncer((message) => this.publish(message))
    this.shared = options.shared.map(
      ({ level, tier }) =>
        new GuardedTier(level, tier, {
          failureThreshold: options.circuitBreaker.failureThreshold,
          openForMs: options.circuitBreaker.openForMs,
          timeoutMs: options.tierTimeoutMs,
          maxRepairs: options.maxRepairs ?? 10_000,
          onFailure: (operation, error) => {
            instruments.tierError(level, operation)
            this.events.emit('tier:error', { level, kind: tier.kind, operation, error })
          },
          onCircuit: (state) => {
            instruments.circuitChange(level, state)
            this.events.emit('circuit:change', { level, kind: tier.kind, state })
          },
          onRead: instruments.on ? (seconds) => instruments.observeRead(level, seconds) : undefined,
          onWidened: (widened) => this.events.emit('repair:widened', { level, kind: tier.kind, ...widened }),
          now: options.now,
        }),
    )
    this.removals = new Removals(this.l1, this.invalidations, this.shared, this.events, (message) => this.publish(message))
  }

  /**
   * The fresh L1 entry of `(namespace, key)`, counted as an L1 hit in `series` (the namespace's);
   * undefined otherwise, uncounted (the {@link read} that follows counts the miss). The hot path of
   * every cache call: no allocation unless a `tier:hit` listener is attached, and the clock read
   * twice more only for the sampled reads.
   */
  freshInL1(namespace: string, key: string, series: NamespaceSeries, now: number): Entry | undefined {
    const l1 = this.l1
    if (l1 === undefined) return undefined
    const entry = --this.instruments.untilL1Timed > 0 ? l1.peekKey(namespace, key, now) : this.peekL1Timed(l1, namespace, key, now)
    if (entry === undefined || !isFresh(entry, now)) return undefined
    bump(series.hits, 0)
    if (this.events.heard['tier:hit']) this.events.emit('tier:hit', { level: 'l1', namespace, key })
    return entry
  }

  /**
   * Reads `keys` of `namespace` through every tier, fastest first, each shared tier asked once for
   * the keys still missing. One slot per key: the fresh entry found (after backfilling the tiers
   * above it, unless `backfill` is false: a listing's reads, which would otherwise flush L1's working
   * set), else the freshest stale one, else undefined.
   */
  async read(namespace: string, keys: readonly string[], backfill = true): Promise<(Found | undefined)[]> {
    const ticket = this.invalidations.issue()
    try {
      return await this.walk(namespace, keys, ticket, 'every tier', backfill)
    } finally {
      ticket.release()
    }
  }

  /** {@link read} of one key for a read-through, with the {@link Fill} that stores its result. */
  async readForFill(namespace: string, key: string): Promise<Fill> {
    const ticket = this.invalidations.issue()
    try {
      const [found] = await this.walk(namespace, [key], ticket, 'every tier', true)
      return {
        found,
        lookAgain: async () => (await this.walk(namespace, [key], ticket, 'shared again', true))[0],
        store: (entry) => this.write(entry, ticket),
        done: () => ticket.release(),
      }
    } catch (error) {
      ticket.release()
      throw error
    }
  }

  /** A {@link Fill} without the first read, for a refresh ahead of expiry, which has the entry it replaces. */
  fillWithoutRead(namespace: string, key: string): Fill {
    const ticket = this.invalidations.issue()
    return {
      found: undefined,
      lookAgain: async () => (await this.walk(namespace, [key], ticket, 'shared again', true))[0],
      store: (entry) => this.write(entry, ticket),
      done: () => ticket.release(),
    }
  }

  /** Counts and reports a stale entry served to a caller. */
  servedStale(found: Found, reason: 'requested' | 'factory-error' | 'timeout'): void {
    const { namespace, key } = found.entry
    bump(this.instruments.seriesOf(namespace).stale, LEVEL_INDEX[found.source] * STALE_REASONS.length + STALE_INDEX[reason])
    if (this.events.heard['entry:stale']) this.events.emit('entry:stale', { level: found.source, namespace, key, reason })
  }

  /**
   * A caller's set: writes `entry` to every tier, and tells read-throughs in flight for the key that
   * what they produce is outdated.
   */
  async set(entry: Entry): Promise<void> {
    await this.write(entry, undefined)
  }

  /** Removes `(namespace, key)` from every tier and every instance's L1; true when any tier here held it. */
  async delete(namespace: string, key: string): Promise<boolean> {
    const { inL1, results } = await this.removals.apply({ kind: 'key', namespace, key })
    return inL1 || results.some((result) => result === true)
  }

  /** Removes entries carrying any of `tags` from every tier and every instance's L1, in `namespace` or in all. */
  async deleteByTags(tags: readonly string[], namespace?: string): Promise<void> {
    if (tags.length > 0) await this.removals.apply({ kind: 'tags', namespace, tags })
  }

  /** Removes every entry of `namespace`, or every entry, from every tier and every instance's L1. */
  async clear(namespace?: string): Promise<void> {
    await this.removals.apply({ kind: 'clear', namespace })
  }

  /** Erases a scope: every entry of every namespace starting with `prefix`, from every tier and every instance's L1. */
  async erase(prefix: string): Promise<void> {
    await this.removals.apply({ kind: 'scope', prefix })
  }

  /** Applies what another instance changed: drops it from L1 and marks it outdated for what is in flight here. */
  applyRemote(message: BusMessage): void {
    this.removals.applyRemote(message)
  }

  /** Seals again every entry of the shared tiers sealed with an older key; see {@link reencryptTiers}. */
  reencrypt(): Promise<ReencryptReport> {
    return reencryptTiers(this.shared, this.sealer)
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

  /** True when entries of `namespace`'s scope may be held at `level` (`security.tiers`). */
  holds(level: Level, namespace: string): boolean {
    return this.scopeTiers[levelOf(namespace)].has(level)
  }

  /** True when entries of tenants and users may be stored: there are no shared tiers, or a key ring to seal them (or encryption is off). */
  get storesScoped(): boolean {
    return this.shared.length === 0 || this.sealer.canStoreScoped
  }

  /** See `Cache.busState`. */
  get busState(): 'none' | 'listening' | 'deaf' {
    if (this.bus === undefined) return 'none'
    return this.bus.listening ? 'listening' : 'deaf'
  }

  /** Closes every tier and the bus. Writes that come later (a factory that ends after it) are dropped. */
  async close(): Promise<void> {
    this.closed = true
    await this.sets?.drain()
    await Promise.all([
      this.l1?.close(),
      this.bus?.close().catch(() => undefined),
      ...this.shared.map((shared) => shared.tier.close().catch(() => undefined)),
    ])
  }

  /**
   * The walk behind every read. `'every tier'` counts each tier's hits and misses and reports them;
   * `'shared again'` (a read-through's second look, within the same request) reads only the shared
   * tiers, counts nothing, and answers fresh entries only.
   */
  private async walk(namespace: string, keys: readonly string[], ticket: InvalidationTicket, walk: Walk, backfill: boolean): Promise<(Found | undefined)[]> {
    const now = Date.now()
    const counted = walk === 'every tier'
    const series = this.instruments.seriesOf(namespace)
    const found: (Found | undefined)[] = keys.map(() => undefined)
    let missing: number[] = []
    const l1 = this.l1
    if (l1 === undefined || !counted) missing = keys.map((_, index) => index)
    else if (!this.holds('l1', namespace)) {
      missing = keys.map((key, index) => (this.miss('l1', series, namespace, key, 'bypassed'), index))
    } else {
      keys.forEach((key, index) => {
        const entry = l1.isSuspended ? undefined : --this.instruments.untilL1Timed > 0 ? l1.peekKey(namespace, key, now) : this.peekL1Timed(l1, namespace, key, now)
        if (entry !== undefined && isFresh(entry, now)) {
          this.hit('l1', series, namespace, key)
          found[index] = { entry, source: 'l1', fresh: true }
          return
        }
        this.miss('l1', series, namespace, key, l1.isSuspended ? 'suspended' : entry !== undefined ? 'expired' : (l1.whyAbsent(namespace, key) ?? 'absent'))
        if (entry !== undefined) found[index] = { entry, source: 'l1', fresh: false }
        missing.push(index)
      })
    }
    for (let i = 0; i < this.shared.length && missing.length > 0; i++) {
      const shared = this.shared[i] as GuardedTier
      const level = shared.level
      if (!this.holds(level, namespace)) {
        if (counted) for (const index of missing) this.miss(level, series, namespace, keys[index] as string, 'bypassed')
        continue
      }
      const read = await readShared(shared, namespace, missing.map((index) => keys[index] as string), this.sealer, this.events)
      const stillMissing: number[] = []
      missing.forEach((index, j) => {
        const key = keys[index] as string
        const entry = read[j] as Entry | MissReason
        if (typeof entry !== 'string' && isFresh(entry, now)) {
          if (counted) this.hit(level, series, namespace, key)
          found[index] = { entry, source: level, fresh: true }
          if (backfill) this.backfill(i, entry, ticket)
          return
        }
        if (counted) this.miss(level, series, namespace, key, typeof entry === 'string' ? entry : 'expired')
        if (typeof entry !== 'string' && counted && (found[index] === undefined || entry.freshUntil > (found[index] as Found).entry.freshUntil)) {
          found[index] = { entry, source: level, fresh: false }
        }
        stillMissing.push(index)
      })
      missing = stillMissing
    }
    return found
  }

  /** An L1 lookup whose sampling countdown ran out: timed, unless nothing is. */
  private peekL1Timed(l1: MemoryTier, namespace: string, key: string, now: number): Entry | undefined {
    if (!this.instruments.l1TimedNow()) return l1.peekKey(namespace, key, now)
    const started = performance.now()
    const entry = l1.peekKey(namespace, key, now)
    this.instruments.observeRead('l1', (performance.now() - started) / 1000)
    return entry
  }

  private hit(level: Level, series: NamespaceSeries, namespace: string, key: string): void {
    bump(series.hits, LEVEL_INDEX[level])
    if (this.events.heard['tier:hit']) this.events.emit('tier:hit', { level, namespace, key })
  }

  private miss(level: Level, series: NamespaceSeries, namespace: string, key: string, reason: MissReason): void {
    bump(series.misses, LEVEL_INDEX[level] * MISS_REASONS.length + MISS_INDEX[reason])
    if (this.events.heard['tier:miss']) this.events.emit('tier:miss', { level, namespace, key, reason })
  }

  /**
   * Copies a hit of shared tier `foundAt` into the tiers above it, unless it was invalidated since
   * the read began. The shared tiers above are filled in the background, holding the ticket until
   * they are done: the caller has its value already.
   */
  private backfill(foundAt: number, entry: Entry, ticket: InvalidationTicket): void {
    const { namespace, key, tags } = entry
    if (this.closed || ticket.isOutdated(namespace, key, tags)) return
    this.putInL1(entry, true)
    const above = this.shared.slice(0, foundAt).filter((shared) => this.holds(shared.level, namespace))
    if (above.length === 0) return
    ticket.hold()
    void Promise.all(above.map((shared) => this.writeShared(shared, entry, true)))
      .then(async () => {
        if (ticket.isOutdated(namespace, key, tags)) await this.delete(namespace, key)
      })
      .finally(() => ticket.release())
  }

  /**
   * Writes `entry` to every tier. With a ticket (a factory's result), the write is skipped, or undone,
   * when the entry was invalidated since the ticket was issued, and dropped once the stack is closed;
   * without one (a caller's set), read-throughs in flight for the key are told they are outdated.
   * Resolves false when the write was skipped or undone.
   */
  private async write(entry: Entry, ticket: InvalidationTicket | undefined): Promise<boolean> {
    const { namespace, key, tags } = entry
    if (ticket === undefined) this.invalidations.key(namespace, key)
    else if (this.closed || ticket.isOutdated(namespace, key, tags)) return false
    const sealed = this.shared.length === 0 ? entry : this.sealer.seal(entry)
    this.putInL1(entry, false)
    await Promise.all(this.shared.map((shared) => (this.holds(shared.level, namespace) ? this.writeShared(shared, sealed, false) : undefined)))
    // Only once the shared tiers hold the new value: an instance that drops its copy on this message
    // and reads again must find the new value, not the one being replaced. Not awaited: the value is
    // in place, and the message only ends others' use of their old copies (close() waits for it).
    this.sets?.announce(namespace, key)
    // An invalidation may have run while the shared tiers were being written: undo, so it wins.
    if (ticket !== undefined && ticket.isOutdated(namespace, key, tags)) {
      await this.delete(namespace, key)
      return false
    }
    return true
  }

  /** Puts the entry in L1, unless there is none or the entry's scope stays out of it. */
  private putInL1(entry: Entry, backfill: boolean): void {
    if (this.l1 === undefined || !this.holds('l1', entry.namespace)) return
    // Not counted when L1 dropped it: suspended while the bus is deaf, or too large for it.
    if (!this.l1.put(entry)) return
    bump(this.instruments.seriesOf(entry.namespace).writes, backfill ? 1 : 0)
    if (this.events.heard['tier:write']) this.events.emit('tier:write', { level: 'l1', namespace: entry.namespace, key: entry.key, backfill })
  }

  /** Writes to one shared tier; a failed write is remembered as a removal of the key there. */
  private async writeShared(shared: GuardedTier, entry: Entry, backfill: boolean): Promise<void> {
    const done = await shared.call('set', (tier) => tier.set(entry))
    if (done === FAILED) {
      shared.missed({ kind: 'key', namespace: entry.namespace, key: entry.key })
      return
    }
    bump(this.instruments.seriesOf(entry.namespace).writes, LEVEL_INDEX[shared.level] * 2 + (backfill ? 1 : 0))
    if (this.events.heard['tier:write']) this.events.emit('tier:write', { level: shared.level, namespace: entry.namespace, key: entry.key, backfill })
  }

  /** Tells the other instances; a failure is reported, not thrown: their L1 expires it at worst. */
  private async publish(message: BusMessage): Promise<void> {
    if (this.bus === undefined) return
    try {
      await this.bus.publish(message)
      this.instruments.busSent++
    } catch (error) {
      this.events.emit('bus:error', { operation: 'publish', error })
    }
  }
}
