/**
 * {@link Bus} over Redis (or Valkey) pub/sub: {@link createRedisBus}.
 *
 * Delivery is what pub/sub gives, at most once and in order per publisher connection; everything
 * that can lose a message is turned into a {@link BusHandlers.deaf} call, so that the engine clears
 * its L1 instead of serving what another instance changed:
 *
 * | what happened                                              | reported as                  |
 * | ---------------------------------------------------------- | ---------------------------- |
 * | subscriber socket closed / reconnecting / ended            | `deaf('disconnected')`       |
 * | subscriber PING unanswered within `heartbeatTimeoutMs`     | `deaf('disconnected')`       |
 * | a sender's `seq` jumped (we missed some of its messages)    | `deaf('gap')`                |
 * | a sender's PUBLISH failed (its `seq` was used anyway)      | `deaf('gap')` at its next one |
 * | a payload that is not a valid envelope of this version     | `deaf('bad-message')`        |
 * | {@link RedisBus.close} while listening                     | `deaf('unsubscribed')`       |
 *
 * and `listening()` follows as soon as the subscription is known good again: at once after a gap or
 * a bad message (the subscription itself is fine), after a confirmed SUBSCRIBE on reconnection.
 */
import { parseOptions } from '../core/options.js'
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import { CacheClosedError, InvalidOptionsError, TierUnavailableError } from '../errors.js'
import { isCluster } from '../redis/client.js'
import { type RedisConnections, connectionsFor, redisConnectionSchema } from '../redis/connections.js'
import type { Subscription } from '../redis/subscriber.js'
import { BUS_WIRE_VERSION, type Bus, type BusEnvelope, type BusHandlers, type BusMessage, type DeafReason } from './bus.js'
import { decodeEnvelope, encodeEnvelope, isBusMessage } from './envelope.js'

/** Default pub/sub channel of the bus. */
export const DEFAULT_BUS_CHANNEL = 'tiercache:bus'

/** Options of {@link createRedisBus}. Durations in milliseconds. */
export interface RedisBusOptions {
  /**
   * Where to publish and subscribe: a `redis://` / `rediss://` URL (the bus then creates, and closes,
   * its own connections, which fail fast: no offline queue, a command timeout); an ioredis `Redis`
   * or `Cluster` client that the caller keeps owning (the bus uses it to publish and subscribes on a
   * `duplicate()` of a `Redis`, or on its own connection to one node of a `Cluster`); or
   * {@link RedisConnections} shared with a tier and a lock, whose own heartbeat settings then apply.
   */
  readonly connection: string | Redis | Cluster | RedisConnections
  /** Pub/sub channel shared by every instance of a deployment. @default 'tiercache:bus' */
  readonly channel?: string
  /** This instance's id (1-256 characters), unique in the deployment. @default crypto.randomUUID() */
  readonly id?: string
  /** Interval of the subscriber's liveness PING, ms; 0 disables it (not for shared RedisConnections). @default 1000 */
  readonly heartbeatMs?: number
  /** Longest wait for the PING's answer before the bus reports itself deaf and reconnects, ms (not for shared RedisConnections). @default 1000 */
  readonly heartbeatTimeoutMs?: number
  /** Longest wait for a PUBLISH before {@link RedisBus.publish} rejects, ms. @default 1000 */
  readonly commandTimeoutMs?: number
  /** Longest wait in {@link RedisBus.start} for the first subscription, ms. @default 5000 */
  readonly startTimeoutMs?: number
  /**
   * A sender not heard from for this long is forgotten (its next message counts as its first, not
   * as a gap), so that the map of senders stays bounded as instances come and go, ms. @default 600000
   */
  readonly senderIdleMs?: number
  /** Called with connection errors and with errors thrown by the handlers, for logging. */
  readonly onError?: (error: unknown) => void
}

const positiveInt = z.number().int().positive()

const optionsSchema = z.strictObject({
  connection: redisConnectionSchema,
  channel: z.string().min(1).max(1024).default(DEFAULT_BUS_CHANNEL),
  id: z.string().min(1).max(256).optional(),
  heartbeatMs: z.number().int().nonnegative().default(1_000),
  heartbeatTimeoutMs: positiveInt.default(1_000),
  commandTimeoutMs: positiveInt.default(1_000),
  startTimeoutMs: positiveInt.default(5_000),
  senderIdleMs: positiveInt.default(10 * 60_000),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
})

