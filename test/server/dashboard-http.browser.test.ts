/**
 * The dashboard's HTTP cache panel in a real headless Chromium (Debian's, driven by playwright-core):
 * hidden without an `http` section (a server without an HTTP cache, or a tenant's key), every figure
 * formatted from a known answer, and, after real requests through an HTTP cache on the server's
 * cache, the figures GET /v1/stats answers a service key.
 */
import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { type HttpStats, type StatsReport, statsReportSchema } from '../../src/metrics/stats/report.js'
import { startServer } from '../../src/server/index.js'
import { type Mounted, mount } from '../http-cache/harness.js'
import { statsFixture } from './dashboard-fixture.js'
import { type Shown, format, launchChromium, newContext, openWithKey, stat, table, waitForUpdate, watchProblems } from './dashboard-page.js'
import { type KeyStore, bearer, openKeyStore } from './helpers.js'

const SLOW = 90_000
const OUTCOMES = ['hit', 'stale', 'revalidated', 'collapsed', 'miss', 'pass', 'error'] as const

let browser: Browser
let store: KeyStore
let env: Mounted
let app: FastifyInstance
let base: string
let tenantKey: string
let opsKey: string

beforeAll(async () => {
  store = await openKeyStore()
  tenantKey = (await store.createKey({ roles: ['read'] })).key
  opsKey = (await store.createKey({ tenant: 'ops', roles: ['read', 'service'] })).key
  const cache = createCache({ l3: false, metrics: { tenants: { max: 10 } } })
  // The HTTP cache on the server's own cache, in front of a scripted origin, as serve --http-origin runs it.
  env = await mount({}, { cache })
  const started = await startServer({ cache, credentials: store.credentials, http: env.httpCache, port: 0 })
  app = started.app
  base = started.url
  browser = await launchChromium()
}, SLOW)

afterAll(async () => {
  await browser?.close()
  await app?.close()
  await env?.close()
  await store?.close()
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

const HTTP_FIGURES = ['http.responses', 'http.hitRatio', ...OUTCOMES.map((outcome) => `http.${outcome}`)] as const

async function readHttpShown(p: Page): Promise<Shown> {
  const figures: Record<string, string> = {}
  for (const name of HTTP_FIGURES) figures[name] = await stat(p, name)
  return { figures, tables: { http: await table(p, 'http') } }
}

/** What the panel must show of an `http` section, by the test's own formats. */
function expectedHttpShown(http: HttpStats): Shown {
  const { totals } = http
  return {
    figures: {
      'http.responses': format.count(totals.responses),
      'http.hitRatio': format.ratio(totals.hitRatio),
      ...Object.fromEntries(OUTCOMES.map((outcome) => [`http.${outcome}`, format.count(totals[outcome])])),
    },
    tables: {
      http: http.rows.length === 0 ? [['no HTTP responses yet']] : http.rows.map((r) => [r.group, format.count(r.responses), ...OUTCOMES.map((outcome) => format.count(r[outcome])), format.ratio(r.hitRatio)]),
    },
  }
}

const figures = (group: string, counts: Partial<Record<(typeof OUTCOMES)[number], number>>) => {
  const all = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, counts[outcome] ?? 0])) as Record<(typeof OUTCOMES)[number], number>
  const hits = all.hit + all.stale + all.revalidated + all.collapsed
  const responses = OUTCOMES.reduce((sum, outcome) => sum + all[outcome], 0)
  return { group, ...all, responses, hits, hitRatio: hits + all.miss === 0 ? 0 : hits / (hits + all.miss) }
}

