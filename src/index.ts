import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { DeferredBus, DeferredLock } from './bus/deferred.js'
import type { Cache } from './cache/cache.js'
import { type Coordination, assembleCache } from './cache/assemble.js'
import { keyRingFor } from './cache/key-ring.js'
import { type CacheOptions as EngineOptions, type ResolvedCacheOptions, resolveCacheOptions } from './cache/options.js'
import { Policy } from './policy/layer.js'
import type { PolicyConfig, PolicyConfigInput } from './policy/config.js'
import type { PolicyHook } from './cache/policy-hook.js'
import { lazy } from './core/lazy.js'
import { CacheClosedError } from './errors.js'
import { DeferredTier } from './tiers/deferred.js'
import type { Tier } from './tiers/tier.js'

/**
 * Options of {@link createCache} (see the table of the engine's options in cache/options.ts), with
 * `policies` also as a plain policy configuration (docs/policies.md), validated here.
 */
export type CacheOptions = Omit<EngineOptions, 'policies'> & { readonly policies?: PolicyConfigInput | PolicyConfig | PolicyHook }

/**
 * Creates a cache: an L1 memory tier and an L3 SQL tier (an SQLite file by default), behind one API.
 * Synchronous: a PostgreSQL tier connects and migrates in the background, and calls wait for it.
 *
 * @example
 * const cache = createCache({ namespace: 'flights', ttl: '5m', grace: '1h' })
 * const fares = await cache.getOrSet('JFK:LHR', () => fetchFares('JFK', 'LHR'), { tags: ['route:JFK:LHR'] })
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when options are invalid, or the key ring
 *   (`TIERCACHE_KEYS`, a key file) is; nothing is left open then
 */
export function createCache(options?: CacheOptions): Cache {
  const policies = options?.policies
  const hook = policies === undefined || typeof (policies as Partial<PolicyHook>).decide === 'function' ? (policies as PolicyHook | undefined) : new Policy(policies as PolicyConfigInput | PolicyConfig)
  const resolved = resolveCacheOptions({ ...options, policies: hook })
  // What can fail is resolved before anything opens, so that a refused cache leaves nothing behind.
  const keyRing = keyRingFor(resolved)
  const shared: { level: 'l2' | 'l3'; tier: Tier }[] = []
  const l2 = resolved.l2 === false ? undefined : openRedis(resolved.l2)
  if (l2 !== undefined) shared.push({ level: 'l2', tier: l2.tier })
  const l3 = openL3(resolved.l3)
  if (l3 !== undefined) shared.push({ level: 'l3', tier: l3 })
  try {
    return assembleCache(resolved, shared, { ...l2?.coordination, keyRing })
  } catch (error) {
    // Tiers open on first use and the bus on start: close whatever got that far.
    const { bus, crossProcess } = l2?.coordination ?? {}
    void Promise.all([...shared.map(({ tier }) => tier.close()), bus?.close(), crossProcess?.lock.close()]).catch(() => undefined)
    throw error
  }
}

/**
 * The Redis tier, bus and lock of an `l2` option, over one set of connections (one command client,
 * one subscriber), created on first use: ioredis is an optional dependency, imported then. Each of
 * the three releases the connections when it closes, and the last closes them (a client passed in
 * stays open: it is the caller's). The three share the key prefix, so that caches with different
 * prefixes share nothing.
 */
function openRedis(l2: Exclude<ResolvedCacheOptions['l2'], false>): { tier: Tier; coordination: Coordination } {
  const { prefix, commandTimeoutMs } = l2
  const id = randomUUID()
  const connections = lazy(
    async () => {
      const { createRedisConnections } = await import('./redis/connections.js')
      // A RedisClientLike is an ioredis client by contract (options.ts checks its shape).
      return createRedisConnections(l2.redis as string | Redis | Cluster, { name: id, commandTimeoutMs })
    },
    () => new CacheClosedError('redis is closed'),
  )
  const tier = new DeferredTier('redis', { shared: true, durable: false, boundedCalls: true }, async () => {
    const { createRedisTier } = await import('./tiers/redis/index.js')
    return createRedisTier({ connection: await connections.get(), prefix, commandTimeoutMs })
  })
  const bus = l2.bus
    ? new DeferredBus(id, async () => {
        const { createRedisBus } = await import('./bus/redis.js')
        return createRedisBus({ connection: await connections.get(), id, channel: `${prefix}:bus`, commandTimeoutMs })
      })
    : undefined
  const lock = l2.lock
    ? new DeferredLock(async () => {
        const { createRedisLock } = await import('./bus/redis-lock.js')
        return createRedisLock({ connection: await connections.get(), prefix: `${prefix}:lock:`, channel: `${prefix}:lock-released`, commandTimeoutMs })
      })
    : undefined
  return { tier, coordination: { bus, crossProcess: lock === undefined ? undefined : { lock, ttlMs: l2.lockTtlMs } } }
}

