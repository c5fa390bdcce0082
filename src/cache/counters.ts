import type { Level } from '../core/level.js'

/** Monotonic counters of one tier. */
export interface TierCounters {
  /** Lookups this tier answered with a fresh entry. */
  hits: number
  /** Lookups that reached this tier and found no fresh entry. */
  misses: number
  /** Entries written (sets and backfills). */
  writes: number
  /** Operations that threw or timed out. */
  errors: number
}

/**
 * The engine's counters: plain fields bumped on the hot path, read by stats, Prometheus and the
 * dashboard. Never labelled by key.
 */
export class Counters {
  /** Lookups of a key (get, getOrSet, each key of getMany). */
  requests = 0
  readonly tiers: Record<Level, TierCounters> = { l1: tierCounters(), l2: tierCounters(), l3: tierCounters() }
  /** Factory (origin) calls started. */
  originCalls = 0
  /** Factory calls that threw. */
  originErrors = 0
  /** Factory calls that passed their soft or hard timeout. */
  originTimeouts = 0
  /** Answers served from a stale entry (fail-safe, soft timeout). */
  staleServed = 0
  /** Requests that joined a factory call already in flight (single flight). */
  coalesced = 0
}

function tierCounters(): TierCounters {
  return { hits: 0, misses: 0, writes: 0, errors: 0 }
}