describe("the dashboard's HTTP cache panel in Chromium", () => {
  it("is hidden when the report has no http section: a tenant's key, on a server that has an HTTP cache", async () => {
    const response = await fetch(`${base}/v1/stats`, { headers: bearer(tenantKey) })
    expect(response.status).toBe(200)
    expect((await response.json()) as StatsReport).not.toHaveProperty('http')
    await openWithKey(page, base, tenantKey)
    await waitForUpdate(page, 0)
    expect(await page.locator('#http').isHidden()).toBe(true)
    expect(problems).toEqual([])
  }, SLOW)

  it('shows every figure of a known http section', async () => {
    const products = figures('/products', { hit: 12_000, stale: 30, revalidated: 400, collapsed: 25, miss: 1_545, pass: 10 })
    const other = figures('other', { miss: 3, error: 2 })
    const { group: _g, ...totals } = figures('', { hit: 12_000, stale: 30, revalidated: 400, collapsed: 25, miss: 1_548, pass: 10, error: 2 })
    const http = { rows: [products, other], totals }
    const report = { ...statsFixture, scope: { deployment: true }, http }
    // An answer the server could give: the report's schema takes it whole.
    expect(statsReportSchema.parse(structuredClone(report))).toEqual(report)
    await page.route((url) => url.pathname === '/v1/stats', (route) => route.fulfill({ json: report }))
    await openWithKey(page, base, opsKey)
    await waitForUpdate(page, 0)
    expect(await page.locator('#http').isVisible()).toBe(true)
    expect(await page.locator('#h-http').innerText()).toBe('HTTP cache')
    expect(await readHttpShown(page)).toEqual({
      figures: {
        'http.responses': '14,015',
        'http.hitRatio': '88.9 %',
        'http.hit': '12,000',
        'http.stale': '30',
        'http.revalidated': '400',
        'http.collapsed': '25',
        'http.miss': '1,548',
        'http.pass': '10',
        'http.error': '2',
      },
      tables: {
        http: [
          ['/products', '14,010', '12,000', '30', '400', '25', '1,545', '10', '0', '89.0 %'],
          ['other', '5', '0', '0', '0', '0', '3', '0', '2', '0.0 %'],
        ],
      },
    })
    expect(await readHttpShown(page)).toEqual(expectedHttpShown(http))
    expect(problems).toEqual([])
  }, SLOW)

  it('shows, after real requests through the HTTP cache, the figures GET /v1/stats answers a service key', async () => {
    await openWithKey(page, base, opsKey)
    await waitForUpdate(page, 0)
    expect(await page.locator('#http').isVisible()).toBe(true)
    expect(await table(page, 'http')).toEqual([['no HTTP responses yet']])

    env.origin.on('/products/1', () => ({ headers: { 'cache-control': 'max-age=600' }, body: 'product' }))
    env.origin.on('/docs/a', (req) => (req.headers['if-none-match'] === '"a"' ? { status: 304, headers: { etag: '"a"', 'cache-control': 'max-age=10' } } : { headers: { etag: '"a"', 'cache-control': 'max-age=10' }, body: 'docs' }))
    for (let i = 0; i < 3; i++) await env.request('/products/1')
    await env.request('/docs/a')
    env.advance(20)
    await env.request('/docs/a')
    await env.request('/products/1', { method: 'DELETE' })

    const response = await fetch(`${base}/v1/stats`, { headers: bearer(opsKey) })
    expect(response.status).toBe(200)
    const report: StatsReport = statsReportSchema.parse(await response.json())
    expect(report.http?.rows).toEqual([figures('/products', { hit: 2, miss: 1, pass: 1 }), figures('/docs', { revalidated: 1, miss: 1 })])
    const { group: _g, ...totals } = figures('', { hit: 2, revalidated: 1, miss: 2, pass: 1 })
    expect(report.http?.totals).toEqual(totals)

    const since = Date.now()
    await waitForUpdate(page, since)
    const shown = await readHttpShown(page)
    expect(shown).toEqual(expectedHttpShown(report.http ?? { rows: [], totals }))
    expect(shown.figures).toMatchObject({ 'http.responses': '6', 'http.hitRatio': '60.0 %', 'http.hit': '2', 'http.revalidated': '1', 'http.miss': '2', 'http.pass': '1' })
    expect(shown.tables.http).toEqual([
      ['/products', '4', '2', '0', '0', '0', '1', '1', '0', '66.7 %'],
      ['/docs', '2', '0', '0', '1', '0', '1', '0', '0', '50.0 %'],
    ])
    expect(problems).toEqual([])
  }, SLOW)
})
