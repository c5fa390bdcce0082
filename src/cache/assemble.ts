import { EventEmitter } from 'node:events'
import type { Bus } from '../bus/bus.js'
import type { SharedLevel } from '../core/level.js'
import { Counters } from './counters.js'
import type { KeyRing } from '../security/crypto/key-ring.js'
import { MemoryTier } from '../tiers/memory.js'
import type { Tier } from '../tiers/tier.js'
import { Cache, CacheCore } from './cache.js'
import type { CacheEvents } from './events.js'
import type { ResolvedCacheOptions } from './options.js'
import type { CrossProcessLock } from './read-through.js'
import { Sealer } from './sealing.js'
import { TierStack } from './tier-stack.js'

/** The shared tiers of a cache, fastest first, with their levels. */
export type LowerTiers = readonly { readonly level: SharedLevel; readonly tier: Tier }[]

/** What connects a cache to other processes: the bus (L1 coherence) and the lock (single flight). */
export interface Coordination {
  readonly bus?: Bus
  readonly crossProcess?: CrossProcessLock
}

/** What a cache is assembled with besides its tiers. */
export interface Assembly extends Coordination {
  /** Seals non-public entries in shared tiers; `false`: stored in plain text; undefined: none (no scoped views). */
  readonly keyRing?: KeyRing | false
  /** The clock of the shared tiers' circuit breakers, epoch ms, for tests. @default Date.now */
  readonly now?: () => number
}

/**
 * Builds a cache from resolved options and already opened shared tiers; L1 comes from the options.
 * With a bus, L1 starts suspended and is used only while the bus listens: an instance that may have
 * missed an invalidation serves nothing from L1.
 */
export function assembleCache(options: ResolvedCacheOptions, lower: LowerTiers, assembly: Assembly = {}): Cache {
  const events = new EventEmitter<CacheEvents>()
  const counters = new Counters()
  const l1 = options.l1 === false ? undefined : new MemoryTier(options.l1)
  const { bus, crossProcess, keyRing } = assembly
  const stack = new TierStack({
    l1,
    lower,
    counters,
    events,
    circuitBreaker: options.circuitBreaker,
    tierTimeoutMs: options.tierTimeout,
    bus,
    sealer: new Sealer(keyRing),
    scopeTiers: options.security.tiers,
    now: assembly.now,
  })
  if (bus !== undefined) listen(bus, stack, events)
  const cache = new Cache(new CacheCore(options, stack, counters, events, crossProcess), options.namespace)
  return cache
}

function listen(bus: Bus, stack: TierStack, events: EventEmitter<CacheEvents>): void {
  stack.distrustL1()
  bus
    .start({
      message: (message) => stack.applyRemote(message),
      deaf: (reason) => {
        stack.distrustL1()
        events.emit('bus:state', { listening: false, reason })
      },
      listening: () => {
        stack.l1?.resume()
        events.emit('bus:state', { listening: true })
      },
    })
    .then(() => {
      if (bus.listening && stack.l1?.isSuspended === true) stack.l1.resume()
    })
    .catch((error: unknown) => events.emit('bus:error', { operation: 'subscribe', error }))
}
