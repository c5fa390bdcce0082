/**
 * The counts behind the HTTP cache's metrics and dashboard panel: outcomes read off the
 * `Cache-Status` values the cache writes (built here with its own cacheStatus), route groups and
 * their bound; and, over real HTTP, the counts a miss, a hit, a 304, a stale-while-revalidate answer
 * and a collapsed pair leave.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cacheStatus } from '../../src/http-cache/cache-status.js'
import { HTTP_OUTCOMES, type HttpOutcome, HttpCounts, MAX_ROUTE_GROUPS, firstSegment, outcomeOf } from '../../src/http-cache/counts.js'
import { type Mounted, gate, mount } from './harness.js'

const status = (parts: Parameters<typeof cacheStatus>[1]) => cacheStatus('tiercache', parts)

describe('outcomeOf: the outcome a Cache-Status value reports', () => {
  // Every shape answer.ts writes: fromStored (hits, revalidations, collapsed), passed, badGateway, gatewayTimeout.
  const cases: readonly [string, HttpOutcome][] = [
    [status({ hit: true, ttl: 59 }), 'hit'],
    [status({ hit: true, ttl: 0 }), 'hit'],
    [status({ hit: true, ttl: -5, detail: 'stale' }), 'stale'],
    [status({ hit: true, ttl: -5, detail: 'stale-while-revalidate' }), 'stale'],
    [status({ fwd: 'stale', fwdStatus: 503, ttl: -20, detail: 'stale-if-error' }), 'stale'],
    [status({ fwd: 'stale', ttl: -20, detail: 'stale-if-error' }), 'stale'],
    [status({ fwd: 'request', ttl: 30, detail: 'stale-if-error' }), 'stale'],
    [status({ fwd: 'stale', fwdStatus: 304, ttl: 10, stored: true }), 'revalidated'],
    [status({ fwd: 'request', fwdStatus: 304, ttl: 10, stored: true }), 'revalidated'],
    [status({ fwd: 'miss', fwdStatus: 200, ttl: 60, collapsed: true }), 'collapsed'],
    [status({ fwd: 'stale', fwdStatus: 304, ttl: 10, collapsed: true }), 'collapsed'],
    [status({ fwd: 'miss', fwdStatus: 200, ttl: 60, stored: true }), 'miss'],
    [status({ fwd: 'vary-miss', fwdStatus: 200, ttl: 60, stored: true }), 'miss'],
    [status({ fwd: 'miss', fwdStatus: 200 }), 'miss'],
    [status({ fwd: 'miss', fwdStatus: 404 }), 'miss'],
    // A revalidation the origin answered with a new body is a full answer.
    [status({ fwd: 'stale', fwdStatus: 200, ttl: 60, stored: true }), 'miss'],
    [status({ fwd: 'request', fwdStatus: 200, ttl: 60, stored: true }), 'miss'],
    [status({ fwd: 'method', fwdStatus: 201 }), 'pass'],
    [status({ fwd: 'method', fwdStatus: 500 }), 'pass'],
    [status({ fwd: 'method', detail: 'origin-unreachable' }), 'error'],
    [status({ fwd: 'miss', detail: 'origin-unreachable' }), 'error'],
    [status({ fwd: 'stale', detail: 'origin-unreachable' }), 'error'],
    [status({ detail: 'only-if-cached' }), 'error'],
  ]
  it.each(cases)('%s → %s', (value, outcome) => {
    expect(outcomeOf(value)).toBe(outcome)
  })

  it('reads the value whatever the cache is named, and a value without parameters as a miss', () => {
    expect(outcomeOf(cacheStatus('edge-1', { hit: true, ttl: 3 }))).toBe('hit')
    expect(outcomeOf(cacheStatus('edge-1', { fwd: 'method', fwdStatus: 204 }))).toBe('pass')
    expect(outcomeOf('tiercache')).toBe('miss')
    expect(outcomeOf('')).toBe('miss')
  })
})

describe('HttpCounts', () => {
  it('counts per route group (by default / and the first path segment) and outcome, rows by group then outcome, zeros left out', () => {
    const counts = new HttpCounts()
    counts.record('https://shop.example/products/42', status({ fwd: 'miss', fwdStatus: 200, ttl: 60, stored: true }))
    counts.record('https://shop.example/products/43?color=red', status({ hit: true, ttl: 60 }))
    counts.record('https://shop.example/products', status({ hit: true, ttl: 60 }))
    counts.record('https://shop.example/', status({ fwd: 'method', fwdStatus: 201 }))
    counts.record('https://shop.example/cart/1', status({ hit: true, ttl: -1, detail: 'stale' }))
    expect(counts.rows()).toEqual([
      { group: '/products', outcome: 'hit', count: 2 },
      { group: '/products', outcome: 'miss', count: 1 },
      { group: '/', outcome: 'pass', count: 1 },
      { group: '/cart', outcome: 'stale', count: 1 },
    ])
    expect(firstSegment(new URL('https://h/a/b/c'))).toBe('/a')
    expect(firstSegment(new URL('https://h'))).toBe('/')
    expect(new HttpCounts().rows()).toEqual([])
  })

  it('counts every outcome, in the order of HTTP_OUTCOMES', () => {
    const counts = new HttpCounts(() => '/all')
    const values: Readonly<Record<HttpOutcome, string>> = {
      hit: status({ hit: true, ttl: 1 }),
      stale: status({ hit: true, ttl: -1, detail: 'stale-while-revalidate' }),
      revalidated: status({ fwd: 'stale', fwdStatus: 304, ttl: 10, stored: true }),
      collapsed: status({ fwd: 'miss', fwdStatus: 200, ttl: 10, collapsed: true }),
      miss: status({ fwd: 'miss', fwdStatus: 200, ttl: 10, stored: true }),
      pass: status({ fwd: 'method', fwdStatus: 200 }),
      error: status({ fwd: 'miss', detail: 'origin-unreachable' }),
    }
    for (const outcome of [...HTTP_OUTCOMES].reverse()) counts.record('https://h/x', values[outcome])
    expect(counts.rows()).toEqual(HTTP_OUTCOMES.map((outcome) => ({ group: '/all', outcome, count: 1 })))
  })

  it(`counts ${MAX_ROUTE_GROUPS} route groups apart, and the ones after them together as other`, () => {
    const counts = new HttpCounts()
    const hit = status({ hit: true, ttl: 1 })
    for (let i = 0; i < MAX_ROUTE_GROUPS + 50; i++) counts.record(`https://h/g${i}/x`, hit)
    // A group counted before the bound keeps being counted apart.
    counts.record('https://h/g0/y', hit)
    counts.record('https://h/g150/y', hit)
    const rows = counts.rows()
    expect(rows).toHaveLength(MAX_ROUTE_GROUPS + 1)
    expect(rows.slice(0, MAX_ROUTE_GROUPS).map((row) => row.group)).toEqual(Array.from({ length: MAX_ROUTE_GROUPS }, (_, i) => `/g${i}`))
    expect(rows[0]).toEqual({ group: '/g0', outcome: 'hit', count: 2 })
    expect(rows[MAX_ROUTE_GROUPS]).toEqual({ group: 'other', outcome: 'hit', count: 51 })
  })

  it('counts a URL whose routeGroup throws (or gives no string) as other, without taking the place of a group', () => {
    const counts = new HttpCounts((url) => {
      if (url.pathname === '/boom') throw new Error('no group')
      if (url.pathname === '/nothing') return undefined as unknown as string
      return url.pathname
    })
    const miss = status({ fwd: 'miss', fwdStatus: 200 })
    counts.record('https://h/boom', miss)
    counts.record('https://h/nothing', miss)
    // Not a URL at all: the group cannot be asked.
    counts.record('not a url', miss)
    expect(counts.rows()).toEqual([{ group: 'other', outcome: 'miss', count: 3 }])
    for (let i = 0; i < MAX_ROUTE_GROUPS; i++) counts.record(`https://h/g${i}`, miss)
    counts.record('https://h/one-too-many', miss)
    const groups = counts.rows().map((row) => row.group)
    expect(groups).toHaveLength(MAX_ROUTE_GROUPS + 1)
    expect(groups).toContain(`/g${MAX_ROUTE_GROUPS - 1}`)
    expect(counts.rows().find((row) => row.group === 'other')).toEqual({ group: 'other', outcome: 'miss', count: 4 })
  })
})

describe('HttpCounts over real HTTP', () => {
  let env: Mounted | undefined
  afterEach(async () => {
    await env?.close()
    env = undefined
  })

  it('counts what each client was told: a miss, a hit, a 304 revalidation, a stale-while-revalidate answer, a collapsed pair, a pass, an error', async () => {
    env = await mount()
    const seen: string[] = []
    const ask = async (path: string, init?: Parameters<Mounted['request']>[1]) => {
      const answer = await env!.request(path, init)
      seen.push(answer.headers.get('cache-status') ?? '')
      return answer
    }
    env.origin.on('/products/1', () => ({ headers: { 'cache-control': 'max-age=600' }, body: 'product' }))
    env.origin.on('/docs/intro', (req, n) => (req.headers['if-none-match'] === '"d1"' ? { status: 304, headers: { etag: '"d1"', 'cache-control': 'max-age=10' } } : { headers: { etag: '"d1"', 'cache-control': 'max-age=10' }, body: `docs ${n}` }))
    env.origin.on('/news/today', (_req, n) => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' }, body: `news ${n}` }))
    const release = gate()
    env.origin.on('/search/q', async () => {
      await release.promise
      return { headers: { 'cache-control': 'max-age=600' }, body: 'results' }
    })

    await ask('/products/1')
    await ask('/products/1')
    await ask('/docs/intro')
    await ask('/news/today')
    env.advance(15)
    expect((await ask('/docs/intro')).headers.get('cache-status')).toContain('fwd=stale; fwd-status=304')
    expect((await ask('/news/today')).text).toBe('news 1')
    await env.httpCache.idle()

    const pair = [ask('/search/q'), ask('/search/q')]
    while (env.arrived() < 8 || env.origin.hits('/search/q') < 1) await new Promise((resolve) => setImmediate(resolve))
    // The second request's lookup (in memory) has long joined the flight by then.
    await new Promise((resolve) => setTimeout(resolve, 50))
    release.open()
    const statuses = (await Promise.all(pair)).map((answer) => answer.headers.get('cache-status') ?? '')
    expect(statuses.filter((value) => value.endsWith('; collapsed'))).toHaveLength(1)

    await ask('/products/1', { method: 'POST', body: 'x' })
    expect((await ask('/products/none', { headers: { 'cache-control': 'only-if-cached' } })).status).toBe(504)

    expect(env.httpCache.counts.rows()).toEqual([
      { group: '/products', outcome: 'hit', count: 1 },
      { group: '/products', outcome: 'miss', count: 1 },
      { group: '/products', outcome: 'pass', count: 1 },
      { group: '/products', outcome: 'error', count: 1 },
      { group: '/docs', outcome: 'revalidated', count: 1 },
      { group: '/docs', outcome: 'miss', count: 1 },
      { group: '/news', outcome: 'stale', count: 1 },
      { group: '/news', outcome: 'miss', count: 1 },
      { group: '/search', outcome: 'collapsed', count: 1 },
      { group: '/search', outcome: 'miss', count: 1 },
    ])
    // The same as reading each client's Cache-Status; the background revalidation answered no client.
    const told = new Map<HttpOutcome, number>()
    for (const value of seen) told.set(outcomeOf(value), (told.get(outcomeOf(value)) ?? 0) + 1)
    const counted = new Map<HttpOutcome, number>()
    for (const row of env.httpCache.counts.rows()) counted.set(row.outcome, (counted.get(row.outcome) ?? 0) + row.count)
    expect(counted).toEqual(told)
    expect(seen).toHaveLength(10)
  })
})
