/** Request directives, RFC 5861's stale extensions and request collapsing, over real HTTP. */
import { afterEach, describe, expect, it } from 'vitest'
import { type Mounted, gate, mount } from './harness.js'

let env: Mounted | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

const validating = (etag: string, cacheControl: string) => (req: { headers: Record<string, string | string[] | undefined> }, n: number) =>
  req.headers['if-none-match'] === etag ? { status: 304, headers: { etag, 'cache-control': cacheControl } } : { headers: { etag, 'cache-control': cacheControl }, body: `body ${n}` }

describe('http-cache: request directives', () => {
  it('RFC 9111 §5.2.1.4: request no-cache validates a fresh response with the origin first', async () => {
    env = await mount()
    env.origin.on('/nc', validating('"a"', 'max-age=60'))
    await env.request('/nc')
    const again = await env.request('/nc', { headers: { 'cache-control': 'no-cache' } })
    expect(env.origin.seen('/nc')[1]?.['if-none-match']).toBe('"a"')
    expect(again.text).toBe('body 1')
    expect(again.headers.get('cache-status')).toContain('fwd=request; fwd-status=304')
  })

  it('RFC 9111 §5.4: Pragma: no-cache without Cache-Control acts as request no-cache', async () => {
    env = await mount()
    env.origin.on('/p', validating('"p"', 'max-age=60'))
    await env.request('/p')
    await env.request('/p', { headers: { pragma: 'no-cache' } })
    expect(env.origin.hits('/p')).toBe(2)
  })

  it('RFC 9111 §5.2.1.1, §5.2.1.3: request max-age and min-fresh send a response too old or too close to stale to the origin', async () => {
    env = await mount()
    env.origin.on('/m', (_req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body ${n}` }))
    await env.request('/m')
    env.advance(30)
    expect((await env.request('/m', { headers: { 'cache-control': 'max-age=40' } })).text).toBe('body 1')
    expect((await env.request('/m', { headers: { 'cache-control': 'max-age=20' } })).text).toBe('body 2')
    expect((await env.request('/m', { headers: { 'cache-control': 'min-fresh=30' } })).text).toBe('body 2')
    expect((await env.request('/m', { headers: { 'cache-control': 'min-fresh=90' } })).text).toBe('body 3')
  })

  it('RFC 9111 §5.2.1.2: request max-stale accepts a stale response within its bound', async () => {
    env = await mount()
    env.origin.on('/ms', (_req, n) => ({ headers: { 'cache-control': 'max-age=10', etag: '"x"' }, body: `body ${n}` }))
    await env.request('/ms')
    env.advance(20)
    const stale = await env.request('/ms', { headers: { 'cache-control': 'max-stale=15' } })
    expect(stale.text).toBe('body 1')
    expect(stale.headers.get('cache-status')).toBe('tiercache; hit; ttl=-10; detail=stale')
    expect((await env.request('/ms', { headers: { 'cache-control': 'max-stale=5' } })).text).toBe('body 2')
  })

  it('RFC 9111 §5.2.1.5: the answer to a request with no-store is not stored', async () => {
    env = await mount()
    env.origin.on('/ns', (_req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body ${n}` }))
    const first = await env.request('/ns', { headers: { 'cache-control': 'no-store' } })
    expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200')
    expect((await env.request('/ns')).text).toBe('body 2')
  })

  it('RFC 9111 §5.2.1.7: only-if-cached answers 504 when nothing stored serves, and the stored response when one does', async () => {
    env = await mount()
    env.origin.on('/o', (_req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body ${n}` }))
    const none = await env.request('/o', { headers: { 'cache-control': 'only-if-cached' } })
    expect(none.status).toBe(504)
    expect(env.origin.hits('/o')).toBe(0)
    await env.request('/o')
    expect((await env.request('/o', { headers: { 'cache-control': 'only-if-cached' } })).text).toBe('body 1')
  })
})

describe('http-cache: RFC 5861 and collapsing', () => {
  it('RFC 5861 §3: stale-while-revalidate answers the stale response at once and revalidates in the background', async () => {
    env = await mount()
    const release = gate()
    const reached = gate()
    env.origin.on('/swr', async (_req, n) => {
      if (n === 2) {
        reached.open()
        await release.promise
      }
      return { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' }, body: `body ${n}` }
    })
    await env.request('/swr')
    env.advance(15)
    // Answered while the origin still holds the revalidation.
    const stale = await env.request('/swr')
    expect(stale.text).toBe('body 1')
    expect(stale.headers.get('cache-status')).toBe('tiercache; hit; ttl=-5; detail=stale-while-revalidate')
    await reached.promise
    release.open()
    await env.httpCache.idle()
    const fresh = await env.request('/swr')
    expect(fresh.text).toBe('body 2')
    expect(fresh.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/swr')).toBe(2)
  })

  it('RFC 5861 §4: stale-if-error answers the stale response when the origin fails within the window, not after it', async () => {
    env = await mount()
    env.origin.on('/sie', (_req, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=10, stale-if-error=60' }, body: 'good' } : { status: 503, body: 'down' }))
    await env.request('/sie')
    env.advance(30)
    const stale = await env.request('/sie')
    expect(stale.status).toBe(200)
    expect(stale.text).toBe('good')
    expect(stale.headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error')
    env.advance(60)
    const after = await env.request('/sie')
    expect(after.status).toBe(503)
    expect(after.text).toBe('down')
  })

  it('RFC 5861 §4: stale-if-error also covers an origin that cannot be reached', async () => {
    env = await mount()
    env.origin.on('/gone', () => ({ headers: { 'cache-control': 'max-age=10, stale-if-error=60' }, body: 'kept' }))
    await env.request('/gone')
    await env.origin.close()
    env.advance(20)
    const stale = await env.request('/gone')
    expect(stale.text).toBe('kept')
    expect(stale.headers.get('cache-status')).toContain('detail=stale-if-error')
    env.advance(60)
    expect((await env.request('/gone')).status).toBe(502)
  })

  it('RFC 9111 §4 (collapsing, RFC 9211 §2.6): concurrent misses for one variant make one origin request', async () => {
    env = await mount()
    const release = gate()
    env.origin.on('/c', async () => {
      await release.promise
      return { headers: { 'cache-control': 'max-age=60' }, body: 'shared' }
    })
    const answers = Array.from({ length: 5 }, () => env!.request('/c'))
    while (env.arrived() < 5 || env.origin.hits('/c') < 1) await new Promise((resolve) => setImmediate(resolve))
    release.open()
    const seen = await Promise.all(answers)
    expect(env.origin.hits('/c')).toBe(1)
    expect(seen.map((answer) => answer.text)).toEqual(Array(5).fill('shared'))
    const statuses = seen.map((answer) => answer.headers.get('cache-status') ?? '')
    expect(statuses.filter((status) => status.endsWith('; stored'))).toHaveLength(1)
    for (const status of statuses.filter((status) => !status.endsWith('; stored'))) expect(status).toMatch(/; collapsed$|^tiercache; hit/)
  })
})
