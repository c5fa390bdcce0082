/**
 * Two gateway instances sharing one Redis (L2, bus, lock), as two servers behind a load balancer:
 * identical requests spread over both make one upstream call, streamed ones included. Real Redis
 * (the shared test server, under a prefix of this test's own).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { assembleStream, createAiCache, httpUpstream } from '../../src/ai/index.js'
import { type Cache, createCache } from '../../src/index.js'
import { Redis } from 'ioredis'
import { redisStreamRelay } from '../../src/redis.js'
import { KeyRing } from '../../src/security/crypto/key-ring.js'
import { startServer } from '../../src/server/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type KeyStore, openKeyStore } from '../server/helpers.js'
import { ask } from './gateway-harness.js'
import { type FakeUpstream, startFakeUpstream } from './upstream-server.js'

const prefix = `tc-ai-${randomUUID().slice(0, 8)}`
const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
const dir = mkdtempSync(join(tmpdir(), 'tiercache-ai-redis-'))

interface Instance {
  readonly cache: Cache
  readonly url: string
  close(): Promise<void>
}

let upstream: FakeUpstream
let stores: KeyStore[]
let instances: Instance[]
let key: string

async function instance(store: KeyStore): Promise<Instance> {
  const cache = createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false, security: { encryption: { keyRing } } })
  const redis = new Redis(TEST_REDIS_URL)
  const ai = createAiCache({ cache, upstream: httpUpstream({ baseUrl: upstream.url }), relay: redisStreamRelay({ redis, prefix }) })
  const started = await startServer({ cache, credentials: store.credentials, ai, port: 0 })
  return {
    cache,
    url: started.url,
    async close() {
      await started.app.close()
      await redis.quit()
    },
  }
}

beforeAll(async () => {
  upstream = await startFakeUpstream()
  // Two key stores on one file, as two servers on one database.
  stores = [await openKeyStore(join(dir, 'keys.db')), await openKeyStore(join(dir, 'keys.db'))]
  instances = [await instance(stores[0]!), await instance(stores[1]!)]
  key = (await stores[0]!.createKey()).key
})
afterAll(async () => {
  await instances[0]?.cache.erase({ tenantId: 'acme' })
  await Promise.all(instances.map((one) => one.close()))
  await Promise.all(stores.map((store) => store.close()))
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/ai/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/**
 * Sends `n` identical requests to each instance, the second's while the first's upstream call is
 * held, and releases it once the second has made `lookups` cache lookups; resolves their bodies.
 */
async function spread(body: unknown, n: number, lookups: number): Promise<string[]> {
  const [a, b] = instances as [Instance, Instance]
  const before = (await b.cache.stats()).requests
  upstream.hold()
  const first = Array.from({ length: n }, () => post(a.url, body).then((response) => response.text()))
  await upstream.arrived(upstream.calls.length + 1)
  const second = Array.from({ length: n }, () => post(b.url, body).then((response) => response.text()))
  // The second instance has looked its requests up (and is waiting on the lock) before the upstream answers.
  await vi.waitFor(async () => expect((await b.cache.stats()).requests - before).toBeGreaterThanOrEqual(lookups))
  upstream.release()
  return Promise.all([...first, ...second])
}

describe('the gateway on two instances sharing Redis', () => {
  it('makes one upstream call for identical requests spread over both', async () => {
    upstream.calls.length = 0
    const bodies = await spread(ask('Venues in Boston?'), 10, 10)
    const contents = bodies.map((body) => (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content)
    expect(new Set(contents)).toEqual(new Set(['answer #1 to: Venues in Boston?']))
    expect(upstream.calls).toHaveLength(1)
  })

  it('makes one upstream call for identical streamed requests spread over both', async () => {
    upstream.calls.length = 0
    // The second instance's requests follow one stream flight of its own: one lookup.
    const bodies = await spread({ ...ask('Florists in Boston?'), stream: true, stream_options: { include_usage: true } }, 5, 1)
    expect(new Set(bodies).size).toBe(1)
    const assembled = assembleStream(bodies[0] ?? '')
    expect(assembled.complete).toBe(true)
    expect((assembled.body.choices as { message: { content: string } }[])[0]?.message.content).toBe('answer #1 to: Florists in Boston?')
    expect(upstream.calls).toHaveLength(1)
  })
  it('lets a streamed request on the second instance follow the first\'s stream live, through the relay', async () => {
    upstream.calls.length = 0
    const [a, b] = instances as [Instance, Instance]
    const body = { ...ask('Bands in Boston?'), stream: true, stream_options: { include_usage: true } }
    upstream.hold('mid-stream')
    const leader = await post(a.url, body)
    const leaderReader = leader.body!.getReader()
    const first = await leaderReader.read()
    // The upstream is still held after its first event: the follower's answer starts from the relay.
    const follower = await post(b.url, body)
    expect(follower.headers.get('x-tiercache-cache')).toBe('MISS')
    const followerReader = follower.body!.getReader()
    const followed = await followerReader.read()
    expect(Buffer.from(followed.value ?? []).toString()).toContain('"role":"assistant"')
    expect(upstream.calls).toHaveLength(1)
    upstream.release()
    const rest = async (reader: ReadableStreamDefaultReader<Uint8Array>, start: Uint8Array | undefined) => {
      let bytes = Buffer.from(start ?? [])
      for (let part = await reader.read(); !part.done; part = await reader.read()) bytes = Buffer.concat([bytes, Buffer.from(part.value)])
      return bytes
    }
    const [leaderBytes, followerBytes] = await Promise.all([rest(leaderReader, first.value), rest(followerReader, followed.value)])
    expect(followerBytes.equals(leaderBytes)).toBe(true)
    expect(assembleStream(followerBytes.toString()).complete).toBe(true)
    expect(upstream.calls).toHaveLength(1)
  })
})
