/**
 * A Redis pub/sub subscription that knows, and says, when it may have missed messages.
 *
 * Redis pub/sub is fire and forget: a message published while a subscriber is disconnected is lost
 * for it, and nothing tells it so. This class turns every way of losing messages into a `down` call,
 * made before any later message is delivered, and every return to a confirmed subscription into an
 * `up` call:
 *
 * - the socket closes, errors out or reconnects (`close`, `reconnecting`, `end`): down at once;
 * - the socket stays open but nothing answers (a frozen server, a dropped route): a PING every
 *   `heartbeatMs` (PING is allowed in subscribe mode) that is not answered within
 *   `heartbeatTimeoutMs` means down, and the connection is torn down and made again;
 * - up only when SUBSCRIBE has been acknowledged on the current connection (on every `ready`, we
 *   subscribe ourselves rather than rely on ioredis's silent `autoResubscribe`, whose completion we
 *   could not observe).
 *
 * For a Cluster client, classic SUBSCRIBE on any one node hears what is published on every node
 * (Redis broadcasts PUBLISH over the cluster bus). ioredis's own cluster subscriber fails over
 * silently, so we keep a plain connection to one node of our choosing instead, and move to another
 * node when that one stops answering.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { TierUnavailableError } from '../errors.js'
import { reconnectDelayMs } from '../redis/client.js'
import type { RedisConnection } from './connection.js'

/** What a {@link Subscriber} reports. Calls are synchronous, from ioredis's event handlers. */
export interface SubscriberListener {
  /** A message on one of the channels. */
  message(channel: string, payload: string): void
  /** Subscribed on the current connection: from now on, every message published is delivered. */
  up(): void
  /** The subscription is lost (or is no longer known to work): messages may be missed from now on. */
  down(): void
  /** A connection error or a failed heartbeat, for logs; never a reason to throw. */
  error?(error: unknown): void
}

/** Options of {@link Subscriber}. */
export interface SubscriberOptions {
  /** Where to connect: a URL, a client to `duplicate()`, or a Cluster whose nodes to use. */
  readonly source: RedisConnection
  /** Channels to SUBSCRIBE to (classic, not sharded). */
  readonly channels: readonly string[]
  /** Interval of the PING that checks the subscription is alive, ms; 0 disables it. */
  readonly heartbeatMs: number
  /** Longest wait for the PING's answer (and for any command on this connection), ms. */
  readonly heartbeatTimeoutMs: number
  /** CLIENT SETNAME of the connection, to find it in CLIENT LIST. */
  readonly connectionName: string
  readonly listener: SubscriberListener
}

/** After this many failed reconnects to one cluster node, try another node. */
const CLUSTER_NODE_ATTEMPTS = 2

/** A resilient SUBSCRIBE; see the module comment. Call {@link start} once, {@link close} at the end. */
export class Subscriber {
  readonly #options: SubscriberOptions
  #connection: Redis | undefined
  #subscribed = false
  #closed = false
  #started = false
  #pinging = false
  #heartbeat: NodeJS.Timeout | undefined
  #replaceTimer: NodeJS.Timeout | undefined
  #replaceAttempts = 0
  /** Which cluster node to use next; starts at random so that instances spread over the nodes. */
  #clusterNode = Math.floor(Math.random() * 1_000)
  readonly #upWaiters = new Set<() => void>()

  /** Prepares the subscriber; nothing connects before {@link start}. */
  constructor(options: SubscriberOptions) {
    this.#options = options
  }

  /** True while subscribed on a live connection. */
  get subscribed(): boolean {
    return this.#subscribed
  }

  /** Connects and subscribes, in the background; retries until {@link close}. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#open()
    if (this.#options.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs)
      this.#heartbeat.unref()
    }
  }

  /** Resolves true once subscribed (at once if already), false after `timeoutMs` or on close. */
  async whenSubscribed(timeoutMs: number): Promise<boolean> {
    if (this.#subscribed) return true
    if (this.#closed) return false
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#upWaiters.delete(done)
        resolve(this.#subscribed)
      }
      const timer = setTimeout(done, Math.max(0, timeoutMs))
      this.#upWaiters.add(done)
    })
  }

