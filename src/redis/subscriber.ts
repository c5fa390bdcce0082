/**
 * A Redis pub/sub connection that knows, and says, when it may have missed messages; one per cache,
 * shared by every channel it listens to (the bus's, the lock's release notices).
 *
 * Redis pub/sub is fire and forget: a message published while a subscriber is disconnected is lost
 * for it, and nothing tells it so. This class turns every way of losing messages into a `down` call
 * to every subscription, made before any later message is delivered, and every return to a confirmed
 * subscription into an `up` call:
 *
 * - the socket closes, errors out or reconnects (`close`, `reconnecting`, `end`): down at once;
 * - the socket stays open but nothing answers (a frozen server, a dropped route): a PING every
 *   `heartbeatMs` (PING is allowed in subscribe mode) that is not answered within
 *   `heartbeatTimeoutMs` means down, and the connection is torn down and made again;
 * - up for a subscription only when SUBSCRIBE to its channel has been acknowledged on the current
 *   connection (on every `ready`, we subscribe ourselves rather than rely on ioredis's silent
 *   `autoResubscribe`, whose completion we could not observe).
 *
 * For a Cluster client, classic SUBSCRIBE on any one node hears what is published on every node
 * (Redis broadcasts PUBLISH over the cluster bus). ioredis's own cluster subscriber fails over
 * silently, so we keep a plain connection to one node of our choosing instead, and move to another
 * node when that one stops answering.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { withTimeout } from '../core/timeout.js'
import { TierUnavailableError } from '../errors.js'
import { isCluster, reconnectDelayMs } from './client.js'

/** What a {@link Subscription} reports. Calls are synchronous, from ioredis's event handlers. */
export interface SubscriptionListener {
  /** A message on the subscription's channel. */
  message(payload: string): void
  /** Subscribed on the current connection: from now on, every message published is delivered. */
  up(): void
  /** The subscription is lost (or is no longer known to work): messages may be missed from now on. */
  down(): void
  /** A connection error or a failed heartbeat, for logs; never a reason to throw. */
  error?(error: unknown): void
}

/** One listener on one channel of a {@link Subscriber}. */
export interface Subscription {
  /** True while subscribed on a live connection. */
  readonly subscribed: boolean
  /** Resolves true once subscribed (at once if already), false after `timeoutMs` or on close. */
  whenSubscribed(timeoutMs: number): Promise<boolean>
  /** Stops delivering to the listener (no `down` call); the last one of a channel unsubscribes it. Idempotent. */
  close(): void
}

/** Options of {@link Subscriber}. */
export interface SubscriberOptions {
  /** Where to connect: a URL, a client to `duplicate()`, or a Cluster whose nodes to use. */
  readonly source: string | Redis | Cluster
  /** Interval of the PING that checks the subscription is alive, ms; 0 disables it. */
  readonly heartbeatMs: number
  /** Longest wait for the PING's answer (and for any command on this connection), ms. */
  readonly heartbeatTimeoutMs: number
  /** CLIENT SETNAME of the connection, to find it in CLIENT LIST. */
  readonly connectionName: string
}

/** After this many failed reconnects to one cluster node, try another node. */
const CLUSTER_NODE_ATTEMPTS = 2

class ChannelSubscription implements Subscription {
  subscribed = false
  closed = false
  readonly waiters = new Set<() => void>()

  constructor(
    readonly channel: string,
    readonly listener: SubscriptionListener,
    private readonly remove: (subscription: ChannelSubscription) => void,
  ) {}

  async whenSubscribed(timeoutMs: number): Promise<boolean> {
    if (this.subscribed) return true
    if (this.closed) return false
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve(this.subscribed)
      }
      const timer = setTimeout(done, Math.max(0, timeoutMs))
      this.waiters.add(done)
    })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.subscribed = false
    this.wake()
    this.remove(this)
  }

  wake(): void {
    for (const wake of [...this.waiters]) wake()
  }
}

/**
 * A resilient SUBSCRIBE to any number of channels on one connection; see the module comment. The
 * connection opens with the first {@link subscribe} and lasts until {@link close}.
 */
export class Subscriber {
  readonly #options: SubscriberOptions
  #connection: Redis | undefined
  /** Channel → its subscriptions. */
  readonly #channels = new Map<string, Set<ChannelSubscription>>()
  /** Channels whose SUBSCRIBE the current connection acknowledged. */
  readonly #live = new Set<string>()
  #closed = false
  #started = false
  #pinging = false
  #heartbeat: NodeJS.Timeout | undefined
  #replaceTimer: NodeJS.Timeout | undefined
  #replaceAttempts = 0
  /** Which cluster node to use next; starts at random so that instances spread over the nodes. */
  #clusterNode = Math.floor(Math.random() * 1_000)

