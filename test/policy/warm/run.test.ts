// The runner over a real cache (L1 only here; every tier in tiers.test.ts): bounded concurrency
// proven with a gate, failures reported with their codes and never thrown, progress, the policy the
// keys are written with, URL sources against a local HTTP server, and the `missing` mode.
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../../src/index.js'
import { type WarmProgress, type WarmSourceContext, warm } from '../../../src/policy/warm/index.js'
import { gate } from '../../helpers/cache.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

function memoryCache(options: Parameters<typeof createCache>[0] = {}): Cache {
  const cache = createCache({ l3: false, ...options })
  caches.push(cache)
  return cache
}

/** A source whose calls wait until the test releases them, one by one. */
class GatedSource {
  running = 0
  maxRunning = 0
  readonly started: string[] = []
  private readonly waiting: (() => void)[] = []
  private arrival = gate()

  readonly source = async ({ key }: WarmSourceContext): Promise<string> => {
    this.running++
    this.maxRunning = Math.max(this.maxRunning, this.running)
    this.started.push(key)
    const release = gate()
    this.waiting.push(release.open)
    this.arrival.open()
    await release.promise
    this.running--
    return `value of ${key}`
  }

  /** Resolves once `count` calls have started. */
  async startedAtLeast(count: number): Promise<void> {
    while (this.started.length < count) {
      this.arrival = gate()
      await this.arrival.promise
    }
  }

  /** Lets the oldest waiting call finish. */
  releaseOne(): void {
    this.waiting.shift()?.()
  }
}

