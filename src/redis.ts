/**
 * `tiercache/redis`: the Redis pieces, for callers who assemble them themselves. `createCache({ l2:
 * { redis } })` uses them for you. Requires the optional dependency ioredis (5.9 or later) and Redis
 * or Valkey 6.2 or later. Give the tier, bus and lock one {@link RedisConnections} to share one
 * command connection and one subscriber, as `createCache` does.
 */
export { createRedisTier, RedisTier, type RedisTierOptions } from './tiers/redis/index.js'
export { createRedisBus, RedisBus, type RedisBusOptions } from './bus/redis.js'
export { createRedisLock, RedisLock, type RedisLockOptions } from './bus/redis-lock.js'
export type { Bus, BusEnvelope, BusHandlers, BusMessage, DeafReason } from './bus/bus.js'
export type { DistributedLock } from './bus/lock.js'
export { createRedisConnections, RedisConnections, type RedisConnectionsOptions } from './redis/connections.js'
export { type RedisStreamRelayOptions, redisStreamRelay } from './ai/redis-stream-relay.js'
