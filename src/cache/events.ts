import { EventEmitter } from 'node:events'
import type { Level } from '../core/level.js'
import type { EvictionReason } from '../tiers/memory.js'
import type { CircuitState } from './circuit-breaker.js'
import type { Removal } from './removal.js'

/**
 * A tier operation threw. The stack carried on without that tier, except for a key listing
 * (`operation: 'keys'`), which has no other tier to ask and rejects with `TC_TIER_UNAVAILABLE`.
 */
export interface TierErrorEvent {
  readonly level: Level
  readonly kind: string
  readonly operation: string
  readonly error: unknown
}

/** A tier's circuit changed state. */
export interface CircuitChangeEvent {
  readonly level: Level
  readonly kind: string
  readonly state: CircuitState
}

/** A factory threw or timed out. `servedStale` tells whether the caller got a stale value instead. */
export interface FactoryErrorEvent {
  readonly namespace: string
  readonly key: string
  readonly error: unknown
  readonly servedStale: boolean
}

/**
 * A factory (origin) call ended: with a value (`ok`), by throwing (`error`), or past its hard timeout
 * (`timeout`; a late result still ends the call, but is not reported again). `namespace` is the
 * storage namespace, as in every event.
 */
export interface OriginCallEvent {
  readonly namespace: string
  readonly key: string
  readonly outcome: 'ok' | 'error' | 'timeout'
  /** From the factory's call to its end, ms. */
  readonly durationMs: number
}

/** A stored entry could not be decoded and was removed. */
export interface CorruptEntryEvent {
  readonly level: Level
  readonly namespace: string
  readonly key: string
}

/**
 * An encrypted entry names a master key this process's key ring lacks (written after a rotation
 * this process has not loaded): served as a miss, and left in place for processes that hold the key.
 */
export interface UnreadableEntryEvent {
  readonly level: Level
  readonly namespace: string
  readonly key: string
  readonly error: unknown
}

/** The bus failed to publish or subscribe, or the cross-process lock failed (each process then flies alone). */
export interface BusErrorEvent {
  readonly operation: 'publish' | 'subscribe' | 'lock'
  readonly error: unknown
}

/**
 * The bus stopped or started listening. While deaf, L1 is cleared and bypassed, so that no value
 * invalidated elsewhere meanwhile is served from it.
 */
export interface BusStateEvent {
  readonly listening: boolean
  /** Why it went deaf: `'disconnected'`, `'gap'`, `'bad-message'`, `'unsubscribed'`. */
  readonly reason?: string
}

/**
 * Why a tier that was asked for a key did not answer it fresh:
 * - `absent`: the tier holds no entry (for L1: none that it knows left for one of the reasons below);
 * - `expired`: its entry is past its ttl (stale within grace, or past grace and dropped);
 * - `invalidated`: L1 dropped it for a delete, tag invalidation, clear or erasure, here or elsewhere;
 * - `evicted`: L1 dropped it to stay within `maxEntries` or `maxBytes`;
 * - `unavailable`: the shared tier failed, timed out, or its circuit is open;
 * - `suspended`: L1 is bypassed while the bus is deaf;
 * - `unreadable`: the entry could not be decrypted or decoded (see `entry:unreadable`, `entry:corrupt`);
 * - `bypassed`: the tier was not asked, since the entry's scope is kept out of it (`security.tiers`).
 *
 * L1 remembers why the last 1,024 keys it dropped left; older ones miss as `absent`.
 */
export type MissReason = 'absent' | 'expired' | 'invalidated' | 'evicted' | 'unavailable' | 'suspended' | 'unreadable' | 'bypassed'

/**
 * A tier answered a lookup with a fresh entry. `namespace` is the storage namespace (a scoped view's
 * name behind its scope prefix; see scope.ts `namespaceOf`), as in every event.
 */
export interface HitEvent {
  readonly level: Level
  readonly namespace: string
  readonly key: string
}

/**
 * A tier was asked for a key and had no fresh entry, or was passed over (`bypassed`) since the key's
 * scope is kept out of it; the next tier, or the factory, is asked.
 */
export interface MissEvent {
  readonly level: Level
  readonly namespace: string
  readonly key: string
  readonly reason: MissReason
}

