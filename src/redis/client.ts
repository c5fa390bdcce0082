/**
 * Redis plumbing shared by the Redis tier, the bus, the lock and the rate limiter: how a client is
 * created from a URL, how it reconnects, how a command is bounded in time, how a client is closed,
 * and how Lua scripts run.
 */
import { createHash } from 'node:crypto'
import { type Cluster, Redis } from 'ioredis'
import { withTimeout } from '../core/timeout.js'
import { TierUnavailableError, TiercacheError } from '../errors.js'

/** Longest the first connection (TCP + TLS handshake) may take before it is retried, in ms. */
export const CONNECT_TIMEOUT_MS = 2_000
/** Longest wait between reconnection attempts, in ms. */
export const MAX_RECONNECT_DELAY_MS = 2_000

/**
 * Delay before the `attempt`-th reconnection (1, 2, ...), in ms: 50 ms doubling up to
 * {@link MAX_RECONNECT_DELAY_MS}, plus up to 10% jitter so that a fleet of processes does not
 * reconnect in lockstep after an outage. Never gives up: a cache must come back on its own.
 */
export function reconnectDelayMs(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(Math.max(attempt - 1, 0), 10), MAX_RECONNECT_DELAY_MS)
  return Math.round(base * (1 + Math.random() / 10))
}

/**
 * Creates a client for a `redis://` or `rediss://` URL (TLS for the latter, as ioredis parses it).
 *
 * The choices, for a cache whose caller must never wait long on it (the stack's circuit breaker
 * decides what a failure means):
 * - `lazyConnect: false`: connect at once, so that the first call does not pay for the handshake.
 * - `enableOfflineQueue: false`: a command is never parked while disconnected, to be sent much later
 *   after its caller saw it fail; callers wait for a connection attempt in progress themselves.
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: commands in flight when the
 *   connection drops fail at once and are not replayed on the new connection.
 * - `commandTimeout`: so that a hung server (or network) fails commands.
 * - `retryStrategy`: {@link reconnectDelayMs}, capped backoff, forever.
 * - `connectTimeout`: {@link CONNECT_TIMEOUT_MS}, so that an unreachable host is retried instead of
 *   waited on for ioredis's default 10 s.
 * - `reconnectOnError` on `READONLY`: after a failover behind a fixed endpoint, the old master
 *   answers writes with READONLY; a new connection reaches the new master.
 * - `connectionName`, so that CLIENT LIST shows who is who.
 */
export function createClient(url: string, commandTimeoutMs: number, connectionName: string): Redis {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    connectionName,
  })
  return client
}

/**
 * Closes a client we created: QUIT when connected (lets in-flight commands finish), else a plain
 * disconnect. Resolves once the connection has ended, disconnecting after `timeoutMs` at most.
 */
export async function closeClient(client: Redis | Cluster, timeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.disconnect()
      resolve()
    }, timeoutMs)
    timer.unref()
    client.once('end', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  if (client.status === 'ready') client.quit().catch(() => client.disconnect())
  else client.disconnect()
  await ended
}

/** True for an ioredis `Cluster` (recognised by shape, so that a second copy of ioredis works too). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return typeof (client as Partial<Cluster>).nodes === 'function'
}

// One wait per client for its connection attempt in progress, shared by every call made meanwhile.
const attempts = new WeakMap<Redis, Promise<void>>()

/**
 * Whether a command may be sent now on a client without an offline queue, on which a command sent
 * while not connected fails at once (those {@link createClient} makes):
 * - undefined: send now (the client is ready, or it queues commands itself: it has an offline
 *   queue, or it is a Cluster);
 * - a promise that resolves once the connection attempt in progress succeeds (the first connection,
 *   or a reconnection), and rejects with TierUnavailableError if it fails;
 * - a rejection when Redis is known down (between attempts), so that calls fail at once instead of
 *   waiting for their timeout.
 * A client created with `lazyConnect` is connected here on first use.
 * @param lastError - the last connection error seen, as the `cause` of those rejections
 */
export function whenConnected(client: Redis | Cluster, lastError?: unknown): Promise<void> | undefined {
  if (isCluster(client) || client.options.enableOfflineQueue !== false) return undefined
  if (client.status === 'wait') client.connect().catch(() => undefined)
  if (client.status === 'ready') return undefined
  if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') {
    return Promise.reject(new TierUnavailableError(`redis is not connected (${client.status})`, { cause: lastError }))
  }
  let attempt = attempts.get(client)
  if (attempt === undefined) {
    attempt = new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        client.off('ready', onReady)
        client.off('close', onClose)
        attempts.delete(client)
        if (error === undefined) resolve()
        else reject(error)
      }
      const onReady = () => settle()
      const onClose = () => settle(new TierUnavailableError('redis connection attempt failed', { cause: lastError }))
      client.on('ready', onReady)
      client.on('close', onClose)
    })
    attempts.set(client, attempt)
  }
  return attempt
}

/**
 * Runs one command (or script) on `client` within `timeoutMs`, after {@link whenConnected}; a call
 * that timed out while waiting for the connection never sends its command. The command may still
 * reach Redis after its call timed out: callers must be fine with that (a late PUBLISH, a late lock
 * write that expires by its ttl, a cache write the stack repairs).
 * @param what - the operation, for the error message (never keys or values)
 * @param lastError - see {@link whenConnected}
 * @throws TierUnavailableError when the command fails, times out or Redis is not connected (the
 *   client's error as `cause`)
 * @throws a {@link TiercacheError} that `command` threw (e.g. CorruptEntryError), unchanged
 */
export async function runCommand<T>(
  client: Redis | Cluster,
  what: string,
  timeoutMs: number,
  command: (client: Redis | Cluster) => Promise<T>,
  lastError?: unknown,
): Promise<T> {
  let timedOut = false
  const waiting = whenConnected(client, lastError)
  const work =
    waiting === undefined
      ? command(client)
      : waiting.then(() => {
          if (timedOut) throw new TierUnavailableError(`redis ${what} timed out`)
          return command(client)
        })
  try {
    return await withTimeout(work, timeoutMs, () => {
      timedOut = true
      return new TierUnavailableError(`redis ${what} timed out after ${timeoutMs} ms`)
    })
  } catch (error) {
    if (error instanceof TiercacheError) throw error
    // ioredis messages name the failure (ECONNREFUSED, "Command timed out", a server error reply);
    // they never contain the command's arguments, so no keys or values leak into them.
    const reason = error instanceof Error ? `: ${error.message}` : ''
    throw new TierUnavailableError(`redis ${what} failed${reason}`, { cause: error })
  }
}

/** A Lua script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  readonly name: string
  readonly source: string
  readonly sha1: string
}

/** Prepares a {@link LuaScript}. */
export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') }
}

/** A script argument: strings go as UTF-8, buffers as they are. */
export type ScriptArg = string | Buffer | number

/**
 * Runs `script` by EVALSHA, falling back to EVAL when the server does not have it (NOSCRIPT: after a
 * restart, a failover to a replica that never saw it, or SCRIPT FLUSH); the EVAL caches it again.
 * This is what ioredis's `defineCommand` does, without adding methods to a client the caller owns.
 * The first key routes the call in a cluster; all keys must share its slot. Rejects with the
 * client's error as is.
 */
export async function runScript(client: Redis | Cluster, script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha1, keys.length, ...keys, ...args)
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return await client.eval(script.source, keys.length, ...keys, ...args)
  }
}
