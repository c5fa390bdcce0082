import type { FastifyBaseLogger } from 'fastify'
import type { Cache } from '../cache/cache.js'
import type { BusErrorEvent, BusStateEvent, CircuitChangeEvent, CorruptEntryEvent, FactoryErrorEvent, RepairWidenedEvent, TierErrorEvent } from '../cache/events.js'

/**
 * Writes the cache's events to the server's log, so that an operator sees a failing tier, a circuit
 * opening and closing, a failing origin and corrupt entries. Lines carry the tier (`l1`..`l3`; pino's
 * own `level` is the log level), its kind and namespaces, never keys or values. Returns the function
 * that stops it.
 */
export function logCacheEvents(cache: Cache, log: FastifyBaseLogger): () => void {
  const onTierError = ({ level, kind, operation, error }: TierErrorEvent) =>
    log.warn({ event: 'tier:error', tier: level, kind, operation, err: error }, `${level} ${kind} tier failed on ${operation}`)
  const onCircuit = ({ level, kind, state }: CircuitChangeEvent) =>
    (state === 'open' ? log.warn : log.info).call(log, { event: 'circuit:change', tier: level, kind, state }, `${level} ${kind} circuit ${state}`)
  const onFactoryError = ({ namespace, servedStale }: FactoryErrorEvent) =>
    log.warn({ event: 'factory:error', namespace, servedStale }, `origin failed in namespace ${namespace}`)
  const onCorrupt = ({ level, namespace }: CorruptEntryEvent) =>
    log.error({ event: 'entry:corrupt', tier: level, namespace }, `corrupt entry dropped from ${level}`)
  const onBusError = ({ operation, error }: BusErrorEvent) => log.warn({ event: 'bus:error', operation, err: error }, `bus ${operation} failed`)
  const onBusState = ({ listening, reason }: BusStateEvent) =>
    listening
      ? log.info({ event: 'bus:state', listening }, 'bus listening: L1 in use')
      : log.warn({ event: 'bus:state', listening, reason }, `bus deaf (${reason ?? 'unknown'}): L1 cleared and bypassed`)
  const onWidened = ({ level, kind, missed, namespaces, prefixes, tags, all }: RepairWidenedEvent) =>
    log.warn(
      { event: 'repair:widened', tier: level, kind, missed, namespaces: namespaces.length, prefixes: prefixes.length, tags: tags.length, all },
      all
        ? `${level} ${kind} tier missed a clear of every namespace: cleared whole`
        : `${level} ${kind} tier missed ${missed} removals: cleared the ${namespaces.length} namespaces they fell in (and ${prefixes.length} erased scopes), no other`,
    )
  cache
    .on('repair:widened', onWidened)
    .on('tier:error', onTierError)
    .on('circuit:change', onCircuit)
    .on('factory:error', onFactoryError)
    .on('entry:corrupt', onCorrupt)
    .on('bus:error', onBusError)
    .on('bus:state', onBusState)
  return () => {
    cache
      .off('repair:widened', onWidened)
      .off('tier:error', onTierError)
      .off('circuit:change', onCircuit)
      .off('factory:error', onFactoryError)
      .off('entry:corrupt', onCorrupt)
      .off('bus:error', onBusError)
      .off('bus:state', onBusState)
  }
}