  /** Prepares the subscriber; nothing connects before the first {@link subscribe}. */
  constructor(options: SubscriberOptions) {
    this.#options = options
  }

  /**
   * Listens to `channel`: connects (in the background, retrying until {@link close}) if not yet
   * connected, and subscribes. `listener.up` follows once subscribed.
   */
  subscribe(channel: string, listener: SubscriptionListener): Subscription {
    const subscription = new ChannelSubscription(channel, listener, (gone) => this.#remove(gone))
    if (this.#closed) {
      subscription.closed = true
      return subscription
    }
    let subscriptions = this.#channels.get(channel)
    if (subscriptions === undefined) {
      subscriptions = new Set()
      this.#channels.set(channel, subscriptions)
    }
    subscriptions.add(subscription)
    const connection = this.#connection
    if (this.#live.has(channel)) {
      // Already subscribed on this connection; say so once the caller holds the subscription.
      queueMicrotask(() => {
        if (this.#connection === connection && this.#live.has(channel) && !subscription.closed) this.#setUp(subscription)
      })
    } else if (connection?.status === 'ready') {
      this.#subscribeOn(connection, [channel])
    }
    this.#start()
    return subscription
  }

  /** Unsubscribes and closes the connection; no `down` call. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#live.clear()
    clearInterval(this.#heartbeat)
    clearTimeout(this.#replaceTimer)
    for (const subscriptions of this.#channels.values()) {
      for (const subscription of subscriptions) {
        subscription.closed = true
        subscription.subscribed = false
        subscription.wake()
      }
    }
    this.#channels.clear()
    const connection = this.#connection
    this.#connection = undefined
    if (connection !== undefined) await endConnection(connection)
  }

  #start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#open()
    if (this.#options.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs)
      this.#heartbeat.unref()
    }
  }

  #remove(subscription: ChannelSubscription): void {
    const { channel } = subscription
    const subscriptions = this.#channels.get(channel)
    if (subscriptions === undefined || !subscriptions.delete(subscription) || subscriptions.size > 0) return
    this.#channels.delete(channel)
    this.#live.delete(channel)
    const connection = this.#connection
    if (connection?.status === 'ready') connection.unsubscribe(channel).catch(() => undefined)
  }

  /** SUBSCRIBEs `channels` on `connection`; their subscriptions are up once it is acknowledged. */
  #subscribeOn(connection: Redis, channels: readonly string[]): void {
    const current = () => this.#connection === connection && !this.#closed
    connection.subscribe(...channels).then(
      () => {
        // A reply for a connection that has since dropped proves nothing about the new one.
        if (!current() || connection.status !== 'ready') return
        for (const channel of channels) {
          const subscriptions = this.#channels.get(channel)
          if (subscriptions === undefined) continue
          this.#live.add(channel)
          for (const subscription of [...subscriptions]) this.#setUp(subscription)
        }
      },
      (error: unknown) => {
        if (!current()) return
        this.#report(error)
        connection.disconnect(true)
      },
    )
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
      if (!current()) return
      for (const subscription of [...(this.#channels.get(channel) ?? [])]) subscription.listener.message(payload)
    })
    connection.on('ready', () => {
      if (!current()) return
      this.#replaceAttempts = 0
      if (this.#channels.size > 0) this.#subscribeOn(connection, [...this.#channels.keys()])
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
    if (!isCluster(source)) return source.duplicate(overrides)
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
    if (connection === undefined || this.#live.size === 0 || this.#pinging || connection.status !== 'ready') return
    this.#pinging = true
    const { heartbeatTimeoutMs } = this.#options
    withTimeout(connection.ping(), heartbeatTimeoutMs, () => new TierUnavailableError(`subscriber PING unanswered after ${heartbeatTimeoutMs} ms`))
      .catch((error: unknown) => {
        if (this.#connection !== connection || this.#closed) return
        // Silently dead: say so before anything else, then force a new socket. For a cluster node,
        // repeated failures end the connection and move us to another node.
        this.#setDown()
        this.#report(error)
        connection.disconnect(true)
      })
      .finally(() => {
        this.#pinging = false
      })
  }

  #setUp(subscription: ChannelSubscription): void {
    if (subscription.subscribed || subscription.closed) return
    subscription.subscribed = true
    subscription.listener.up()
    subscription.wake()
  }

  /** Every subscription is down: the connection is lost or no longer known to work. */
  #setDown(): void {
    this.#live.clear()
    for (const subscriptions of this.#channels.values()) {
      for (const subscription of [...subscriptions]) {
        if (!subscription.subscribed) continue
        subscription.subscribed = false
        subscription.listener.down()
      }
    }
  }

  #report(error: unknown): void {
    for (const subscriptions of this.#channels.values()) {
      for (const subscription of [...subscriptions]) subscription.listener.error?.(error)
    }
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