/**
 * A stale entry (past its ttl, within grace) was served: `requested` by `get({ allowStale })`,
 * because the factory failed (`factory-error`), or passed its soft or hard timeout (`timeout`).
 */
export interface StaleEvent {
  /** The tier the stale entry came from. */
  readonly level: Level
  readonly namespace: string
  readonly key: string
  readonly reason: 'requested' | 'factory-error' | 'timeout'
}

/** An entry was written to a tier: by a set or a factory result, or as a backfill of a hit in a slower tier. */
export interface WriteEvent {
  readonly level: Level
  readonly namespace: string
  readonly key: string
  readonly backfill: boolean
}

/** L1 dropped an entry on its own: to stay within `maxEntries` (`count`) or `maxBytes` (`size`), or past its grace (`expired`). */
export interface EvictEvent {
  readonly level: 'l1'
  readonly namespace: string
  readonly key: string
  readonly reason: EvictionReason
}

/**
 * A removal was applied: asked of this cache (`remote: false`: applied to every tier, then published),
 * or heard from another instance on the bus (`remote: true`: applied to L1).
 */
export interface RemovalEvent {
  readonly removal: Removal
  readonly remote: boolean
  /** True for a key removal heard because another instance set the key: this one drops its old copy from L1. */
  readonly bySet?: boolean
}

/**
 * A shared tier missed more removals than it remembers one by one (`maxRepairs`, 10,000), and its
 * recovery removed whole namespaces instead: every entry of `namespaces`, of the scopes of
 * `prefixes`, and everywhere the entries carrying `tags`. Never any other namespace: the tier is
 * shared with other instances and applications. Only `all` (a missed clear of every namespace)
 * empties the whole tier, because that is what was asked.
 */
export interface RepairWidenedEvent {
  readonly level: Level
  readonly kind: string
  /** Removals missed (a repeat of one still remembered one by one is not counted again). */
  readonly missed: number
  readonly namespaces: readonly string[]
  readonly prefixes: readonly string[]
  readonly tags: readonly string[]
  readonly all: boolean
}

/** Typed events of a cache; listen with `cache.on(name, listener)`. */
export interface CacheEvents {
  'tier:hit': [HitEvent]
  'tier:miss': [MissEvent]
  'tier:write': [WriteEvent]
  'entry:stale': [StaleEvent]
  'entry:evict': [EvictEvent]
  removal: [RemovalEvent]
  'tier:error': [TierErrorEvent]
  'circuit:change': [CircuitChangeEvent]
  'factory:error': [FactoryErrorEvent]
  'origin:call': [OriginCallEvent]
  'entry:corrupt': [CorruptEntryEvent]
  'entry:unreadable': [UnreadableEntryEvent]
  'bus:error': [BusErrorEvent]
  'bus:state': [BusStateEvent]
  'repair:widened': [RepairWidenedEvent]
}

/** The name of a cache event. */
export type CacheEventName = keyof CacheEvents

/**
 * The events of one cache and its views. Emitting costs one property read while an event has no
 * listener: callers test {@link heard} before they build a payload, so the engine's activity events
 * (hits, misses, writes) can stay on in production. Listeners run synchronously, inside the cache
 * call that emits; a listener that throws makes that call reject, so keep them small and safe.
 */
export class EngineEvents {
  /** Per event, true while it has at least one listener. */
  readonly heard: Record<CacheEventName, boolean> = {
    'tier:hit': false,
    'tier:miss': false,
    'tier:write': false,
    'entry:stale': false,
    'entry:evict': false,
    removal: false,
    'tier:error': false,
    'circuit:change': false,
    'factory:error': false,
    'origin:call': false,
    'entry:corrupt': false,
    'entry:unreadable': false,
    'bus:error': false,
    'bus:state': false,
    'repair:widened': false,
  }
  // Untyped inside: on, off and emit above are the typed surface.
  private readonly emitter = new EventEmitter()

  on<E extends CacheEventName>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    this.emitter.on(event, listener as (...args: unknown[]) => void)
    this.heard[event] = true
  }

  off<E extends CacheEventName>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    this.emitter.off(event, listener as (...args: unknown[]) => void)
    this.heard[event] = this.emitter.listenerCount(event) > 0
  }

  emit<E extends CacheEventName>(event: E, ...args: CacheEvents[E]): void {
    if (this.heard[event]) this.emitter.emit(event, ...args)
  }
}