type ParsedOptions = z.output<typeof optionsSchema>

/** PUBLISH through a script keyed by the channel, so that a Cluster sends every message to one node. */
const CLUSTER_PUBLISH_SCRIPT = "return redis.call('PUBLISH', ARGV[1], ARGV[2])"

/**
 * Creates a {@link RedisBus}. Connects at once (the command connection, unless shared); subscribes
 * on {@link RedisBus.start}.
 * @throws InvalidOptionsError when `options` are invalid (e.g. an empty channel, a negative heartbeat)
 * @throws CacheClosedError when given RedisConnections that are closed
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  return new RedisBus(parseOptions(optionsSchema, options, 'bus'))
}

interface SenderState {
  seq: number
  heardAt: number
}

/**
 * The Redis pub/sub {@link Bus}; see the module comment for what it reports when. Create it with
 * {@link createRedisBus}.
 *
 * Ordering: messages of one sender arrive in the order of their `seq`, because they travel on one
 * connection to one server (for a Cluster, PUBLISH goes through a script keyed by the channel, so
 * always to the node that owns the channel's slot, instead of to a random node).
 */
export class RedisBus implements Bus {
  /** This instance's id, the `sender` of what it publishes. */
  readonly id: string
  /** The pub/sub channel. */
  readonly channel: string
  readonly #options: ParsedOptions
  readonly #connections: RedisConnections
  readonly #senders = new Map<string, SenderState>()
  #seq = 0
  /** How every envelope this instance sends starts (see encodeEnvelope: `v`, then `sender`). */
  readonly #ownPrefix: string
  #handlers: BusHandlers | undefined
  #subscription: Subscription | undefined
  #listening = false
  #pruneTimer: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined

  /** @internal Use {@link createRedisBus}. */
  constructor(options: ParsedOptions) {
    this.#options = options
    this.id = options.id ?? randomUUID()
    this.channel = options.channel
    this.#ownPrefix = `{"v":${BUS_WIRE_VERSION},"sender":${JSON.stringify(this.id)},`
    const { commandTimeoutMs, heartbeatMs, heartbeatTimeoutMs } = options
    this.#connections = connectionsFor(options.connection, { name: this.id, commandTimeoutMs, heartbeatMs, heartbeatTimeoutMs })
  }

  /** True while subscribed and not known to have missed anything. */
  get listening(): boolean {
    return this.#listening
  }

  /**
   * Publishes `message` to every other instance. Resolves once Redis accepted it.
   *
   * Every call uses the next sequence number, even one that fails: if the message did not go out,
   * the receivers see a gap at this instance's next message and clear their L1, which is what they
   * must do when an invalidation may have been lost.
   * @throws CacheClosedError after {@link close}
   * @throws InvalidOptionsError when `message` is not a valid {@link BusMessage}
   * @throws TierUnavailableError when Redis fails or does not answer within `commandTimeoutMs`
   */
  async publish(message: BusMessage): Promise<void> {
    if (this.#closing !== undefined) throw new CacheClosedError('bus: publish after close')
    if (!isBusMessage(message)) throw new InvalidOptionsError('bus: not a valid bus message')
    let numbered = false
    try {
      await this.#connections.run('bus publish', this.#options.commandTimeoutMs, (client) => {
        // seq, time and send together, synchronously: the order of seq is the order on the wire.
        numbered = true
        const envelope: BusEnvelope = { v: BUS_WIRE_VERSION, sender: this.id, seq: ++this.#seq, at: Date.now(), message }
        const payload = encodeEnvelope(envelope)
        return isCluster(client) ? client.eval(CLUSTER_PUBLISH_SCRIPT, 1, this.channel, this.channel, payload) : client.publish(this.channel, payload)
      })
    } catch (error) {
      // A message that never went out uses its number all the same, so that receivers see a gap.
      if (!numbered) this.#seq++
      throw error
    }
  }