function openL3(l3: ResolvedCacheOptions['l3']): Tier | undefined {
  if (l3 === false) return undefined
  if ('sqlite' in l3) {
    const path = l3.sqlite
    const onDisk = path !== ':memory:'
    return new DeferredTier('sqlite', { shared: onDisk, durable: onDisk }, async () => {
      const { createSqliteTier } = await import('./tiers/sql/sqlite/index.js')
      return createSqliteTier({ path, cleanupIntervalMs: l3.cleanupIntervalMs })
    })
  }
  const url = l3.postgres
  return new DeferredTier('postgres', { shared: true, durable: true }, async () => {
    const { createPostgresTier } = await import('./tiers/sql/postgres/index.js')
    return createPostgresTier({ url, cleanupIntervalMs: l3.cleanupIntervalMs })
  })
}

export { Cache } from './cache/cache.js'
export type { ExportedEntry, GetOptions, GetOrSetOptions, SetOptions, Subject } from './cache/cache.js'
export { DEFAULT_KEY_FILE } from './cache/key-ring.js'
export type { ReencryptReport } from './cache/reencrypt.js'
export type { ExplainedRemoval, Explanation, TierExplanation, TierState } from './cache/explain.js'
export type { ContextRole, Scope, ScopeLevel, SecurityContext } from './cache/scope.js'
export { project } from './cache/projection.js'
export { KeyRing } from './security/crypto/key-ring.js'
export type { CacheStats, TierStats } from './cache/stats.js'
export type { HistogramFamily, HistogramSample, Labels, MetricFamily, MetricsSnapshot, Sample, ScalarFamily } from './cache/instruments/snapshot.js'
export type { MetricsOptions } from './cache/instruments/options.js'
export type { CircuitState } from './cache/circuit-breaker.js'
export type { Duration } from './core/duration.js'
export type { RedisClientLike } from './core/redis-client.js'
export { toMs } from './core/duration.js'
export type { Entry, Served, Source } from './core/entry.js'
export type {
  BusErrorEvent,
  BusStateEvent,
  CacheEventName,
  CacheEvents,
  CircuitChangeEvent,
  CorruptEntryEvent,
  EvictEvent,
  FactoryErrorEvent,
  HitEvent,
  MissEvent,
  MissReason,
  RemovalEvent,
  RepairWidenedEvent,
  StaleEvent,
  TierErrorEvent,
  UnreadableEntryEvent,
  WriteEvent,
} from './cache/events.js'
export type { Removal } from './cache/removal.js'
export type { EvictionReason } from './tiers/memory.js'
export type { Factory, FactoryContext } from './cache/factory.js'
export { DEFAULT_LIST_PAGE_SIZE, type ListOptions, MAX_LIST_PAGE_SIZE } from './cache/listing.js'
export type { ResolvedCacheOptions } from './cache/options.js'
export { Policy, definePolicy } from './policy/layer.js'
export type { PolicyConfig, PolicyConfigInput } from './policy/config.js'
export type { ContextExplanation, KeyBuilder, KeyBuilderOptions, KeyExplanation, ParamExplanation } from './policy/keys/builder.js'
export type { EventRules, EventRulesOptions, RuleInfo } from './policy/rules/rules.js'
export type { CallContext, EventTargets, PolicyDecision, PolicyHook, PolicyRequest, RefreshAhead } from './cache/policy-hook.js'
export type { TierHealth } from './cache/tier-stack.js'
export type { Limits } from './core/validate.js'
export type { Level } from './core/level.js'
export type { KeyPage, Tier, TierCapabilities, TierUsage } from './tiers/tier.js'
export { MemoryTier, type MemoryTierOptions } from './tiers/memory.js'
export {
  DEFAULT_HISTORY_RETENTION_MS,
  HISTORY_RANGES,
  type HistoryFigures,
  type HistoryPoint,
  type HistoryQuery,
  type HistoryRange,
  type HistoryReport,
  type HistoryTotals,
  type MetricsHistory,
  type MetricsHistoryOptions,
  type NamespaceFigures,
  type Quantiles,
  type TierFigures,
  histogramQuantile,
  openMetricsHistory,
} from './metrics/history/index.js'
export type { StorageLocation } from './security/credentials/location.js'
export { loadPolicy, loadPolicyConfig } from './policy/load.js'
export type { TtlExplanation, TtlStep } from './policy/ttl/policies.js'
export {
  HotKeys,
  type HotKeySource,
  type HotKeysOptions,
  type SchedulerClock,
  type WarmConfig,
  type WarmFailure,
  type WarmJob,
  type WarmJobInput,
  type WarmOptions,
  type WarmProgress,
  type WarmReport,
  type WarmRunHandle,
  type WarmRunState,
  type WarmRunStatus,
  type WarmSource,
  type WarmSourceContext,
  type WarmSourceFunction,
  type WarmStartOptions,
  Warmer,
  type WarmerOptions,
  trackHotKeys,
  warm,
} from './policy/warm/index.js'
export * from './errors.js'
