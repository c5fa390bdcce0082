import { EventEmitter } from 'node:events'
import { Counters, type Level } from '../metrics/counters.js'
import { MemoryTier } from '../tiers/memory.js'
import type { Tier } from '../tiers/tier.js'
import { Cache, CacheCore } from './cache.js'
import type { CacheEvents } from './events.js'
import type { ResolvedCacheOptions } from './options.js'
import { TierStack } from './tier-stack.js'

/** The shared tiers of a cache, fastest first, with their levels. */
export type LowerTiers = readonly { readonly level: Exclude<Level, 'l1'>; readonly tier: Tier }[]

/** Builds a cache from resolved options and already opened shared tiers; L1 comes from the options. */
export function assembleCache(options: ResolvedCacheOptions, lower: LowerTiers): Cache {
  const events = new EventEmitter<CacheEvents>()
  const counters = new Counters()
  const l1 = options.l1 === false ? undefined : new MemoryTier(options.l1)
  const stack = new TierStack({ l1, lower, counters, events, circuitBreaker: options.circuitBreaker, tierTimeoutMs: options.tierTimeout })
  return new Cache(new CacheCore(options, stack, counters, events), options.namespace)
}
