/**
 * The Redis tier's client: creating one from a URL with cache-friendly options, bounding every
 * command in time, turning failures into {@link TierUnavailableError}, and closing what we opened.
 */
import { Redis, type Cluster } from 'ioredis'
import { CacheClosedError, TierUnavailableError, TiercacheError } from '../../errors.js'

/** The client a {@link RedisConnection} wraps. */
export type RedisClient = Redis | Cluster

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
 * Creates the client for a `redis://` or `rediss://` URL (TLS for the latter, as ioredis parses it).
 *
 * The choices, for a cache whose caller must never wait long on it (the stack's circuit breaker
 * decides what a failure means):
 * - `lazyConnect: false`: connect at once, so that the first call does not pay for the handshake.
 * - `enableOfflineQueue: false`: a command is never parked while disconnected, to be sent much later
 *   after its caller saw it fail. Instead {@link RedisConnection} lets a call wait (within its
 *   timeout) for a connection attempt in progress, and fails it at once while Redis is known down.
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: commands in flight when the
 *   connection drops fail at once and are not replayed on the new connection.
 * - `commandTimeout`: the tier's `commandTimeoutMs`, so a hung server (or network) fails commands.
 * - `retryStrategy`: {@link reconnectDelayMs}, capped backoff, forever.
 * - `connectTimeout`: {@link CONNECT_TIMEOUT_MS}, so an unreachable host is retried instead of
 *   waited on for ioredis's default 10 s.
 * - `reconnectOnError` on `READONLY`: after a failover behind a fixed endpoint, the old master
 *   answers writes with READONLY; a new connection reaches the new master.
 * - `connectionName: 'tiercache'`, so that CLIENT LIST shows who we are.
 */
export function createClient(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    connectionName: 'tiercache',
  })
}

/**
 * A client and how the tier uses it. Every command goes through {@link RedisConnection.run}, which
 * bounds it by `timeoutMs` and reports failures as {@link TierUnavailableError} with the original
 * error as `cause` (so the stack sees one error class whatever ioredis threw).
 */
export class RedisConnection {
  private closing: Promise<void> | undefined
  private connecting: Promise<void> | undefined
  private lastError: unknown

  /**
   * @param client - the ioredis client
   * @param owned - true when the tier created it from a URL: then the tier closes it, and knows its
   *   options (no offline queue), so it waits for a connection attempt in progress itself
   * @param timeoutMs - longest a command may take, in ms
   */
  constructor(
    readonly client: RedisClient,
    readonly owned: boolean,
    readonly timeoutMs: number,
  ) {
    if (owned) {
      // ioredis logs 'error' events that nobody listens to; the failing command reports the error,
      // and we keep the last one as the cause of "not connected" failures.
      client.on('error', (error: unknown) => {
        this.lastError = error
      })
    }
  }

  /**
   * Runs one command (or script) against the client within `timeoutMs`.
   * @param what - the operation, for the error message (never keys or values)
   * @throws CacheClosedError after {@link close}
   * @throws TierUnavailableError when the command fails, times out or Redis is not connected
   * @throws the command's own {@link TiercacheError} (e.g. CorruptEntryError) unchanged
   */
  async run<T>(what: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.closing !== undefined) throw new CacheClosedError('redis tier is closed')
    let timer: NodeJS.Timeout | undefined
    let timedOut = false
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        reject(new TierUnavailableError(`redis ${what} timed out after ${this.timeoutMs} ms`))
      }, this.timeoutMs)
    })
    const waiting = this.waitForConnection()
    // A command whose call already timed out while waiting for the connection is never sent.
    const work = waiting === undefined ? command(this.client) : waiting.then(() => (timedOut ? timeout : command(this.client)))
    try {
      return await Promise.race([work, timeout])
    } catch (error) {
      throw asTiercacheError(what, error)
    } finally {
      clearTimeout(timer)
      // The loser of the race may still reject later; that must not be an unhandled rejection.
      work.catch(() => undefined)
    }
  }

  /** Closes the client if the tier created it (QUIT when connected, else disconnect). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.owned ? closeClient(this.client as Redis) : Promise.resolve()
    return this.closing
  }

  /**
   * For an owned client (no offline queue): undefined when it is ready; a promise that resolves once
   * a connection attempt in progress succeeds; a rejection when Redis is known down (between
   * attempts), so that calls fail at once instead of waiting for their timeout.
   */
  private waitForConnection(): Promise<void> | undefined {
    if (!this.owned) return undefined
    const client = this.client as Redis
    // Not connecting yet (only a client created with lazyConnect): start, then wait as below.
    if (client.status === 'wait') client.connect().catch(() => undefined)
    if (client.status === 'ready') return undefined
    if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') {
      return Promise.reject(new TierUnavailableError(`redis is not connected (${client.status})`, { cause: this.lastError }))
    }
    // One shared wait, so that many calls during a connect add one listener pair, not one each.
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        client.off('ready', onReady)
        client.off('close', onClose)
        this.connecting = undefined
        if (error === undefined) resolve()
        else reject(error)
      }
      const onReady = () => settle()
      const onClose = () => settle(new TierUnavailableError('redis connection attempt failed', { cause: this.lastError }))
      client.on('ready', onReady)
      client.on('close', onClose)
    })
    return this.connecting
  }
}

function asTiercacheError(what: string, error: unknown): TiercacheError {
  if (error instanceof TiercacheError) return error
  // ioredis messages name the failure (ECONNREFUSED, "Command timed out", a server error reply);
  // they never contain the command's arguments, so no keys or values leak into them.
  const reason = error instanceof Error ? `: ${error.message}` : ''
  return new TierUnavailableError(`redis ${what} failed${reason}`, { cause: error })
}

/** QUIT when connected (lets in-flight commands finish), else disconnect; resolves once ended (at most 1 s). */
async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.disconnect()
      resolve()
    }, 1_000)
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
