/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real
 * server on a socket: the key form, the refusals, every panel rendered from a known answer, and the
 * figures of a live server under a known load equal to what GET /v1/stats answers.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/index.js'
import { type StatsReport, statsReportSchema } from '../../src/metrics/stats/report.js'
import { type StatsHistory, openStatsHistory, startServer } from '../../src/server/index.js'
import { statsFixture } from './dashboard-fixture.js'
import { bodyData, expectedShown, format, heldKey, launchChromium, newContext, openWithKey, readShown, stat, table, waitForUpdate, watchProblems } from './dashboard-page.js'
import { bearer, entryUrl, type KeyStore, openKeyStore } from './helpers.js'

// A loaded machine: chromium's start and first paint may take seconds.
const SLOW = 90_000

/** Where the end-to-end test leaves its screenshot, which docs/dashboard.md shows. */
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/dashboard.png', import.meta.url))

let browser: Browser
let dir: string
let cache: Cache
let history: StatsHistory
let app: FastifyInstance
let base: string
let store: KeyStore
let key: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tiercache-dashboard-'))
  const file = join(dir, 'cache.db')
  store = await openKeyStore(file)
  key = (await store.createKey()).key
  // As `tiercache serve` runs it: tenants labelled (a tenant's key sees its own series), a history in
  // the SQL tier's file; every getOrSet timed, and a cost for the namespace the test calls an origin in.
  cache = createCache({ l3: { sqlite: file, cleanupInterval: 0 }, metrics: { tenants: { max: 10 }, sampleEvery: 1, costs: { quotes: { perCall: 0.002, unit: 'usd' } } } })
  history = await openStatsHistory({ sqlite: file }, { source: () => cache.metrics() })
  const started = await startServer({ cache, credentials: store.credentials, audit: store.audit, stats: { history }, port: 0 })
  app = started.app
  base = started.url
  browser = await launchChromium()
}, SLOW)

afterAll(async () => {
  await browser?.close()
  // The app closes the cache, the keys, the audit log and the history it was given.
  await app?.close()
  rmSync(dir, { recursive: true, force: true })
}, SLOW)

let context: BrowserContext
let page: Page
let problems: string[]
beforeEach(async () => {
  context = await newContext(browser)
  page = await context.newPage()
  problems = watchProblems(page)
}, SLOW)
afterEach(() => context.close())

