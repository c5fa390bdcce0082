/**
 * Connection plumbing shared by the Redis bus and the Redis lock: turning the `connection` option into
 * a command client, bounding every command in time, running Lua scripts, and closing what we opened.
 */
import { Cluster, Redis } from 'ioredis'
import { createClient } from '../redis/client.js'
import { z } from 'zod'
import { TierUnavailableError } from '../errors.js'

/** What the bus and the lock accept as `connection`: a URL (`redis://`, `rediss://`) or a client. */
export type RedisConnection = string | Redis | Cluster

/** zod schema of {@link RedisConnection}: a non-empty URL string or an ioredis `Redis` / `Cluster`. */
export const redisConnectionSchema = z.union([
  z.string().min(1),
  z.custom<Redis | Cluster>((value) => value instanceof Redis || value instanceof Cluster, {
    message: 'expected a redis:// URL or an ioredis Redis or Cluster client',
  }),
])

/** A command client, and whether we created it (and so must close it). */
export interface CommandClient {
  /** The client commands go to. */
  readonly client: Redis | Cluster
  /** True when created here from a URL: then the bus or lock closes it, and never otherwise. */
  readonly owned: boolean
  /** For an owned client: resolves once it was ready at least once (bounded by `timeoutMs`). */
  firstReady(timeoutMs: number): Promise<void>
}

/**
 * The client for commands. A passed-in client is used as is (its owner chose its retry and queueing
 * policy, and we bound each call in time anyway with {@link withTimeout}). For a URL we create one
 * that fails fast, as the Redis tier's does (see `createClient` in src/redis/client.ts): no offline
 * queue (a command while disconnected rejects at once instead of waiting for a reconnect that may
 * never come), no retries, and a command timeout.
 */
export function openCommandClient(connection: RedisConnection, commandTimeoutMs: number, connectionName: string): CommandClient {
  if (typeof connection !== 'string') {
    return { client: connection, owned: false, firstReady: async () => {} }
  }
  const client = createClient(connection, commandTimeoutMs, connectionName)
  // Errors are also reported by the failing command; without a listener ioredis would log them.
  client.on('error', () => {})
  let everReady = false
  client.once('ready', () => {
    everReady = true
  })
  return {
    client,
    owned: true,
    // Without an offline queue, a command sent before the first connection is up would fail; so the
    // first commands wait for it (later ones fail fast, which is the point).
    firstReady: async (timeoutMs) => {
      if (everReady || client.status === 'ready') return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs)
        client.once('ready', done)
        function done() {
          clearTimeout(timer)
          client.off('ready', done)
          resolve()
        }
      })
    },
  }
}

/**
 * Runs `operation`, rejecting with {@link TierUnavailableError} (the failure as `cause`) when it
 * fails or takes longer than `timeoutMs`. The command may still reach Redis later; callers must be
 * fine with that (a late PUBLISH, a late lock write that expires by its ttl).
 */
export async function withTimeout<T>(operation: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TierUnavailableError(`timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([operation, timeout])
  } catch (error) {
    throw new TierUnavailableError(`redis: ${what} failed`, { cause: error })
  } finally {
    clearTimeout(timer)
    // A late rejection of the raced command must not surface as an unhandled rejection.
    operation.catch(() => {})
  }
}

export { closeClient, luaScript, runScript, type LuaScript } from '../redis/client.js'
