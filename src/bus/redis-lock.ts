/**
 * {@link DistributedLock} in Redis (or Valkey): {@link createRedisLock}.
 *
 * - `acquire`: `SET <prefix><name> <random token> NX PX <ttl>`.
 * - `release`: a script that deletes the key only if it still holds the caller's token, and in the
 *   same step PUBLISHes the key on the release channel, so that waiters in every process wake at
 *   once instead of polling. (Publishing inside the script makes it one round trip, and a release
 *   can never happen without its notice.)
 * - `extend`: a script that PEXPIREs the key only if it still holds the token.
 * - `waitForRelease`: one shared subscriber connection for every waiter of this instance, opened on
 *   the first wait. Each waiter, once subscribed, looks at the key's PTTL: gone means released
 *   already (a release just before we subscribed must not be missed), and otherwise the waiter also
 *   wakes when the key expires, so a crashed holder delays waiters by its remaining ttl at most, even
 *   when they wait longer than that. When the subscriber or Redis is down, waiters simply wait for
 *   their timeout.
 *
 * Every command touches a single key (and the scripts declare it), so the lock works on a Cluster.
 * Wake-ups may be spurious (the lock was extended, or re-taken at once by another process): callers
 * try to acquire again, or read the value the holder wrote.
 */
import { parseOptions } from '../core/options.js'
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import type { DistributedLock } from './lock.js'
import { CacheClosedError, InvalidDurationError, InvalidKeyError } from '../errors.js'
import { luaScript, runScript } from '../redis/client.js'
import { type RedisConnections, connectionsFor, redisConnectionSchema } from '../redis/connections.js'
import type { Subscription } from '../redis/subscriber.js'

/** Default prefix of lock keys. */
export const DEFAULT_LOCK_PREFIX = 'tiercache:lock:'
/** Default channel of release notices (the message is the released lock's full key). */
export const DEFAULT_LOCK_CHANNEL = 'tiercache:lock-released'
/** Longest lock name accepted, in characters. */
export const MAX_LOCK_NAME_LENGTH = 4_096

/** Options of {@link createRedisLock}. Durations in milliseconds. */
export interface RedisLockOptions {
  /**
   * Where the locks live: a `redis://` / `rediss://` URL (the lock then creates, and closes, its own
   * connections, which fail fast: no offline queue, a command timeout); an ioredis `Redis` or
   * `Cluster` client that the caller keeps owning (waiters subscribe on a `duplicate()` of a `Redis`,
   * or on a connection of their own to one node of a `Cluster`); or {@link RedisConnections} shared
   * with a tier and a bus, whose own heartbeat settings then apply.
   */
  readonly connection: string | Redis | Cluster | RedisConnections
  /** Prefix of the lock keys (after the client's own `keyPrefix`, if any). @default 'tiercache:lock:' */
  readonly prefix?: string
  /** Pub/sub channel of release notices; the same for every process. @default 'tiercache:lock-released' */
  readonly channel?: string
  /** Longest wait for any command before the call rejects, ms. @default 1000 */
  readonly commandTimeoutMs?: number
  /** Interval of the waiters' subscriber liveness PING, ms; 0 disables it (not for shared RedisConnections). @default 1000 */
  readonly heartbeatMs?: number
  /** Called with connection errors of the waiters' subscriber, for logging. */
  readonly onError?: (error: unknown) => void
}

const positiveInt = z.number().int().positive()

const optionsSchema = z.strictObject({
  connection: redisConnectionSchema,
  prefix: z.string().max(1024).default(DEFAULT_LOCK_PREFIX),
  channel: z.string().min(1).max(1024).default(DEFAULT_LOCK_CHANNEL),
  commandTimeoutMs: positiveInt.default(1_000),
  heartbeatMs: z.number().int().nonnegative().default(1_000),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
})

type ParsedOptions = z.output<typeof optionsSchema>

/** KEYS[1] lock key; ARGV[1] token, ARGV[2] channel. Deletes and notifies only for the holder. */
const RELEASE = luaScript('lock-release', `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], KEYS[1])
  return 1
end
return 0`)

