/**
 * The Redis tier's client: creating one from a URL with cache-friendly options, bounding every
 * command in time, turning failures into {@link TierUnavailableError}, and closing what we opened.
 */
import type { Cluster, Redis } from 'ioredis'
import { closeClient, createClient as createSharedClient } from '../../redis/client.js'
import { CacheClosedError, TierUnavailableError, TiercacheError } from '../../errors.js'

/** The client a {@link RedisConnection} wraps. */
export type RedisClient = Redis | Cluster

/** Creates the tier's client for a URL; see {@link createSharedClient} for the options and why. */
export function createClient(url: string, commandTimeoutMs: number): Redis {
  return createSharedClient(url, commandTimeoutMs, 'tiercache')
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
