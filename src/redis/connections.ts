/**
 * The Redis connections of one cache: one command client and one subscriber, shared by the Redis
 * tier, the bus and the lock (and, in the server, the rate limiter, on the same command client).
 */
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import { parseOptions } from '../core/options.js'
import { CacheClosedError } from '../errors.js'
import { closeClient, createClient, runCommand } from './client.js'
import { Subscriber, type Subscription, type SubscriptionListener } from './subscriber.js'

/** Options of {@link createRedisConnections}. Durations in milliseconds. */
export interface RedisConnectionsOptions {
  /**
   * Names the connections in CLIENT LIST: `tiercache:cmd:<name>` and `tiercache:sub:<name>`
   * (characters outside printable ASCII become `_`). @default crypto.randomUUID()
   */
  readonly name?: string
  /** ioredis's `commandTimeout` of the client created for a URL (callers bound each call as well). @default 1000 */
  readonly commandTimeoutMs?: number
  /** Interval of the subscriber's liveness PING; 0 disables it. @default 1000 */
  readonly heartbeatMs?: number
  /** Longest wait for that PING's answer before the subscriber reconnects (and says it may have missed messages). @default 1000 */
  readonly heartbeatTimeoutMs?: number
}

/** An ioredis `Redis` or `Cluster`, recognised by shape so that a second copy of ioredis works too. */
function isRedisClient(value: unknown): value is Redis | Cluster {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function'
  )
}

const sourceSchema = z.union([
  z.string().regex(/^rediss?:\/\/./, 'must be a redis:// or rediss:// URL'),
  z.custom<Redis | Cluster>(isRedisClient, 'expected a redis:// or rediss:// URL, or an ioredis Redis or Cluster client'),
])

/**
 * zod schema of what the Redis tier, bus and lock accept as `connection`: a `redis://` or
 * `rediss://` URL, an ioredis `Redis` or `Cluster`, or {@link RedisConnections}.
 */
export const redisConnectionSchema = z.union([
  z.custom<RedisConnections>((value) => value instanceof RedisConnections),
  sourceSchema,
])

const positiveInt = z.number().int().positive()
const optionsSchema = z.strictObject({
  name: z.string().min(1).max(256).optional(),
  commandTimeoutMs: positiveInt.default(1_000),
  heartbeatMs: z.number().int().nonnegative().default(1_000),
  heartbeatTimeoutMs: positiveInt.default(1_000),
})

/**
 * One command client and one subscriber connection, for every Redis user of a cache. Created from
 * a URL, the command client is ours and fails fast (see `createClient` in client.ts); given an
 * ioredis client, commands go to it and the subscriber is its `duplicate()` (for a Cluster, a
 * connection to one of its nodes), and the client stays the caller's: it is never closed here.
 *
 * Its users (tier, bus, lock) {@link retain} it when created and {@link release} it when closed; the
 * last release closes the subscriber and a command client created here, once.
 */
export class RedisConnections {
  /** The client commands go to. */
  readonly command: Redis | Cluster
  /** True when {@link command} was created here from a URL, and so is closed here. */
  readonly owned: boolean
  /** `name` as CLIENT SETNAME accepts it. */
  readonly name: string
  readonly #options: z.output<typeof optionsSchema>
  #subscriber: Subscriber | undefined
  #users = 0
  #closing: Promise<void> | undefined
  #lastError: unknown

  /** @internal Use {@link createRedisConnections}. */
  constructor(source: string | Redis | Cluster, options: z.output<typeof optionsSchema>) {
    this.#options = options
    this.name = (options.name ?? randomUUID()).replace(/[^\x21-\x7e]/g, '_')
    if (typeof source === 'string') {
      const client = createClient(source, options.commandTimeoutMs, `tiercache:cmd:${this.name}`)
      // ioredis logs 'error' events that nobody listens to; the failing command reports the error,
      // and the last one is the cause of "not connected" failures.
      client.on('error', (error: unknown) => {
        this.#lastError = error
      })
      this.command = client
      this.owned = true
    } else {
      this.command = source
      this.owned = false
    }
  }

  /** True once the last user released it. */
  get closed(): boolean {
    return this.#closing !== undefined
  }

  /**
   * Counts one more user; see {@link release}.
   * @throws CacheClosedError once closed
   */
  retain(): this {
    if (this.#closing !== undefined) throw new CacheClosedError('redis connections are closed')
    this.#users++
    return this
  }

  /** One user is done; the last one closes the connections (resolving once they have ended). */
  release(): Promise<void> {
    if (this.#closing === undefined && --this.#users <= 0) this.#closing = this.#close()
    return this.#closing ?? Promise.resolve()
  }

  /**
   * Runs one command on {@link command} within `timeoutMs`; see `runCommand` in client.ts.
   * @throws CacheClosedError once closed
   * @throws TierUnavailableError when the command fails, times out or Redis is not connected
   */
  run<T>(what: string, timeoutMs: number, command: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new CacheClosedError('redis connections are closed'))
    return runCommand(this.command, what, timeoutMs, command, this.#lastError)
  }

  /**
   * Listens to `channel` on the shared subscriber connection, opened by the first subscription.
   * @throws CacheClosedError once closed
   */
  subscribe(channel: string, listener: SubscriptionListener): Subscription {
    if (this.#closing !== undefined) throw new CacheClosedError('redis connections are closed')
    this.#subscriber ??= new Subscriber({
      source: this.command,
      heartbeatMs: this.#options.heartbeatMs,
      heartbeatTimeoutMs: this.#options.heartbeatTimeoutMs,
      connectionName: `tiercache:sub:${this.name}`,
    })
    return this.#subscriber.subscribe(channel, listener)
  }

  async #close(): Promise<void> {
    await Promise.all([this.#subscriber?.close(), this.owned ? closeClient(this.command) : undefined])
  }
}

/**
 * The connections of one cache over `source`: a `redis://` / `rediss://` URL (a command client is
 * created, and closed with the connections) or an ioredis `Redis` or `Cluster` (the caller's, never
 * closed here). Pass the result as the `connection` of the Redis tier, bus and lock to share them;
 * they are closed when the last of those closes (connections that no user took are closed by a
 * call of {@link RedisConnections.release}). Nothing connects before a command or a subscription
 * needs it, except the command client of a URL, which connects at once.
 * @throws InvalidOptionsError when `source` or `options` are invalid
 */
export function createRedisConnections(source: string | Redis | Cluster, options: RedisConnectionsOptions = {}): RedisConnections {
  const parsed = parseOptions(z.object({ source: sourceSchema }), { source }, 'Redis connections')
  return new RedisConnections(parsed.source, parseOptions(optionsSchema, options, 'Redis connections'))
}

/**
 * The connections a tier, bus or lock uses for its `connection` option, retained for it: the given
 * {@link RedisConnections}, or new ones over a URL or client (then closed when that user releases).
 */
export function connectionsFor(connection: string | Redis | Cluster | RedisConnections, options: RedisConnectionsOptions): RedisConnections {
  const connections = connection instanceof RedisConnections ? connection : new RedisConnections(connection, parseOptions(optionsSchema, options, 'Redis connections'))
  return connections.retain()
}