/** KEYS[1] lock key; ARGV[1] token, ARGV[2] ttl ms. Extends only for the holder. */
const EXTEND = luaScript('lock-extend', `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

/** Longest ttl accepted: 100 years, as for cache entries. */
const MAX_TTL_MS = 100 * 365 * 24 * 3_600_000

/**
 * Creates a {@link RedisLock}. Connects at once (the command connection, unless shared); the
 * waiters subscribe on the first {@link RedisLock.waitForRelease}.
 * @throws InvalidOptionsError when `options` are invalid
 * @throws CacheClosedError when given RedisConnections that are closed
 */
export function createRedisLock(options: RedisLockOptions): RedisLock {
  return new RedisLock(parseOptions(optionsSchema, options, 'lock'))
}

interface Waiter {
  /** The lock's key as published in release notices. */
  readonly key: string
  /** Wakes the waiter (idempotent). */
  wake(): void
}

/** The Redis {@link DistributedLock}; see the module comment. Create it with {@link createRedisLock}. */
export class RedisLock implements DistributedLock {
  readonly #options: ParsedOptions
  readonly #connections: RedisConnections
  /** Full lock key → its waiters in this process. */
  readonly #waiters = new Map<string, Set<Waiter>>()
  #subscription: Subscription | undefined
  #closing: Promise<void> | undefined

  /** @internal Use {@link createRedisLock}. */
  constructor(options: ParsedOptions) {
    this.#options = options
    const { commandTimeoutMs, heartbeatMs } = options
    this.#connections = connectionsFor(options.connection, { commandTimeoutMs, heartbeatMs, heartbeatTimeoutMs: commandTimeoutMs })
  }

  /**
   * Takes the lock on `name` for `ttlMs` unless it is held. Resolves the token proving ownership, or
   * undefined when another holder has the lock.
   * @throws InvalidKeyError when `name` is empty or longer than {@link MAX_LOCK_NAME_LENGTH}
   * @throws InvalidDurationError when `ttlMs` is not a positive integer (at most 100 years)
   * @throws CacheClosedError after {@link close}
   * @throws TierUnavailableError when Redis fails or does not answer within `commandTimeoutMs`
   */
  async acquire(name: string, ttlMs: number): Promise<string | undefined> {
    const key = this.#key(name)
    checkTtl(ttlMs)
    const token = randomUUID()
    const reply = await this.#run('lock acquire', (client) => client.set(key, token, 'PX', ttlMs, 'NX'))
    return reply === 'OK' ? token : undefined
  }

  /**
   * Sets the lock's ttl to `ttlMs` from now if `token` still holds it. Resolves false when it does
   * not (expired, or taken by another holder since).
   * @throws InvalidKeyError, InvalidDurationError, CacheClosedError, TierUnavailableError as {@link acquire}
   */
  async extend(name: string, token: string, ttlMs: number): Promise<boolean> {
    const key = this.#key(name)
    checkTtl(ttlMs)
    const reply = await this.#run('lock extend', (client) => runScript(client, EXTEND, [key], [token, ttlMs]))
    return reply === 1
  }

  /**
   * Releases the lock if `token` still holds it, and notifies the waiters of every process; does
   * nothing otherwise (a token whose lock expired cannot release the next holder's lock).
   * @throws InvalidKeyError, CacheClosedError, TierUnavailableError as {@link acquire}
   */
  async release(name: string, token: string): Promise<void> {
    const key = this.#key(name)
    await this.#run('lock release', (client) => runScript(client, RELEASE, [key], [token, this.#options.channel]))
  }

  /**
   * Resolves when the lock on `name` is released or expires, or after `timeoutMs` (negative or
   * non-finite counts as 0), whichever comes first; also at once when it is not held, and on
   * {@link close}. Never rejects: a bad name or a Redis failure just means waiting out the timeout.
   */
  async waitForRelease(name: string, timeoutMs: number): Promise<void> {
    if (this.#closing !== undefined) return
    const key = this.#options.prefix + name
    // Notices carry the key as Redis sees it, after the client's own keyPrefix.
    const noticeKey = (this.#connections.command.options.keyPrefix ?? '') + key
    const budget = Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : 0
    const deadline = Date.now() + budget
    await new Promise<void>((resolve) => {
      let woken = false
      let expiryTimer: NodeJS.Timeout | undefined
      const waiter: Waiter = {
        key: noticeKey,
        wake: () => {
          if (woken) return
          woken = true
          clearTimeout(timer)
          clearTimeout(expiryTimer)
          this.#removeWaiter(waiter)
          resolve()
        },
      }
      const timer = setTimeout(waiter.wake, budget)
      this.#addWaiter(waiter)
      // Poll the key's remaining ttl once subscribed, and again when that ttl runs out (it may have
      // been extended meanwhile). Only the waiters of a held lock with a ttl get such a timer.
      const watch = async (): Promise<void> => {
        const pttl = await this.#run('lock pttl', (client) => client.pttl(key))
        if (woken) return
        if (pttl === -2) return waiter.wake()
        if (pttl >= 0 && Date.now() + pttl < deadline) {
          expiryTimer = setTimeout(() => void watch().catch(() => {}), pttl + 1)
        }
      }
      void this.#subscribed(deadline - Date.now())
        .then((subscribed) => (subscribed && !woken ? watch() : undefined))
        .catch(() => {})
    })
  }

  /** Closes the connections the lock created (never a client passed in) and wakes every waiter. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    for (const waiters of [...this.#waiters.values()]) {
      for (const waiter of [...waiters]) waiter.wake()
    }
    this.#subscription?.close()
    await this.#connections.release()
  }

  #key(name: string): string {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_LOCK_NAME_LENGTH) {
      throw new InvalidKeyError(`lock name must be 1 to ${MAX_LOCK_NAME_LENGTH} characters`)
    }
    return this.#options.prefix + name
  }

  /** Runs one command within `commandTimeoutMs`. @throws CacheClosedError, TierUnavailableError */
  #run<T>(what: string, command: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new CacheClosedError('lock: used after close'))
    return this.#connections.run(what, this.#options.commandTimeoutMs, command)
  }

  /** Subscribes to release notices on first use; resolves whether subscribed within `timeoutMs`. */
  async #subscribed(timeoutMs: number): Promise<boolean> {
    this.#subscription ??= this.#connections.subscribe(this.#options.channel, {
      message: (key) => {
        for (const waiter of [...(this.#waiters.get(key) ?? [])]) waiter.wake()
      },
      // Nothing to do either way: while down, waiters wait for their timeout or for the ttl they
      // read; notices are only a shortcut.
      up: () => {},
      down: () => {},
      error: (error) => this.#options.onError?.(error),
    })
    return this.#subscription.whenSubscribed(timeoutMs)
  }

  #addWaiter(waiter: Waiter): void {
    let waiters = this.#waiters.get(waiter.key)
    if (waiters === undefined) {
      waiters = new Set()
      this.#waiters.set(waiter.key, waiters)
    }
    waiters.add(waiter)
  }

  #removeWaiter(waiter: Waiter): void {
    const waiters = this.#waiters.get(waiter.key)
    if (waiters === undefined) return
    waiters.delete(waiter)
    if (waiters.size === 0) this.#waiters.delete(waiter.key)
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new InvalidDurationError('lock ttl must be a positive integer number of milliseconds')
  }
}
