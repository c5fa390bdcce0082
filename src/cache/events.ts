import type { CircuitState } from './circuit-breaker.js'
import type { Level } from '../core/level.js'

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
  'tier:error': [TierErrorEvent]
  'circuit:change': [CircuitChangeEvent]
  'factory:error': [FactoryErrorEvent]
  'entry:corrupt': [CorruptEntryEvent]
  'entry:unreadable': [UnreadableEntryEvent]
  'bus:error': [BusErrorEvent]
  'bus:state': [BusStateEvent]
  'repair:widened': [RepairWidenedEvent]
}