  /** Unsubscribes and closes the connection; no `down` call. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#subscribed = false
    clearInterval(this.#heartbeat)
    clearTimeout(this.#replaceTimer)
    for (const wake of [...this.#upWaiters]) wake()
    const connection = this.#connection
    this.#connection = undefined
    if (connection !== undefined) await endConnection(connection)
  }

  #open(): void {
    const connection = this.#create()
    if (connection === undefined) {
      // A cluster that knows no node yet: try again shortly.
      this.#scheduleReplace()
      return
    }
    this.#connection = connection
    const current = () => this.#connection === connection && !this.#closed
    connection.on('message', (channel: string, payload: string) => {
      if (current()) this.#options.listener.message(channel, payload)
    })
    connection.on('ready', () => {
      if (!current()) return
      this.#replaceAttempts = 0
      connection.subscribe(...this.#options.channels).then(
        () => {
          // A reply for a connection that has since dropped proves nothing about the new one.
          if (current() && connection.status === 'ready') this.#setUp()
        },
        (error: unknown) => {
          if (!current()) return
          this.#report(error)
          connection.disconnect(true)
        },
      )
    })
    for (const event of ['close', 'reconnecting'] as const) {
      connection.on(event, () => {
        if (current()) this.#setDown()
      })
    }
    connection.on('end', () => {
      if (!current()) return
      this.#setDown()
      // ioredis gave up reconnecting (on cluster nodes, by our retryStrategy; or after a fatal
      // error): use a new connection, to another node for a cluster.
      this.#scheduleReplace()
    })
    connection.on('error', (error: unknown) => {
      // The socket's 'close' follows any error that matters; this is for logs only.
      if (current()) this.#report(error)
    })
  }

  /** A new subscriber connection, or undefined for a cluster with no known node yet. */
  #create(): Redis | undefined {
    const { source, heartbeatTimeoutMs, connectionName } = this.#options
    const overrides: RedisOptions = {
      lazyConnect: false,
      // Our own SUBSCRIBE on 'ready' is what counts; ioredis's resubscription is harmless and kept.
      autoResubscribe: true,
      // Nothing may wait for a connection that is not there: we only send while ready.
      enableOfflineQueue: false,
      enableReadyCheck: true,
      maxRetriesPerRequest: null,
      // Bounds the handshake (the ready check's INFO) and SUBSCRIBE on a server that accepts the
      // socket but does not answer; a timeout there makes ioredis reconnect.
      commandTimeout: heartbeatTimeoutMs,
      connectTimeout: Math.max(heartbeatTimeoutMs, 1_000),
      // disconnect(true) half-closes and waits this long for the peer's FIN before destroying the
      // socket; a frozen peer never sends it.
      disconnectTimeout: heartbeatTimeoutMs,
      retryStrategy: reconnectDelayMs,
      connectionName,
      keyPrefix: '',
    }
    if (typeof source === 'string') return new Redis(source, overrides)
    if (source instanceof Redis) return source.duplicate(overrides)
    const nodes = source.nodes('all')
    if (nodes.length === 0) {
      if (source.status === 'wait') source.connect().catch(() => {})
      return undefined
    }
    const node = nodes[this.#clusterNode++ % nodes.length]
    if (node === undefined) return undefined
    const { host, port, username, password, tls, family } = node.options
    return new Redis({
      ...overrides,
      host,
      port,
      username,
      password,
      tls,
      family,
      // Give up on this node after a few attempts; 'end' then moves us to another one.
      retryStrategy: (attempt) => (attempt > CLUSTER_NODE_ATTEMPTS ? null : reconnectDelayMs(attempt)),
    })
  }

  #scheduleReplace(): void {
    if (this.#closed || this.#replaceTimer !== undefined) return
    this.#replaceTimer = setTimeout(() => {
      this.#replaceTimer = undefined
      if (this.#closed) return
      const old = this.#connection
      this.#connection = undefined
      if (old !== undefined) void endConnection(old)
      this.#open()
    }, reconnectDelayMs(this.#replaceAttempts++))
    this.#replaceTimer.unref()
  }

  #beat(): void {
    const connection = this.#connection
    if (connection === undefined || !this.#subscribed || this.#pinging || connection.status !== 'ready') return
    this.#pinging = true
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TierUnavailableError(`subscriber PING unanswered after ${this.#options.heartbeatTimeoutMs} ms`)), this.#options.heartbeatTimeoutMs)
    })
    Promise.race([connection.ping(), timeout])
      .catch((error: unknown) => {
        if (this.#connection !== connection || this.#closed) return
        // Silently dead: say so before anything else, then force a new socket. For a cluster node,
        // repeated failures end the connection and move us to another node.
        this.#setDown()
        this.#report(error)
        connection.disconnect(true)
      })
      .finally(() => {
        clearTimeout(timer)
        this.#pinging = false
      })
  }

  #setUp(): void {
    if (this.#subscribed) return
    this.#subscribed = true
    this.#options.listener.up()
    for (const wake of [...this.#upWaiters]) wake()
  }

  #setDown(): void {
    if (!this.#subscribed) return
    this.#subscribed = false
    this.#options.listener.down()
  }

  #report(error: unknown): void {
    this.#options.listener.error?.(error)
  }
}

/** Ends a subscriber connection for good, resolving once it has ended (or after 1 s). */
async function endConnection(connection: Redis): Promise<void> {
  connection.removeAllListeners('message')
  if (connection.status === 'end') return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000)
    connection.once('end', () => {
      clearTimeout(timer)
      resolve()
    })
    connection.disconnect()
  })
}
