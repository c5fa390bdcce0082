/**
 * Purges by surrogate key, URL and prefix, hard and soft, over real HTTP on loopback; and across two
 * instances sharing Redis (the shared test server, under a prefix of this file's own).
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type Mounted, gate, mount, startOrigin } from './harness.js'

let mounted: Mounted[] = []
afterEach(async () => {
  await Promise.all(mounted.map((env) => env.close()))
  mounted = []
})

async function one(options: Parameters<typeof mount>[0] = {}): Promise<Mounted> {
  const env = await mount(options)
  mounted.push(env)
  return env
}

/** `path` answers `<path> <n>`, fresh for 600 s, with `headers` beside. */
function serve(env: Mounted, path: string, headers: Record<string, string> = {}): void {
  env.origin.on(path, (_req, n) => ({ headers: { 'cache-control': 'max-age=600', ...headers }, body: `${path} ${n}` }))
}

describe('hard purges', () => {
  it('surrogate keys: a purge by key removes every response carrying it, and only those', async () => {
    const env = await one()
    serve(env, '/p/1', { 'surrogate-key': 'product-1 catalog' })
    serve(env, '/p/2', { 'surrogate-key': 'product-2, catalog' })
    await env.request('/p/1')
    await env.request('/p/2')
    expect(await env.httpCache.purge({ keys: ['product-1'] })).toEqual({ tags: ['product-1'], soft: false })
    expect((await env.request('/p/1')).text).toBe('/p/1 2')
    expect((await env.request('/p/2')).text).toBe('/p/2 1')
    await env.httpCache.purge({ keys: ['catalog'] })
    expect((await env.request('/p/1')).text).toBe('/p/1 3')
    expect((await env.request('/p/2')).text).toBe('/p/2 2')
  })

  it('a purge by URL removes every variant and the HEAD answers of that URL, not its neighbours', async () => {
    const env = await one()
    serve(env, '/v', { vary: 'accept-language' })
    serve(env, '/v?page=2')
    await env.request('/v', { headers: { 'accept-language': 'en' } })
    await env.request('/v', { headers: { 'accept-language': 'fr' } })
    await env.request('/v?page=2')
    await env.httpCache.purge({ urls: [`${env.origin.url}/v`] })
    expect((await env.request('/v', { headers: { 'accept-language': 'en' } })).text).toBe('/v 3')
    expect((await env.request('/v', { headers: { 'accept-language': 'fr' } })).text).toBe('/v 4')
    expect((await env.request('/v?page=2')).text).toBe('/v?page=2 1')
  })

  it('a purge by prefix reaches whole path segments below it, whatever the query; the origin root reaches the site', async () => {
    const env = await one()
    for (const path of ['/docs', '/docs/a?x=1', '/docs/a/b', '/docs2', '/other']) serve(env, path)
    for (const path of ['/docs', '/docs/a?x=1', '/docs/a/b', '/docs2', '/other']) await env.request(path)
    await env.httpCache.purge({ prefixes: [`${env.origin.url}/docs/?ignored=1`] })
    expect((await env.request('/docs')).text).toBe('/docs 2')
    expect((await env.request('/docs/a?x=1')).text).toBe('/docs/a?x=1 2')
    expect((await env.request('/docs/a/b')).text).toBe('/docs/a/b 2')
    expect((await env.request('/docs2')).text).toBe('/docs2 1')
    await env.httpCache.purge({ prefixes: [`${env.origin.url}/`] })
    expect((await env.request('/docs2')).text).toBe('/docs2 2')
    expect((await env.request('/other')).text).toBe('/other 2')
  })

  it('an invalid purge is refused with TC_INVALID_OPTIONS and purges nothing', async () => {
    const env = await one()
    serve(env, '/k', { 'surrogate-key': 'k' })
    await env.request('/k')
    const refusals = [{}, { keys: [] }, { urls: ['/relative'] }, { urls: ['ftp://h/x'] }, { keys: ['k'], prefixes: [`${env.origin.url}/1/2/3/4/5/6/7/8/9`] }, { keys: ['k'], hard: true }]
    for (const purge of refusals) await expect(env.httpCache.purge(purge as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    expect((await env.request('/k')).text).toBe('/k 1')
  })
})

describe('soft purges', () => {
  it('mark stale: the next request revalidates with the stored validator, and a 304 makes it fresh again', async () => {
    const env = await one()
    env.origin.on('/s', (req, n) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=600' } } : { headers: { etag: '"v1"', 'cache-control': 'max-age=600', 'surrogate-key': 's' }, body: `/s ${n}` }))
    await env.request('/s')
    expect(await env.httpCache.purge({ keys: ['s'], soft: true })).toEqual({ tags: ['s'], soft: true })
    const revalidated = await env.request('/s')
    expect(revalidated.text).toBe('/s 1')
    expect(revalidated.headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=304; ttl=600; stored')
    expect(env.origin.seen('/s')[1]?.['if-none-match']).toBe('"v1"')
    // Validated after the purge (the test clock stands still): a hit, not another revalidation.
    expect((await env.request('/s')).headers.get('cache-status')).toBe('tiercache; hit; ttl=600')
    expect(env.origin.hits('/s')).toBe(2)
  })

  it('RFC 5861 §3: a soft-purged response with stale-while-revalidate is answered at once and revalidated in the background', async () => {
    const env = await one()
    const release = gate()
    env.origin.on('/w', async (_req, n) => {
      if (n === 2) await release.promise
      return { headers: { 'cache-control': 'max-age=600, stale-while-revalidate=60' }, body: `/w ${n}` }
    })
    await env.request('/w')
    await env.httpCache.purge({ urls: [`${env.origin.url}/w`], soft: true })
    const stale = await env.request('/w')
    expect(stale.text).toBe('/w 1')
    expect(stale.headers.get('cache-status')).toBe('tiercache; hit; ttl=600; detail=stale-while-revalidate')
    release.open()
    await env.httpCache.idle()
    expect((await env.request('/w')).text).toBe('/w 2')
  })

  it('RFC 5861 §4: when the revalidation of a soft-purged response fails, stale-if-error answers it', async () => {
    const env = await one()
    env.origin.on('/e', (_req, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=600, stale-if-error=60' }, body: 'first' } : { status: 503, body: 'down' }))
    await env.request('/e')
    await env.httpCache.purge({ prefixes: [`${env.origin.url}/e`], soft: true })
    const answer = await env.request('/e')
    expect(answer.text).toBe('first')
    expect(answer.headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=503; ttl=600; detail=stale-if-error')
  })

  it('RFC 9111 §4.2.4: a soft-purged must-revalidate response is not served when the origin fails', async () => {
    const env = await one()
    env.origin.on('/m', (_req, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=600, must-revalidate, stale-if-error=60, stale-while-revalidate=60' }, body: 'first' } : { status: 503, body: 'down' }))
    await env.request('/m')
    await env.httpCache.purge({ urls: [`${env.origin.url}/m`], soft: true })
    expect((await env.request('/m')).status).toBe(503)
  })

  it('reach only what was stored before them', async () => {
    const env = await one()
    serve(env, '/a', { 'surrogate-key': 'a' })
    serve(env, '/b', { 'surrogate-key': 'b' })
    await env.request('/a')
    await env.httpCache.purge({ keys: ['a'], soft: true })
    env.advance(1)
    await env.request('/b')
    expect((await env.request('/b')).headers.get('cache-status')).toBe('tiercache; hit; ttl=600')
    expect((await env.request('/a')).text).toBe('/a 2')
    expect((await env.request('/a')).headers.get('cache-status')).toBe('tiercache; hit; ttl=600')
  })
})

describe('purges across instances sharing Redis', () => {
  it('reach the L1 and L2 of every instance, hard and soft', async () => {
    const origin = await startOrigin()
    const prefix = `tc-http-${randomUUID().slice(0, 8)}`
    const [a, b] = await Promise.all([0, 1].map(() => mount({}, { cache: createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false }), origin })))
    mounted.push(a!, b!)
    try {
      origin.on('/x', (_req, n) => ({ headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'x' }, body: `/x ${n}` }))
      expect((await a!.request('/x')).text).toBe('/x 1')
      await vi.waitFor(async () => expect((await b!.request('/x')).headers.get('cache-status')).toBe('tiercache; hit; ttl=600'))
      await b!.httpCache.purge({ keys: ['x'] })
      await vi.waitFor(async () => expect((await a!.request('/x')).text).toBe('/x 2'))
      await vi.waitFor(async () => expect((await b!.request('/x')).text).toBe('/x 2'))
      b!.advance(1)
      await b!.httpCache.purge({ keys: ['x'], soft: true })
      await vi.waitFor(async () => expect((await a!.request('/x')).headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=200; ttl=600; stored'))
      expect(origin.hits('/x')).toBe(3)
    } finally {
      await a!.view.clear()
      await origin.close()
    }
  })
})
