/**
 * A {@link StreamRelay} in Redis: one Redis stream per flight (`XADD`), which followers read from
 * its start (`XRANGE`, polled), so that a follower that comes late still gets every byte. The key
 * expires once the stream ends, or after `ttlMs` in any case.
 * @see https://redis.io/docs/latest/develop/data-types/streams/
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { RelayEvent, RelayWriter, StreamRelay } from './stream-relay.js'

/** Options of {@link redisStreamRelay}. */
export interface RedisStreamRelayOptions {
  /** A command connection (the cache's own may be shared: the relay sends no blocking command). */
  readonly redis: Redis
  /** The start of its keys: `<prefix>:ai:flight:<id>`. @default 'tc' */
  readonly prefix?: string
  /** How long a flight's key lives at most, ms. @default 600000 */
  readonly ttlMs?: number
  /** How long a key lives after its stream ended, for followers still reading, ms. @default 30000 */
  readonly lingerMs?: number
  /** How often a follower reads what came, ms. @default 20 */
  readonly pollMs?: number
}

const ignore = (): void => {}

function eventOf(fields: readonly Buffer[]): RelayEvent | undefined {
  const kind = fields[1]?.toString()
  const data = fields[3]
  if (kind === 'open') return { kind, contentType: data?.toString() ?? 'text/event-stream' }
  if (kind === 'chunk' && data !== undefined) return { kind, bytes: data }
  if (kind === 'end') return { kind }
  if (kind === 'fail') return { kind, message: data?.toString() ?? 'the stream failed' }
  return undefined
}

/**
 * Streams in progress relayed through Redis (Redis 6.2 or later), for `createAiCache({ relay })`.
 * @example createAiCache({ cache, upstream, relay: redisStreamRelay({ redis: new Redis(process.env.REDIS_URL) }) })
 */
export function redisStreamRelay(options: RedisStreamRelayOptions): StreamRelay {
  const { redis } = options
  const prefix = options.prefix ?? 'tc'
  const ttlMs = options.ttlMs ?? 600_000
  const lingerMs = options.lingerMs ?? 30_000
  const pollMs = options.pollMs ?? 20
  const keyOf = (id: string) => `${prefix}:ai:flight:${id}`

  return {
    publish(id): RelayWriter {
      const key = keyOf(id)
      return {
        write(event) {
          const fields: (string | Uint8Array)[] = ['t', event.kind]
          if (event.kind === 'open') fields.push('d', event.contentType)
          if (event.kind === 'chunk') fields.push('d', Buffer.from(event.bytes.buffer, event.bytes.byteOffset, event.bytes.byteLength))
          if (event.kind === 'fail') fields.push('d', event.message)
          const pipeline = redis.multi()
          // A new run of the flight starts its key afresh: no follower reads an earlier run's end.
          if (event.kind === 'open') pipeline.del(key)
          pipeline.xadd(key, '*', ...(fields as string[]))
          if (event.kind === 'open') pipeline.pexpire(key, ttlMs)
          if (event.kind === 'end' || event.kind === 'fail') pipeline.pexpire(key, lingerMs)
          pipeline.exec().catch(ignore)
        },
      }
    },
    async *follow(id, signal) {
      const key = keyOf(id)
      let after: string | undefined
      while (!signal.aborted) {
        const entries = await redis.xrangeBuffer(key, after === undefined ? '-' : `(${after}`, '+').catch(() => [])
        for (const [entryId, fields] of entries) {
          after = entryId.toString()
          const event = eventOf(fields)
          if (event === undefined) continue
          yield event
          if (event.kind === 'end' || event.kind === 'fail') return
        }
        if (entries.length === 0) await delay(pollMs, undefined, { signal }).catch(ignore)
      }
    },
  }
}