describe('a warming run', () => {
  it('runs at most `concurrency` sources at once, and starts the next only when one ends', async () => {
    const cache = memoryCache()
    const gated = new GatedSource()
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
    const done = warm(cache, { concurrency: 3, source: gated.source, keys })
    await gated.startedAtLeast(3)
    // Every call that could start has: the others wait for a slot.
    await new Promise((resolve) => setImmediate(resolve))
    expect(gated.started).toHaveLength(3)
    for (let next = 4; next <= 10; next++) {
      gated.releaseOne()
      await gated.startedAtLeast(next)
      expect(gated.running).toBe(3)
    }
    for (let i = 0; i < 3; i++) gated.releaseOne()
    const report = await done
    expect(gated.maxRunning).toBe(3)
    expect(report).toMatchObject({ total: 10, loaded: 10, failed: 0, skipped: 0, stopped: false })
    expect(await cache.get('k9')).toBe('value of k9')
  })

  it('reports each failure with its code, loads the other keys, and never rejects', async () => {
    const cache = memoryCache({ limits: { maxValueBytes: 1_000 } })
    const report = await warm(
      cache,
      {
        timeout: '50ms',
        keys: [
          { key: 'good', source: () => 1 },
          { key: 'throws', source: () => Promise.reject(new Error('origin down')) },
          { key: 'slow', source: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) },
          { key: 'ignores-signal', source: () => new Promise(() => {}) },
          { key: 'huge', source: () => 'x'.repeat(10_000) },
          { key: 'undefined', source: () => undefined },
        ],
      },
      { name: 'mixed' },
    )
    expect(report).toMatchObject({ job: 'mixed', namespace: 'default', total: 6, loaded: 1, failed: 5, skipped: 0 })
    const codes = Object.fromEntries(report.failures.map((failure) => [failure.key, failure.code]))
    expect(codes).toEqual({ throws: 'TC_FACTORY_ERROR', slow: 'TC_FACTORY_TIMEOUT', 'ignores-signal': 'TC_FACTORY_TIMEOUT', huge: 'TC_VALUE_TOO_LARGE', undefined: 'TC_INVALID_VALUE' })
    expect(report.failures.find((failure) => failure.key === 'throws')?.message).toMatch(/origin down/)
    expect(await cache.get('good')).toBe(1)
    expect(await cache.get('throws')).toBeUndefined()
    expect(report.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('reports progress after every key, done = loaded + failed, up to the total', async () => {
    const cache = memoryCache()
    const seen: WarmProgress[] = []
    await warm(
      cache,
      { concurrency: 1, source: ({ key }) => (key === 'bad' ? Promise.reject(new Error('no')) : key), keys: ['a', 'bad', 'c'] },
      {
        onProgress: (progress) => {
          seen.push(progress)
          throw new Error('a listener that throws is ignored')
        },
      },
    )
    expect(seen).toEqual([
      { done: 1, total: 3, loaded: 1, failed: 0 },
      { done: 2, total: 3, loaded: 1, failed: 1 },
      { done: 3, total: 3, loaded: 2, failed: 1 },
    ])
  })

  it('writes with the job policy, context, tags and namespace', async () => {
    const cache = memoryCache({ policies: { policies: { countries: { ttl: '24h', grace: '7d' } }, multipliers: { freshness: { eventual: { factor: 2 } } } } })
    const before = Date.now()
    const report = await warm(cache, {
      namespace: 'reference',
      policy: 'countries',
      context: { freshness: 'eventual' },
      tags: ['reference'],
      keys: [{ key: 'countries', source: () => ['FR', 'GB'], tags: ['geo'] }],
    })
    expect(report).toMatchObject({ loaded: 1, namespace: 'reference' })
    const tier = (await cache.namespace('reference').explain('countries')).tiers.find((t) => t.level === 'l1')
    expect(tier?.state).toBe('present')
    expect(tier?.tags).toEqual(['reference', 'geo'])
    // 24 h × 2 for eventual freshness.
    expect(tier!.freshUntil! - tier!.createdAt!).toBe(48 * 3_600_000)
    expect(tier!.createdAt!).toBeGreaterThanOrEqual(before)
    await cache.namespace('reference').invalidateTags(['geo'])
    expect(await cache.namespace('reference').get('countries')).toBeUndefined()
  })

  it('with mode missing, calls the source only for keys without a fresh value', async () => {
    const cache = memoryCache()
    await cache.set('present', 'kept')
    const called: string[] = []
    const report = await warm(cache, { mode: 'missing', source: ({ key }) => (called.push(key), `new ${key}`), keys: ['present', 'absent'] })
    expect(report).toMatchObject({ loaded: 2, failed: 0 })
    expect(called).toEqual(['absent'])
    expect(await cache.get('present')).toBe('kept')
    expect(await cache.get('absent')).toBe('new absent')
  })

  it('stops when its signal aborts: sources running are aborted, keys not started are skipped', async () => {
    const cache = memoryCache()
    const controller = new AbortController()
    const gated = new GatedSource()
    const done = warm(cache, { concurrency: 2, source: gated.source, keys: ['a', 'b', 'c', 'd'] }, { signal: controller.signal })
    await gated.startedAtLeast(2)
    controller.abort()
    const report = await done
    expect(report).toMatchObject({ total: 4, loaded: 0, failed: 2, skipped: 2, stopped: true })
    expect(report.failures.map((failure) => failure.message)).toEqual([expect.stringMatching(/was stopped/), expect.stringMatching(/was stopped/)])
    expect(gated.started).toEqual(['a', 'b'])
  })

  it('refuses an invalid job before loading anything', async () => {
    const cache = memoryCache()
    await expect(warm(cache, { keys: ['no-source'] })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
  })
})

describe('a URL source', () => {
  let server: Server
  let base: string
  const requests: { url: string; auth: string | undefined }[] = []
  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({ url: request.url ?? '', auth: request.headers.authorization })
      const path = new URL(request.url ?? '/', 'http://localhost').pathname
      if (path.startsWith('/flights/')) {
        const id = decodeURIComponent(path.slice('/flights/'.length))
        if (id === 'MISSING') return void response.writeHead(404, 'Not Found').end()
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'on time' }))
        return
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end('plain text')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('GETs each key, URL-encoded into {key}, with the headers, and stores JSON parsed and text as text', async () => {
    const cache = memoryCache()
    const report = await warm(cache, {
      source: { url: `${base}/flights/{key}?lang=en`, headers: { authorization: 'Bearer t' } },
      keys: ['BA117', 'a b/c', 'MISSING', { key: 'text', source: `${base}/text` }],
    })
    expect(report).toMatchObject({ loaded: 3, failed: 1 })
    // The query (which may hold a token) is left out of the message.
    expect(report.failures).toEqual([{ key: 'MISSING', code: 'TC_FACTORY_ERROR', message: `GET ${base}/flights/MISSING answered 404 Not Found` }])
    expect(await cache.get('BA117')).toEqual({ id: 'BA117', status: 'on time' })
    expect(await cache.get('a b/c')).toEqual({ id: 'a b/c', status: 'on time' })
    expect(await cache.get('text')).toBe('plain text')
    expect(requests.map((r) => r.url)).toContain('/flights/a%20b%2Fc?lang=en')
    expect(requests.find((r) => r.url.startsWith('/flights/BA117'))?.auth).toBe('Bearer t')
  })

  it('reports a source that cannot be reached as TC_FACTORY_ERROR', async () => {
    const cache = memoryCache()
    const report = await warm(cache, { keys: [{ key: 'k', source: 'http://127.0.0.1:1/x' }] })
    expect(report.failures[0]).toMatchObject({ key: 'k', code: 'TC_FACTORY_ERROR' })
  })
})
