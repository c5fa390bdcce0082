import type { FastifyBaseLogger } from 'fastify'
import type { Cache } from '../cache/cache.js'
import { Episodes } from './episodes.js'
import type { BusErrorEvent, BusStateEvent, CircuitChangeEvent, CorruptEntryEvent, FactoryErrorEvent, OriginCallEvent, RepairWidenedEvent, TierErrorEvent } from '../cache/events.js'

/** Options of {@link logCacheEvents}. */
export interface CacheEventLogOptions {
  /** Without a failure (or a slow origin call) for this long, an episode ends, ms. @default 60_000 */
  readonly quietMs?: number
  /** An origin call at least this long is slow, ms. @default 1_000 */
  readonly slowOriginMs?: number
}

/**
 * Writes the cache's events to the server's log, so that an operator sees a failing tier, a circuit
 * opening and closing, a failing or slow origin and corrupt entries. Failures and slow origin calls
 * are logged once per episode (see episodes.ts): the first failure of a tier, of an origin (per
 * namespace) or of the bus, or the first slow origin call of a namespace; then one line with the
 * count when the episode ends (the tier's circuit closes, the bus listens again, an origin call is
 * fast again, or `quietMs` pass without another); never a line per request. Lines carry the tier
 * (`l1`..`l3`; pino's own `level` is the log level), its kind and namespaces, never keys or values.
 * Returns the function that stops it.
 */
export function logCacheEvents(cache: Cache, log: FastifyBaseLogger, options: CacheEventLogOptions = {}): () => void {
  const { quietMs, slowOriginMs = 1_000 } = options
  const tierFailures = new Episodes<TierErrorEvent>({
    quietMs,
    started: (_, { level, kind, operation, error }) =>
      log.warn({ event: 'tier:error', tier: level, kind, operation, err: error }, `${level} ${kind} tier failing (first failure on ${operation}); further failures are counted, not logged`),
    ended: (level, { failures, lastedMs, how }) =>
      log.info(
        { event: 'tier:recovered', tier: level, failures, lastedMs },
        `${level} tier: ${failures} failure(s) over ${lastedMs} ms; ${how === 'ended' ? 'its circuit closed' : 'none for a while'}`,
      ),
  })
  const originFailures = new Episodes<FactoryErrorEvent>({
    quietMs,
    started: (namespace, { servedStale }) =>
      log.warn({ event: 'factory:error', namespace, servedStale }, `origin failing in namespace ${namespace}; further failures are counted, not logged`),
    ended: (namespace, { failures, lastedMs }) =>
      log.info({ event: 'factory:recovered', namespace, failures, lastedMs }, `origin of namespace ${namespace}: ${failures} failure(s) over ${lastedMs} ms, none since`),
  })
  const slowOrigins = new Episodes<OriginCallEvent>({
    quietMs,
    started: (namespace, { durationMs }) =>
      log.warn(
        { event: 'origin:slow', namespace, durationMs: Math.round(durationMs), slowOriginMs },
        `origin slow in namespace ${namespace}: a call took ${Math.round(durationMs)} ms (slow from ${slowOriginMs} ms); further slow calls are counted, not logged`,
      ),
    ended: (namespace, { failures, lastedMs, how }) =>
      log.info(
        { event: 'origin:fast', namespace, slowCalls: failures, lastedMs },
        `origin of namespace ${namespace}: ${failures} slow call(s) over ${lastedMs} ms; ${how === 'ended' ? 'fast again' : 'none slow for a while'}`,
      ),
  })
  const busFailures = new Episodes<BusErrorEvent>({
    quietMs,
    started: (operation, { error }) => log.warn({ event: 'bus:error', operation, err: error }, `bus ${operation} failing; further failures are counted, not logged`),
    ended: (operation, { failures, lastedMs }) => log.info({ event: 'bus:recovered', operation, failures, lastedMs }, `bus ${operation}: ${failures} failure(s) over ${lastedMs} ms`),
  })

  const onTierError = (event: TierErrorEvent) => tierFailures.failure(event.level, event)
  const onCircuit = ({ level, kind, state }: CircuitChangeEvent) => {
    ;(state === 'open' ? log.warn : log.info).call(log, { event: 'circuit:change', tier: level, kind, state }, `${level} ${kind} circuit ${state}`)
    if (state === 'closed') tierFailures.end(level)
  }
  const onFactoryError = (event: FactoryErrorEvent) => originFailures.failure(event.namespace, event)
  const onOriginCall = (event: OriginCallEvent) => {
    if (event.durationMs >= slowOriginMs) slowOrigins.failure(event.namespace, event)
    else if (event.outcome === 'ok') slowOrigins.end(event.namespace)
  }
  const onCorrupt = ({ level, namespace }: CorruptEntryEvent) =>
    log.error({ event: 'entry:corrupt', tier: level, namespace }, `corrupt entry dropped from ${level}`)
  const onBusError = (event: BusErrorEvent) => busFailures.failure(event.operation, event)
  const onBusState = ({ listening, reason }: BusStateEvent) => {
    if (!listening) {
      log.warn({ event: 'bus:state', listening, reason }, `bus deaf (${reason ?? 'unknown'}): L1 cleared and bypassed`)
      return
    }
    log.info({ event: 'bus:state', listening }, 'bus listening: L1 in use')
    for (const operation of ['publish', 'subscribe', 'lock']) busFailures.end(operation)
  }
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
    .on('origin:call', onOriginCall)
    .on('entry:corrupt', onCorrupt)
    .on('bus:error', onBusError)
    .on('bus:state', onBusState)
  return () => {
    tierFailures.stop()
    originFailures.stop()
    slowOrigins.stop()
    busFailures.stop()
    cache
      .off('repair:widened', onWidened)
      .off('tier:error', onTierError)
      .off('circuit:change', onCircuit)
      .off('factory:error', onFactoryError)
      .off('origin:call', onOriginCall)
      .off('entry:corrupt', onCorrupt)
      .off('bus:error', onBusError)
      .off('bus:state', onBusState)
  }
}