describe('the dashboard in Chromium', () => {
  it('renders every panel from a known answer, sends the key only as a bearer token, and breaks no rule of its CSP', async () => {
    const sent: { url: string; authorization: string | undefined }[] = []
    await page.route((url) => url.pathname === '/v1/stats', async (route) => {
      sent.push({ url: route.request().url(), authorization: route.request().headers().authorization })
      await route.fulfill({ json: statsFixture })
    })
    // The fixture is an answer the server could give: the report's schema takes it whole.
    expect(statsReportSchema.parse(structuredClone(statsFixture))).toEqual(statsFixture)
    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)
    const totals = statsFixture.totals

    expect(sent[0]).toEqual({ url: `${base}/v1/stats?range=1h`, authorization: `Bearer ${key}` })
    expect(page.url()).toBe(`${base}/dashboard`)
    expect(await heldKey(page)).toBe(key)
    expect(await page.locator('#login').isHidden()).toBe(true)

    expect(await stat(page, 'scope')).toBe('Statistics of tenant acme: 2 instances, 12/2/2026, 11:31:00 AM to 12/2/2026, 12:31:00 PM.')
    expect(await stat(page, 'requests')).toBe('123,456')
    expect(await stat(page, 'hitRatio')).toBe(format.ratio(totals.hitRatio))
    expect(await stat(page, 'hitRatio')).toBe('81.8 %')
    expect(await stat(page, 'misses')).toBe('22,456')
    expect(await stat(page, 'staleHits')).toBe('321')
    expect(await stat(page, 'invalidations')).toBe('37')
    expect(await stat(page, 'evictions')).toBe('800')
    // The last step is 20 s old at now.at: its rate is over those 20 s, not the whole minute.
    const lastStep = statsFixture.series.requests[59] ?? 0
    expect(await stat(page, 'rps')).toBe(format.rate(lastStep / 20))

    expect(await table(page, 'tiers')).toEqual(
      (['l1', 'l2', 'l3'] as const).map((tier) => {
        const t = totals.tiers[tier]
        return [tier.toUpperCase(), format.count(t.hits), format.count(t.misses), format.ratio(t.hitRatio), format.ratio(t.served)]
      }),
    )
    expect(await table(page, 'latency')).toEqual([
      ['L1 read', '0.004 ms', '0.012 ms', '0.05 ms', '123,456'],
      ['L2 read', '0.4 ms', '1.7 ms', '4 ms', '43,456'],
      ['L3 read', '2 ms', '12 ms', '70 ms', '28,456'],
      ['getOrSet', '0.01 ms', '3 ms', '250 ms', '120,000'],
      ['origin call', '80 ms', '400 ms', '1.5 s', '22,100'],
    ])
    const misses = await table(page, 'misses')
    expect(misses.map(([reason, n, , ...tiers]) => [reason, n, ...tiers])).toEqual(
      Object.entries(totals.missReasons).map(([reason, n]) => [reason, format.count(n), ...(['l1', 'l2', 'l3'] as const).map((tier) => format.count(totals.tiers[tier].missReasons[reason as 'absent']))]),
    )
    expect(misses[0]?.[2]).toBe(format.ratio(42_000 / 64_135))
    expect(await page.locator('#misses-head th').allInnerTexts()).toEqual(['reason', 'all tiers', 'share', 'L1', 'L2', 'L3'])

    expect(await stat(page, 'origin.calls')).toBe('22,100')
    expect(await stat(page, 'origin.saved')).toBe('98,000')
    expect(await stat(page, 'origin.costSaved')).toBe('49 USD, 1,250,000 tokens')

    expect(await table(page, 'health')).toEqual([
      ['L1', 'memory', 'closed', 'healthy', '9,876 of 10,000', '12,345,678 of 67,108,864', '0', '0'],
      ['L2', 'redis', 'open', 'unhealthy', '54,321', '—', '95', '4'],
      ['L3', 'postgres', 'closed', 'healthy', '1,234,567', '987,654,321', '0', '0'],
    ])
    expect(await stat(page, 'bus')).toMatch(/^deaf/)
    expect(await table(page, 'namespaces')).toEqual([
      ['flights', '100,000', '90.0 %', '300', '10,000', '0', '88,000', '44 USD', '2 ms'],
      ['llm', '20,000', '45.0 %', '21', '11,000', '45', '9,000', '1,250,000 tokens', '1.2 s'],
      ['users', '3,456', '57.9 %', '0', '1,100', '0', '1,000', '—', '—'],
    ])
    // A key is text, never markup.
    expect(await table(page, 'keys')).toEqual([
      ['flights', 'route/JFK:LHR', '5,000', '12', '40', '5 min'],
      ['llm', '<img src=x onerror=alert(1)>', '900', '0', '900', '—'],
    ])
    expect(await page.locator('main img').count()).toBe(0)
    expect(await page.locator('#keys-caption').innerText()).toMatch(/since 12\/2\/2026, 8:00:00 AM/)
    expect(await table(page, 'largest')).toEqual([['llm', 'report/2026', '921,600', '12/2/2026, 12:00:00 PM']])
    const suggestions = await page.locator('#suggestions li').allInnerTexts()
    expect(suggestions).toEqual([
      'Warning: Keys of flights are often missed as expired: their ttl (5 s) may be too short. (namespace flights, key route/JFK:LHR)',
      'Warning: The circuit of L2 opened 4 times in the range. (tier L2)',
      'Info: An entry of 900 KiB is close to the 1 MiB limit. (namespace llm, key report/2026)',
    ])

    // The charts: uPlot loaded from the server and drew, and each says its latest values in text.
    expect(await page.locator('.chart canvas').count()).toBe(3)
    expect(await page.locator('#chart-hits .u-legend th').allInnerTexts()).toEqual(['overall', 'L1 share', 'L2 share', 'L3 share'])
    const hitRatio = statsFixture.series.hitRatio
    expect(await page.locator('#caption-hits').innerText()).toBe(
      `Latest step: overall ${format.ratio(hitRatio.overall[59])}, L1 share ${format.ratio(hitRatio.l1[59])}, L2 share ${format.ratio(hitRatio.l2[59])}, L3 share ${format.ratio(hitRatio.l3[59])}.`,
    )
    expect(await page.locator('#chart-latency .u-legend th').allInnerTexts()).toEqual(['getOrSet', 'L1 read', 'L2 read', 'L3 read'])
    await page.locator('[data-series="latency"] summary').click()
    const rows = page.locator('[data-series="latency"] tbody tr')
    await expect.poll(() => rows.count()).toBe(60)
    // A step where nothing was observed is a gap, not a zero.
    expect(await rows.nth(30).locator('td').allInnerTexts()).toEqual([format.seconds(statsFixture.series.latencyP95.getOrSet[30]), '0.012 ms', '—', '12 ms'])

    // A step without lookups has no hit ratio: a gap, though the report says 0.
    await page.locator('[data-series="hits"] summary').click()
    const hitRows = page.locator('[data-series="hits"] tbody tr')
    await expect.poll(() => hitRows.count()).toBe(60)
    expect(await hitRows.nth(30).locator('td').allInnerTexts()).toEqual(['—', '—', '—', '—'])
    expect(await hitRows.nth(29).locator('td').allInnerTexts()).toEqual((['overall', 'l1', 'l2', 'l3'] as const).map((line) => format.ratio(hitRatio[line][29])))

    // Headings for every panel, for screen readers' navigation.
    expect(await page.locator('h2').allInnerTexts()).toEqual([
      'Overview', 'Hit ratio per tier', 'Requests per second', 'Latency', 'Miss reasons', 'Origin calls and cost saved',
      'Suggestions', 'Tier health and the bus', 'Busiest namespaces', 'AI gateway', 'HTTP cache', 'Top keys',
    ])
    // Without an AI gateway (no ai section in the answer), its panel stays hidden; so does the HTTP cache's.
    expect(await page.locator('#ai').isHidden()).toBe(true)
    expect(await page.locator('#http').isHidden()).toBe(true)

    // Live: it asks again, and for the range chosen.
    const asked = sent.length
    await page.getByLabel('Range').selectOption('24h')
    await expect.poll(() => sent.slice(asked).some((request) => request.url.endsWith('?range=24h')), { timeout: SLOW }).toBe(true)
    expect(problems).toEqual([])
  }, SLOW)

  it('without history, says the figures are this instance\'s since it started, and draws no series', async () => {
    const empty = { t: [], requests: [], hits: [], staleHits: [], errors: [], originCalls: [], costSaved: [], hitRatio: { overall: [], l1: [], l2: [], l3: [] }, latencyP95: { getOrSet: [], l1: [], l2: [], l3: [] } }
    const report = { ...statsFixture, history: false, stepMs: 0, instances: 1, from: statsFixture.topKeysSince, series: empty, namespaces: [], topKeys: [], largestEntries: [], suggestions: [], now: { ...statsFixture.now, bus: null } }
    expect(statsReportSchema.parse(structuredClone(report))).toEqual(report)
    await page.route((url) => url.pathname === '/v1/stats', (route) => route.fulfill({ json: report }))
    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)
    expect(await stat(page, 'scope')).toBe('Statistics of tenant acme: this instance since it started at 12/2/2026, 8:00:00 AM (the server keeps no history).')
    expect(await stat(page, 'rps')).toBe('—')
    expect(await stat(page, 'requests')).toBe('123,456')
    for (const chart of ['hits', 'rps', 'latency']) expect(await page.locator(`#caption-${chart}`).innerText()).toBe('No history in this range.')
    expect(await stat(page, 'bus')).toBe('none (a single instance, or no Redis)')
    expect(await table(page, 'namespaces')).toEqual([['no lookups in this range']])
    expect(await table(page, 'keys')).toEqual([['no keys looked up yet']])
    expect(await page.locator('#suggestions li').allInnerTexts()).toEqual(['Nothing to suggest.'])
    expect(problems).toEqual([])
  }, SLOW)

  it("over the key's rate limit, says so, waits for Retry-After and carries on", async () => {
    let asked = 0
    await page.route((url) => url.pathname === '/v1/stats', async (route) => {
      asked++
      if (asked === 1) {
        await route.fulfill({ status: 429, headers: { 'retry-after': '1' }, json: { error: { code: 'TC_RATE_LIMITED', message: "rate limit of the key's plan exceeded; retry in 1 s" } } })
      } else await route.fulfill({ json: statsFixture })
    })
    await openWithKey(page, base, key)
    const status = page.getByRole('status')
    await expect.poll(() => status.innerText(), { timeout: SLOW }).toMatch(/^Over this key's rate limit: retrying in 2 s\./)
    expect(await bodyData(page, 'state')).toBe('error')
    // The key is kept: a rate limit is no refusal.
    expect(await heldKey(page)).toBe(key)
    await waitForUpdate(page, 0)
    expect(await stat(page, 'requests')).toBe('123,456')
    expect(problems.filter((problem) => !/status of 429/.test(problem))).toEqual([])
  }, SLOW)

  it('says so when the server refuses the key, and forgets it', async () => {
    const wrong = `${key.slice(0, -4)}${key.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
    await openWithKey(page, base, wrong)
    const alert = page.getByRole('alert')
    await expect.poll(() => alert.isVisible(), { timeout: SLOW }).toBe(true)
    expect(await alert.innerText()).toBe('The server refused this key (401 TC_UNAUTHORIZED: invalid API key: it is malformed, unknown or revoked).')
    expect(await bodyData(page, 'state')).toBe('refused')
    expect(await heldKey(page)).toBeNull()
    expect(await page.locator('#board').isHidden()).toBe(true)
    expect(await page.getByLabel('API key').isVisible()).toBe(true)

    // A valid key without the read role: 403.
    const writer = await store.createKey({ roles: ['write'] })
    await page.getByLabel('API key').fill(writer.key)
    await page.getByRole('button', { name: 'Show statistics' }).click()
    await expect.poll(() => alert.innerText(), { timeout: SLOW }).toBe('The server refused this key (403 TC_FORBIDDEN: this route needs a key with the read role).')
    // The browser logs the 401 and the 403 themselves; nothing else may fail.
    expect(problems.filter((problem) => !/status of 40[13]/.test(problem))).toEqual([])
  }, SLOW)

  it('shows, under a known load, the figures GET /v1/stats answers at the same moment; leaves the screenshot for the docs', async () => {
    const call = async (method: string, url: string, body?: unknown): Promise<number> => {
      const response = await fetch(base + url, {
        method,
        headers: { ...bearer(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      await response.arrayBuffer()
      return response.status
    }
    const stats = async (): Promise<StatsReport> => {
      const response = await fetch(`${base}/v1/stats?range=1h`, { headers: bearer(key) })
      expect(response.status).toBe(200)
      return statsReportSchema.parse(await response.json())
    }

    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)

    // The load: 3 fares and a user written; 16 reads over HTTP (12 found, 4 absent); 6 getOrSet in
    // the tenant's scope (2 origin calls, 4 answered from the cache); the fares invalidated by tag,
    // one read again; a user deleted.
    const fares = ['route/JFK:LHR', 'route/CDG:NRT', 'route/SFO:HND']
    for (const [i, fare] of fares.entries()) expect(await call('PUT', entryUrl('flights', fare), { value: { fare: 100 * (i + 1) }, ttl: '10m', tags: ['fares'] })).toBe(204)
    expect(await call('PUT', entryUrl('users', 'u1'), { value: { name: 'Ada' }, ttl: '10m' })).toBe(204)
    const reads: [string, string, number, number][] = [
      ['flights', 'route/JFK:LHR', 6, 200],
      ['flights', 'route/CDG:NRT', 3, 200],
      ['flights', 'route/SFO:HND', 1, 200],
      ['flights', 'route/LAX:SYD', 3, 404],
      ['users', 'u1', 2, 200],
      ['users', 'nobody', 1, 404],
    ]
    for (const [namespace, entry, times, status] of reads) for (let i = 0; i < times; i++) expect(await call('GET', entryUrl(namespace, entry))).toBe(status)
    const quotes = cache.withContext({ role: 'authenticated', tenantId: 'acme' }).namespace('quotes')
    for (const quote of ['q1', 'q1', 'q1', 'q1', 'q1', 'q2']) await quotes.getOrSet(quote, async () => ({ quote }), { ttl: '10m' })
    expect(await call('POST', '/v1/invalidate', { tags: ['fares'], namespace: 'flights' })).toBe(200)
    expect(await call('GET', entryUrl('flights', 'route/SFO:HND'))).toBe(404)
    expect(await call('DELETE', entryUrl('users', 'u1'))).toBe(200)
    // Into the history now, rather than at the next minute.
    await history.flush()

    const answer = await stats()
    expect(answer.totals).toMatchObject({ requests: 23, hits: 16, misses: 7, deletes: 1 })
    expect(answer.totals.origin).toMatchObject({ calls: 2, saved: 4, costSaved: [{ unit: 'usd', amount: 0.008 }] })
    expect(answer.topKeys[0]).toMatchObject({ namespace: 'flights', key: 'route/JFK:LHR', count: 6, error: 0 })

    // The page renders an answer to a request it sent after `since`: between `answer` and `after`.
    // Counters only grow, so when those two agree, the page's answer is the same as theirs.
    const since = Date.now()
    const again = await stats()
    await waitForUpdate(page, since)
    const shown = await readShown(page)
    const after = await stats()
    const stable = (report: StatsReport) => ({ totals: report.totals, namespaces: report.namespaces, topKeys: report.topKeys, tiers: report.now.tiers, bus: report.now.bus })
    expect(stable(again)).toEqual(stable(answer))
    expect(stable(after)).toEqual(stable(answer))
    expect(shown).toEqual(expectedShown(answer))
    expect(shown.figures.requests).toBe('23')

    mkdirSync(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(problems).toEqual([])
  }, SLOW)
})
