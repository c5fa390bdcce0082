/**
 * Connection plumbing shared by the Redis bus and the Redis lock: turning the `connection` option into
 * a command client, bounding every command in time, running Lua scripts, and closing what we opened.
 */
import { createHash } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
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

/** Reconnect delay after the `attempt`-th failure (1, 2, ...), ms: 100 ms doubling, at most 2 s. */
export function backoffMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2_000)
}

/**
 * The client for commands. A passed-in client is used as is (its owner chose its retry and queueing
 * policy, and we bound each call in time anyway with {@link withTimeout}). For a URL we create one
 * that fails fast: no offline queue (a command while disconnected rejects at once instead of
 * waiting for a reconnect that may never come), one retry per request, and a command timeout.
 */
export function openCommandClient(connection: RedisConnection, commandTimeoutMs: number, connectionName: string): CommandClient {
  if (typeof connection !== 'string') {
    return { client: connection, owned: false, firstReady: async () => {} }
  }
  const client = new Redis(connection, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1_000),
    retryStrategy: backoffMs,
    connectionName,
  })
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
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
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

/** A Lua script, run by EVALSHA with a fallback to EVAL when the server does not have it cached. */
export interface LuaScript {
  /** The Lua source, for EVAL. */
  readonly source: string
  /** Its SHA-1 in hex, for EVALSHA. */
  readonly sha1: string
}

/** Prepares a {@link LuaScript}. */
export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') }
}

/**
 * Runs `script` with one key (so that a Cluster routes it by that key's slot) and `args`.
 * Uses EVALSHA and falls back to EVAL on NOSCRIPT (after a restart or SCRIPT FLUSH) rather than
 * `defineCommand`, which would add methods to a client the caller owns. Resolves the script's reply;
 * rejects with the client's error as is (callers wrap it with {@link withTimeout}).
 */
export async function runScript(client: Redis | Cluster, script: LuaScript, key: string, args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha1, 1, key, ...args)
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return await client.eval(script.source, 1, key, ...args)
  }
}

/**
 * Closes a client we created: QUIT when connected (lets in-flight commands finish), else a plain
 * disconnect. Resolves once the connection has ended, or after `timeoutMs` at most.
 */
export async function closeClient(client: Redis | Cluster, timeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    client.once('end', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  if (client.status === 'ready') {
    client.quit().catch(() => client.disconnect())
  } else {
    client.disconnect()
  }
  await ended
}
