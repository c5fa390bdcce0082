import type { Bus } from '../bus/bus.js'
import type { KeyRing } from '../security/crypto/key-ring.js'
import { MemoryTier } from '../tiers/memory.js'
import { Cache } from './cache.js'
import { CacheCore } from './cache-core.js'
import { EngineEvents } from './events.js'
import { Instruments } from './instruments/instruments.js'
import { EVICTION_INDEX, bump } from './instruments/series.js'
import type { ResolvedCacheOptions } from './options.js'
import type { CrossProcessLock } from './read-through.js'
import { Sealer } from './sealing.js'
import { type SharedTiers, TierStack } from './tier-stack.js'

export type { SharedTiers } from './tier-stack.js'

/** What connects a cache to other processes: the bus (L1 coherence) and the lock (single flight). */
export interface Coordination {
  readonly bus?: Bus
  readonly crossProcess?: CrossProcessLock
}

/** What a cache is assembled with besides its tiers. */
export interface Assembly extends Coordination {
  /** Seals non-public entries in shared tiers; `false`: stored in plain text; undefined: none (no scoped views). */
  readonly keyRing?: KeyRing | false
  /** The clock of the shared tiers' circuit breakers and of their counts for `metrics()`, epoch ms, for tests. @default Date.now */
  readonly now?: () => number
}

/**
 * Builds a cache from resolved options and already opened shared tiers (L2, L3); L1 comes from the options.
 * With a bus, L1 starts suspended and is used only while the bus listens: an instance that may have
 * missed an invalidation serves nothing from L1.
 */
export function assembleCache(options: ResolvedCacheOptions, shared: SharedTiers, assembly: Assembly = {}): Cache {
  const events = new EngineEvents()
  const instruments = new Instruments(options.metrics)
  const l1 =
    options.l1 === false
      ? undefined
      : new MemoryTier({
          ...options.l1,
          onEvict: (entry, reason) => {
            bump(instruments.seriesOf(entry.namespace).evictions, EVICTION_INDEX[reason])
            if (events.heard['entry:evict']) events.emit('entry:evict', { level: 'l1', namespace: entry.namespace, key: entry.key, reason })
          },
        })
  const { bus, crossProcess, keyRing } = assembly
  const stack = new TierStack({
    l1,
    shared,
    instruments,
    events,
    circuitBreaker: options.circuitBreaker,
    tierTimeoutMs: options.tierTimeoutMs,
    bus,
    sealer: new Sealer(keyRing),
    scopeTiers: options.security.tiers,
    now: assembly.now,
  })
  if (bus !== undefined) listen(bus, stack, events)
  const cache = new Cache(new CacheCore(options, stack, instruments, events, crossProcess, assembly.now, options.policies), options.namespace)
  return cache
}

function listen(bus: Bus, stack: TierStack, events: EngineEvents): void {
  stack.distrustL1()
  bus
    .start({
      message: (message) => {
        stack.instruments.busReceived++
        stack.applyRemote(message)
      },
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
