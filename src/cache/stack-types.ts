import type { Bus } from '../bus/bus.js'
import type { Entry } from '../core/entry.js'
import type { Level, SharedLevel } from '../core/level.js'
import type { MemoryTier } from '../tiers/memory.js'
import type { Tier } from '../tiers/tier.js'
import type { CircuitState } from './circuit-breaker.js'
import type { EngineEvents } from './events.js'
import type { Instruments } from './instruments/instruments.js'
import type { ScopeLevel } from './scope.js'
import type { Sealer } from './sealing.js'

// The shapes TierStack (tier-stack.ts) takes and answers.

/** The shared tiers of a cache (L2, L3), fastest first, with their levels. */
export type SharedTiers = readonly { readonly level: SharedLevel; readonly tier: Tier }[]

/** An entry, the tier that held it, and whether it was fresh when read. */
export interface Found {
  readonly entry: Entry
  readonly source: Level
  readonly fresh: boolean
}

/**
 * A read-through's read ({@link TierStack.readForFill}): what the tiers hold, and a way to store the
 * factory's result that drops it when something it replaces was invalidated since the read began.
 * Call {@link done} once, when the read-through ends.
 */
export interface Fill {
  /** The fresh entry found, else the freshest stale one, else undefined. */
  readonly found: Found | undefined
  /** Looks in the shared tiers again (another process may have stored the value meanwhile): fresh only, not counted. */
  lookAgain(): Promise<Found | undefined>
  /** Writes the factory's result to every tier; resolves false when it was dropped or undone. */
  store(entry: Entry): Promise<boolean>
  done(): void
}

/** A tier's state, for `/health` and the dashboard. */
export interface TierHealth {
  readonly level: Level
  readonly kind: string
  readonly circuit: CircuitState
  readonly shared: boolean
  readonly durable: boolean
}

/** What a {@link TierStack} is built from: its tiers, instruments, events, bus and sealer. Durations in ms. */
export interface TierStackOptions {
  readonly l1: MemoryTier | undefined
  readonly shared: SharedTiers
  readonly instruments: Instruments
  readonly events: EngineEvents
  readonly circuitBreaker: { readonly failureThreshold: number; readonly openForMs: number }
  /** Longest a shared-tier call may take, in ms. */
  readonly tierTimeoutMs: number
  /**
   * Missed removals remembered one by one per shared tier; past it, recovery clears the namespaces
   * they fell in (see missed-removals.ts). @default 10_000
   */
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

/** Which tiers a walk of the stack reads, and whether it counts: see `TierStack.read`. */
export type Walk = 'every tier' | 'shared again'
