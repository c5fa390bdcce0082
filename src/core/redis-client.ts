/**
 * An ioredis client, `Redis` or `Cluster` (ioredis 5.9 or later), as public types name it: by the
 * members tiercache checks, so that the types compile where ioredis, an optional peer dependency, is
 * not installed. Pass the ioredis object itself: the modules that use it treat it as one.
 */
export interface RedisClientLike {
  /** ioredis's connection state: `'wait'`, `'connecting'`, `'ready'`, `'end'`, ... */
  readonly status: string
  /** A new client with the same options. */
  duplicate(): RedisClientLike
}

/** True for an ioredis `Redis` or `Cluster`, recognised by shape so that ioredis need not be loaded. */
export function isRedisClientLike(value: unknown): value is RedisClientLike {
  return typeof value === 'object' && value !== null && typeof (value as { duplicate?: unknown }).duplicate === 'function'
}
