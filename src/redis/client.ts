/**
 * Redis plumbing shared by the Redis tier, the bus and the lock: how a client is created from a URL,
 * how it reconnects, how it is closed, and how Lua scripts run.
 */
import { createHash } from 'node:crypto'
import { type Cluster, Redis } from 'ioredis'

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
