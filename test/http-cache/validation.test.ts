/** Validation, variants, HEAD, invalidation and surrogate keys of the shared HTTP cache, over real HTTP. */
import { afterEach, describe, expect, it } from 'vitest'
import { urlTag } from '../../src/http-cache/variants.js'
import { type Mounted, mount } from './harness.js'

let env: Mounted | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

const LAST_MODIFIED = 'Mon, 01 Jun 2026 10:00:00 GMT'

describe('http-cache: validation', () => {
  it('RFC 9111 §4.3.1, §4.3.4: a stale response is validated with If-None-Match and If-Modified-Since, and a 304 updates its headers', async () => {
    env = await mount()
    env.origin.on('/v', (req, n) =>
      n === 1
        ? { headers: { 'cache-control': 'max-age=10', etag: '"v1"', 'last-modified': LAST_MODIFIED, 'x-version': '1', 'content-type': 'text/plain' }, body: 'one' }
        : { status: req.headers['if-none-match'] === '"v1"' ? 304 : 500, headers: { 'cache-control': 'max-age=100', etag: '"v1"', 'x-version': '2' } },
    )
    await env.request('/v', { headers: { 'if-none-match': '"client"' } })
    env.advance(11)
    const validated = await env.request('/v')
    const asked = env.origin.seen('/v')[1]
    expect(asked?.['if-none-match']).toBe('"v1"')
    expect(asked?.['if-modified-since']).toBe(LAST_MODIFIED)
    // The client's own precondition was not passed on for the first, storing, request.
    expect(env.origin.seen('/v')[0]?.['if-none-match']).toBeUndefined()
    expect(validated.status).toBe(200)
    expect(validated.text).toBe('one')
    expect(validated.headers.get('x-version')).toBe('2')
    expect(validated.headers.get('content-type')).toBe('text/plain')
    expect(validated.headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=304; ttl=100; stored')
    env.advance(50)
    // Fresh for the 304's max-age=100 now.
    expect((await env.request('/v')).headers.get('cache-status')).toMatch(/^tiercache; hit; ttl=50$/)
    expect(env.origin.hits('/v')).toBe(2)
  })

  it('RFC 9111 §4.3.2: a client whose If-None-Match or If-Modified-Since matches the stored response gets a 304 from the cache', async () => {
    env = await mount()
    env.origin.on('/c', () => ({ headers: { 'cache-control': 'max-age=60', etag: 'W/"c1"', 'last-modified': LAST_MODIFIED }, body: 'content' }))
    await env.request('/c')
    const byTag = await env.request('/c', { headers: { 'if-none-match': '"other", "c1"' } })
    expect(byTag.status).toBe(304)
    expect(byTag.text).toBe('')
    expect(byTag.headers.get('etag')).toBe('W/"c1"')
    expect(byTag.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect((await env.request('/c', { headers: { 'if-none-match': '"other"' } })).status).toBe(200)
    expect((await env.request('/c', { headers: { 'if-modified-since': LAST_MODIFIED } })).status).toBe(304)
    expect((await env.request('/c', { headers: { 'if-modified-since': 'Mon, 01 Jun 2026 09:00:00 GMT' } })).status).toBe(200)
    expect(env.origin.hits('/c')).toBe(1)
  })

  it('RFC 9110 §9.3.2, RFC 9111 §4: HEAD is answered from a stored GET, without a body', async () => {
    env = await mount()
    env.origin.on('/h', () => ({ headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'x-kind': 'stored' }, body: 'the body' }))
    await env.request('/h')
    const head = await env.request('/h', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    expect(head.headers.get('x-kind')).toBe('stored')
    expect(head.headers.get('content-length')).toBe('8')
    expect(head.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/h')).toBe(1)
  })

  it('RFC 9111 §4.1: Vary stores one variant per value of the selecting header fields', async () => {
    env = await mount()
    env.origin.on('/vary', (req) => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body: `lang ${String(req.headers['accept-language'])}` }))
    const en = await env.request('/vary', { headers: { 'accept-language': 'en' } })
    const fr = await env.request('/vary', { headers: { 'accept-language': 'fr' } })
    expect(fr.headers.get('cache-status')).toContain('fwd=vary-miss')
    expect((await env.request('/vary', { headers: { 'accept-language': 'en' } })).text).toBe(en.text)
    expect((await env.request('/vary', { headers: { 'accept-language': 'fr' } })).text).toBe('lang fr')
    expect(env.origin.hits('/vary')).toBe(2)
  })

  it('RFC 9111 §4.1: Vary: * matches no later request, so it is not stored', async () => {
    env = await mount()
    env.origin.on('/star', (_req, n) => ({ headers: { 'cache-control': 'max-age=60', vary: '*' }, body: `body ${n}` }))
    await env.request('/star')
    expect((await env.request('/star')).text).toBe('body 2')
  })
})

describe('http-cache: invalidation and surrogate keys', () => {
  function stored(mounted: Mounted, path: string): void {
    mounted.origin.on(path, (_req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `${path} ${n}` }))
  }

  it('RFC 9111 §4.4: a non-error answer to an unsafe method invalidates its URL and the same-origin Location and Content-Location', async () => {
    env = await mount()
    for (const path of ['/a', '/b', '/c', '/d']) stored(env, path)
    for (const path of ['/a', '/b', '/c', '/d']) await env.request(path)
    env.origin.on('/a?post', () => ({ status: 201, headers: { location: '/b' } }))
    env.origin.on('/c?put', () => ({ status: 200, headers: { 'content-location': `${env!.origin.url}/c`, location: 'http://elsewhere.example/d' } }))
    const posted = await env.request('/a?post', { method: 'POST', body: 'x' })
    expect(posted.headers.get('cache-status')).toBe('tiercache; fwd=method; fwd-status=201')
    await env.request('/c?put', { method: 'PUT', body: 'y' })
    // /a?post and /c?put are other URLs than /a and /c: Location and Content-Location reach /b and /c.
    expect((await env.request('/a')).text).toBe('/a 1')
    expect((await env.request('/b')).text).toBe('/b 2')
    expect((await env.request('/c')).text).toBe('/c 2')
    expect((await env.request('/d')).text).toBe('/d 1')
    env.origin.on('/a', () => ({ status: 204 }))
    await env.request('/a', { method: 'DELETE' })
    env.origin.on('/a', (_req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `/a ${n}` }))
    expect((await env.request('/a')).text).toBe('/a 3')
  })

  it('RFC 9111 §4.4: an error answer to an unsafe method invalidates nothing', async () => {
    env = await mount()
    stored(env, '/e')
    await env.request('/e')
    env.origin.on('/e', (_req, n) => (n === 2 ? { status: 409 } : { headers: { 'cache-control': 'max-age=600' }, body: `/e ${n}` }))
    expect((await env.request('/e', { method: 'POST', body: 'x' })).status).toBe(409)
    expect((await env.request('/e')).text).toBe('/e 1')
  })

  it('surrogate keys: the Surrogate-Key values and the URL tag the stored response, and a tag removal purges it', async () => {
    env = await mount()
    env.origin.on('/p/1', (_req, n) => ({ headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'product-1  catalog' }, body: `p1 ${n}` }))
    env.origin.on('/p/2', (_req, n) => ({ headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'product-2 catalog' }, body: `p2 ${n}` }))
    await env.request('/p/1')
    await env.request('/p/2')
    await env.view.invalidateTags(['product-1'])
    expect((await env.request('/p/1')).text).toBe('p1 2')
    expect((await env.request('/p/2')).text).toBe('p2 1')
    await env.view.invalidateTags(['catalog'])
    expect((await env.request('/p/2')).text).toBe('p2 2')
    await env.view.invalidateTags([urlTag(`${env.origin.url}/p/1`)])
    expect((await env.request('/p/1')).text).toBe('p1 3')
  })
})
