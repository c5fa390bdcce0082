/** Storability and freshness of the shared HTTP cache, over real HTTP, by RFC 9111 section (and RFC 9213). */
import { afterEach, describe, expect, it } from 'vitest'
import { type Mounted, mount } from './harness.js'

let env: Mounted | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

async function twice(mounted: Mounted, path: string, headers: Record<string, string> = {}) {
  const first = await mounted.request(path, { headers })
  const second = await mounted.request(path, { headers })
  return { first, second }
}

describe('http-cache: storing and freshness', () => {
  it('RFC 9111 §3, §4.2.1: a max-age response is stored and reused while fresh; Cache-Status says miss-stored then hit (RFC 9211)', async () => {
    env = await mount()
    env.origin.on('/a', (_req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body ${n}` }))
    const { first, second } = await twice(env, '/a')
    expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=60; stored')
    expect(second.text).toBe('body 1')
    expect(second.headers.get('cache-status')).toMatch(/^tiercache; hit; ttl=(59|60)$/)
    expect(env.origin.hits('/a')).toBe(1)
  })

  it('RFC 9111 §4.2.1, §5.2.2.10: s-maxage wins over max-age in a shared cache', async () => {
    env = await mount()
    env.origin.on('/s', (_req, n) => ({ headers: { 'cache-control': 'max-age=0, s-maxage=60' }, body: `body ${n}` }))
    const { second } = await twice(env, '/s')
    expect(second.text).toBe('body 1')
    expect(env.origin.hits('/s')).toBe(1)
  })

  it('RFC 9111 §5.2.2.7, §5.2.2.5: private and no-store responses are not stored by a shared cache', async () => {
    env = await mount()
    env.origin.on('/private', (_req, n) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `body ${n}` }))
    env.origin.on('/no-store', (_req, n) => ({ headers: { 'cache-control': 'no-store, max-age=60' }, body: `body ${n}` }))
    for (const path of ['/private', '/no-store']) {
      const { first, second } = await twice(env, path)
      expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200')
      expect(second.text).toBe('body 2')
      expect(env.origin.hits(path)).toBe(2)
    }
  })

  it('RFC 9111 §3.5: a response to a request with Authorization is stored only with public, s-maxage or must-revalidate', async () => {
    env = await mount()
    env.origin.on('/plain', (_req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body ${n}` }))
    env.origin.on('/public', (_req, n) => ({ headers: { 'cache-control': 'public, max-age=60' }, body: `body ${n}` }))
    const auth = { authorization: 'Bearer secret' }
    expect((await twice(env, '/plain', auth)).second.text).toBe('body 2')
    expect((await twice(env, '/public', auth)).second.text).toBe('body 1')
  })

  it('RFC 9111 §5.3: an invalid Expires means already expired, so the response is revalidated', async () => {
    env = await mount()
    env.origin.on('/expires', (req, n) => (req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { headers: { expires: 'not a date', etag: '"v1"' }, body: `body ${n}` }))
    const { second } = await twice(env, '/expires')
    expect(env.origin.hits('/expires')).toBe(2)
    expect(env.origin.seen('/expires')[1]?.['if-none-match']).toBe('"v1"')
    expect(second.text).toBe('body 1')
    expect(second.headers.get('cache-status')).toContain('fwd=stale; fwd-status=304')
  })

  it('RFC 9111 §5.2.2.2: a fresh must-revalidate response is reused while fresh, and validated once stale', async () => {
    env = await mount()
    env.origin.on('/mr', (req, n) => (req.headers['if-none-match'] === '"m"' ? { status: 304, headers: { etag: '"m"', 'cache-control': 'max-age=10, must-revalidate' } } : { headers: { 'cache-control': 'max-age=10, must-revalidate, stale-while-revalidate=60', etag: '"m"' }, body: `body ${n}` }))
    const { second } = await twice(env, '/mr')
    expect(second.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/mr')).toBe(1)
    env.advance(11)
    // Stale: must-revalidate forbids serving it, even within stale-while-revalidate.
    const third = await env.request('/mr')
    expect(third.headers.get('cache-status')).toContain('fwd=stale; fwd-status=304')
    expect(env.origin.hits('/mr')).toBe(2)
  })

  it('RFC 9213 §2: CDN-Cache-Control, when this cache is configured to honour it, replaces Cache-Control', async () => {
    env = await mount({ targetedFields: ['cdn-cache-control'] })
    env.origin.on('/cdn', (_req, n) => ({ headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, body: `body ${n}` }))
    env.origin.on('/cdn-none', (_req, n) => ({ headers: { 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' }, body: `body ${n}` }))
    const cdn = await twice(env, '/cdn')
    expect(cdn.second.text).toBe('body 1')
    // The targeted field forwarded on, for the caches downstream.
    expect(cdn.second.headers.get('cache-control')).toBe('no-store')
    expect((await twice(env, '/cdn-none')).second.text).toBe('body 2')
  })

  it('RFC 9213 §2: without the targeted field configured, CDN-Cache-Control is ignored', async () => {
    env = await mount()
    env.origin.on('/cdn', (_req, n) => ({ headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, body: `body ${n}` }))
    expect((await twice(env, '/cdn')).second.text).toBe('body 2')
  })

  it("Surrogate-Control's max-age, when configured as a targeted field, replaces Cache-Control (Edge Architecture 1.0)", async () => {
    env = await mount({ targetedFields: ['surrogate-control'] })
    env.origin.on('/sc', (_req, n) => ({ headers: { 'cache-control': 'max-age=0', 'surrogate-control': 'max-age=60+30' }, body: `body ${n}` }))
    const { second } = await twice(env, '/sc')
    expect(second.text).toBe('body 1')
    env.advance(61)
    expect((await env.request('/sc')).text).toBe('body 2')
  })

  it('RFC 9111 §4.2.2: no heuristic freshness by default; with heuristic configured, Last-Modified gives some', async () => {
    const lastModified = new Date(Date.now() - 10 * 24 * 3600 * 1000).toUTCString()
    env = await mount()
    env.origin.on('/h', (_req, n) => ({ headers: { 'last-modified': lastModified }, body: `body ${n}` }))
    await twice(env, '/h')
    expect(env.origin.hits('/h')).toBe(2)
    expect(env.origin.seen('/h')[1]?.['if-modified-since']).toBe(lastModified)
    await env.close()

    env = await mount({ heuristic: 0.1 })
    env.origin.on('/h', (_req, n) => ({ status: n === 1 ? 404 : 200, headers: { 'last-modified': lastModified }, body: `body ${n}` }))
    const { second } = await twice(env, '/h')
    // 10% of 10 days: a day of freshness, for a 404 (heuristically cacheable, RFC 9110 §15.1) too.
    expect(second.status).toBe(404)
    expect(second.headers.get('cache-status')).toMatch(/^tiercache; hit; ttl=864\d\d$/)
    expect(env.origin.hits('/h')).toBe(1)
  })

  it('RFC 9111 §5.1, §4.2.3: the Age from the origin counts, and the Age answered grows with the time stored', async () => {
    env = await mount()
    env.origin.on('/age', (_req, n) => ({ headers: { 'cache-control': 'max-age=60', age: '50' }, body: `body ${n}` }))
    const first = await env.request('/age')
    expect(first.headers.get('age')).toBe('50')
    env.advance(5)
    const second = await env.request('/age')
    expect(second.headers.get('age')).toBe('55')
    expect(second.text).toBe('body 1')
    env.advance(6)
    expect((await env.request('/age')).text).toBe('body 2')
  })

  it('RFC 9111 §3.3, §3.4: a Range request is passed on, and a 206 partial response is not stored as the whole', async () => {
    env = await mount()
    env.origin.on('/r', (req, n) => (req.headers.range === undefined ? { headers: { 'cache-control': 'max-age=60' }, body: `whole ${n}` } : { status: 206, headers: { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-1/7' }, body: 'wh' }))
    const partial = await env.request('/r', { headers: { range: 'bytes=0-1' } })
    expect(partial.status).toBe(206)
    expect((await env.request('/r')).text).toBe('whole 2')
    expect((await env.request('/r')).text).toBe('whole 2')
  })

  it('RFC 9111 §3 (a choice within it): a response with Set-Cookie is stored only when public, so that no client is answered another one\'s cookie', async () => {
    env = await mount()
    env.origin.on('/cookie', (_req, n) => ({ headers: { 'cache-control': 'max-age=60', etag: '"k"', 'set-cookie': `session=${n}` }, body: `body ${n}` }))
    env.origin.on('/public-cookie', (_req, n) => ({ headers: { 'cache-control': 'public, max-age=60', 'set-cookie': 'theme=dark' }, body: `body ${n}` }))
    const cookie = await twice(env, '/cookie')
    expect(cookie.second.headers.get('set-cookie')).toBe('session=2')
    expect((await twice(env, '/public-cookie')).second.text).toBe('body 1')
  })

  it('RFC 9111 §5.2.2.7: private with field names: the rest of the response is stored, never the listed fields; the first client gets them', async () => {
    env = await mount()
    env.origin.on('/page', (_req, n) => ({ headers: { 'cache-control': 'private="set-cookie", max-age=60', 'set-cookie': `session=${n}`, 'x-kept': 'yes' }, body: `page ${n}` }))
    const { first, second } = await twice(env, '/page')
    expect(first.headers.get('set-cookie')).toBe('session=1')
    expect(second.text).toBe('page 1')
    expect(second.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(second.headers.get('set-cookie')).toBeNull()
    expect(second.headers.get('x-kept')).toBe('yes')
  })

  it('RFC 9111 §5.2.2.4: no-cache with field names: the response is reused without the listed fields; unqualified no-cache still revalidates', async () => {
    env = await mount()
    env.origin.on('/listed', (_req, n) => ({ headers: { 'cache-control': 'no-cache="a, b", max-age=3600', a: '1', b: '2', c: '3' }, body: `listed ${n}` }))
    env.origin.on('/both', (_req, n) => ({ headers: { 'cache-control': 'no-cache, no-cache="a", max-age=3600', a: '1' }, body: `both ${n}` }))
    const { second } = await twice(env, '/listed')
    expect(second.text).toBe('listed 1')
    expect([second.headers.get('a'), second.headers.get('b'), second.headers.get('c')]).toEqual([null, null, '3'])
    expect((await twice(env, '/both')).second.text).toBe('both 2')
  })
})