  /**
   * Subscribes and starts delivering to `handlers`. Resolves once subscribed, and `handlers.listening`
   * has been called.
   * @throws CacheClosedError after {@link close}
   * @throws InvalidOptionsError when already started
   * @throws TierUnavailableError when not subscribed within `startTimeoutMs`; `handlers.deaf('disconnected')`
   *   has then been called, the bus keeps trying, and calls `handlers.listening()` when it succeeds
   */
  async start(handlers: BusHandlers): Promise<void> {
    if (this.#closing !== undefined) throw new CacheClosedError('bus: start after close')
    if (this.#handlers !== undefined) throw new InvalidOptionsError('bus: start() was already called')
    this.#handlers = handlers
    const { senderIdleMs, startTimeoutMs, onError } = this.#options
    this.#pruneTimer = setInterval(() => this.#prune(), Math.min(senderIdleMs, 60_000))
    this.#pruneTimer.unref()
    const subscription = this.#connections.subscribe(this.channel, {
      message: (payload) => this.#receive(payload),
      up: () => this.#up(),
      down: () => this.#down('disconnected'),
      error: (error) => onError?.(error),
    })
    this.#subscription = subscription
    if (await subscription.whenSubscribed(startTimeoutMs)) return
    if (this.#closing !== undefined) throw new CacheClosedError('bus: closed while starting')
    this.#deaf('disconnected')
    throw new TierUnavailableError(`bus: not subscribed within ${startTimeoutMs} ms; still trying`)
  }

  /**
   * Unsubscribes, and closes the connections the bus created (never a client passed in). Calls
   * `handlers.deaf('unsubscribed')` if it was listening. Idempotent.
   */
  async close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    clearInterval(this.#pruneTimer)
    if (this.#listening) {
      this.#listening = false
      this.#deaf('unsubscribed')
    }
    this.#subscription?.close()
    await this.#connections.release()
  }

  #receive(payload: string): void {
    if (this.#closing !== undefined) return
    // Our own messages come back too (one per write): drop them before paying for a parse.
    if (payload.startsWith(this.#ownPrefix)) return
    const envelope = decodeEnvelope(payload)
    if (envelope === undefined) {
      this.#distrust('bad-message')
      return
    }
    if (envelope.sender === this.id) return
    // While not listening the engine distrusts its L1 anyway, and the sequence numbers are restarted
    // when the subscription is back; a message delivered meanwhile is passed on but not tracked.
    if (this.#listening && this.#track(envelope)) this.#distrust('gap')
    this.#call((handlers) => handlers.message(envelope.message, envelope))
  }

  /** Records the envelope's seq; true when messages of its sender were missed since the last one. */
  #track({ sender, seq }: BusEnvelope): boolean {
    const now = Date.now()
    const known = this.#senders.get(sender)
    if (known === undefined) {
      // A sender met for the first time (new, or met again after a restart of ours) is no gap.
      this.#senders.set(sender, { seq, heardAt: now })
      return false
    }
    known.heardAt = now
    // seq <= known.seq cannot come from Redis (one connection, in order); a late PUBLISH that timed
    // out on the sender's side can. The message is still applied; invalidations are idempotent.
    if (seq <= known.seq) return false
    const gap = seq > known.seq + 1
    known.seq = seq
    return gap
  }

  /** deaf(reason), then listening() again when the subscription itself is fine. */
  #distrust(reason: 'gap' | 'bad-message'): void {
    const wasListening = this.#listening
    this.#listening = false
    this.#deaf(reason)
    if (wasListening && this.#subscription?.subscribed === true && this.#closing === undefined) {
      this.#listening = true
      this.#listen()
    }
  }

  #up(): void {
    if (this.#closing !== undefined) return
    this.#senders.clear()
    this.#listening = true
    this.#listen()
  }

  #down(reason: DeafReason): void {
    this.#senders.clear()
    if (!this.#listening) return
    this.#listening = false
    this.#deaf(reason)
  }

  #prune(): void {
    const oldest = Date.now() - this.#options.senderIdleMs
    for (const [sender, state] of this.#senders) {
      if (state.heardAt < oldest) this.#senders.delete(sender)
    }
  }

  /** Calls a handler; what it throws goes to `onError`, never into ioredis's event loop. */
  #call(call: (handlers: BusHandlers) => void): void {
    const handlers = this.#handlers
    if (handlers === undefined) return
    try {
      call(handlers)
    } catch (error) {
      this.#options.onError?.(error)
    }
  }

  #deaf(reason: DeafReason): void {
    this.#call((handlers) => handlers.deaf(reason))
  }

  #listen(): void {
    this.#call((handlers) => handlers.listening())
  }
}
