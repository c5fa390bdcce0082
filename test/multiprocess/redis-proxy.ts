// A TCP proxy in front of Redis, in the test process, through which one worker connects. It tells
// the cache's subscriber connection (the bus's and the lock's) apart from its command connection
// by the name the subscriber gives itself (CLIENT SETNAME `tiercache:sub:<id>`, the first
// command ioredis sends), so that a test can drop or freeze ONLY that connection, the most faithful
// way to make one instance miss bus messages while everything else keeps working.
import { type Server, type Socket, connect, createServer } from 'node:net'

/** CLIENT SETNAME of the subscriber (src/redis/connections.ts); the command client's is `tiercache:cmd:`. */
const SUBSCRIBER_NAME = Buffer.from('tiercache:sub:')
/** Bytes of a connection's first command, enough to hold CLIENT SETNAME and its argument. */
const SNIFF_BYTES = 512

export interface RedisProxy {
  /** The URL to give the worker instead of Redis's. */
  readonly url: string
  /** Bus subscriber connections currently forwarded (not frozen). */
  readonly liveSubscribers: number
  /** Closes the subscriber connections, and closes every new one, until {@link restore}. */
  cutSubscribers(): void
  /**
   * Stops forwarding on the subscriber connections without closing them (a silent network
   * failure: nothing arrives, nothing errors), and holds new ones the same way, until {@link restore}.
   */
  freezeSubscribers(): void
  /** Back to normal: frozen connections are closed (the client reconnects), new ones forwarded. */
  restore(): void
  /** Closes every connection and the listener. */
  close(): Promise<void>
}

interface Link {
  readonly client: Socket
  upstream: Socket | undefined
  subscriber: boolean
  frozen: boolean
}

/** Starts a proxy on a spare loopback port that forwards to Redis on `redisPort`. */
export async function startRedisProxy(redisPort: number): Promise<RedisProxy> {
  let mode: 'open' | 'cut' | 'frozen' = 'open'
  const links = new Set<Link>()

  const server: Server = createServer((client) => {
    const link: Link = { client, upstream: undefined, subscriber: false, frozen: false }
    links.add(link)
    // As ioredis does: without it, Nagle's algorithm holds small writes (a bus message) for ~40 ms.
    client.setNoDelay(true)
    const drop = () => {
      links.delete(link)
      client.destroy()
      link.upstream?.destroy()
    }
    client.on('error', drop)
    client.on('close', drop)

    // Read the first command before connecting upstream, to know what this connection is.
    let head = Buffer.alloc(0)
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const complete = head.includes(SUBSCRIBER_NAME) || head.length >= SNIFF_BYTES || countCrlf(head) >= 8
      if (!complete) return
      client.off('data', sniff)
      client.pause()
      link.subscriber = head.includes(SUBSCRIBER_NAME)
      if (link.subscriber && mode === 'cut') return drop()
      if (link.subscriber && mode === 'frozen') {
        link.frozen = true // held: never forwarded, never answered
        return
      }
      const upstream = connect(redisPort, '127.0.0.1')
      upstream.setNoDelay(true)
      link.upstream = upstream
      upstream.on('error', drop)
      upstream.on('close', drop)
      upstream.once('connect', () => {
        upstream.write(head)
        client.pipe(upstream)
        upstream.pipe(client)
      })
    }
    client.on('data', sniff)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('proxy: no address')

  const subscribers = () => [...links].filter((link) => link.subscriber)
  return {
    url: `redis://127.0.0.1:${address.port}`,
    get liveSubscribers() {
      return subscribers().filter((link) => !link.frozen && link.upstream !== undefined).length
    },
    cutSubscribers() {
      mode = 'cut'
      for (const link of subscribers()) {
        link.client.destroy()
        link.upstream?.destroy()
        links.delete(link)
      }
    },
    freezeSubscribers() {
      mode = 'frozen'
      for (const link of subscribers()) {
        link.frozen = true
        if (link.upstream !== undefined) {
          link.client.unpipe(link.upstream)
          link.upstream.unpipe(link.client)
          link.upstream.pause()
        }
        link.client.pause()
      }
    },
    restore() {
      mode = 'open'
      for (const link of subscribers()) {
        if (!link.frozen) continue
        link.client.destroy()
        link.upstream?.destroy()
        links.delete(link)
      }
    },
    async close() {
      for (const link of links) {
        link.client.destroy()
        link.upstream?.destroy()
      }
      links.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function countCrlf(buffer: Buffer): number {
  let count = 0
  for (let i = buffer.indexOf('\r\n'); i !== -1; i = buffer.indexOf('\r\n', i + 2)) count++
  return count
}
