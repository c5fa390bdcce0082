/**
 * The dashboard's AI gateway panel in a real headless Chromium (Debian's, driven by playwright-core):
 * hidden without an `ai` section, every figure formatted from a known answer, and, after real
 * requests through the gateway with the official openai client, the figures GET /v1/stats answers.
 */
import type { FastifyInstance } from 'fastify'
import OpenAI from 'openai'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type AiCache, createAiCache, httpUpstream } from '../../src/ai/index.js'
import { type Cache, createCache } from '../../src/index.js'
import { type StatsReport, statsReportSchema, startServer } from '../../src/server/index.js'
import { type FakeUpstream, startFakeUpstream } from '../ai/upstream-server.js'
import { statsFixture } from './dashboard-fixture.js'
import { expectedAiShown, format, launchChromium, newContext, openWithKey, readAiShown, stat, table, waitForUpdate, watchProblems } from './dashboard-page.js'
import { type KeyStore, bearer, openKeyStore } from './helpers.js'

const SLOW = 90_000
const PRICES = { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } }

let browser: Browser
let upstream: FakeUpstream
let store: KeyStore
let cache: Cache
let ai: AiCache
let app: FastifyInstance
let base: string
let key: string

beforeAll(async () => {
  upstream = await startFakeUpstream()
  store = await openKeyStore()
  key = (await store.createKey()).key
  cache = createCache({ l3: false, metrics: { tenants: { max: 10 } } })
  ai = createAiCache({ cache, upstream: httpUpstream({ baseUrl: upstream.url }), prices: PRICES })
  const started = await startServer({ cache, credentials: store.credentials, ai, port: 0 })
  app = started.app
  base = started.url
  browser = await launchChromium()
}, SLOW)

afterAll(async () => {
  await browser?.close()
  await app?.close()
  await store?.close()
  await upstream?.close()
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

const answers = (hit: number, semantic: number, stale: number, miss: number, refresh: number, bypass: number) => ({
  HIT: hit,
  'SEMANTIC-HIT': semantic,
  STALE: stale,
  MISS: miss,
  REFRESH: refresh,
  BYPASS: bypass,
})

/** A known `ai` section: a priced model saving dollars, a fraction of a cent, an unpriced model, a deployment's tenants. */
const aiSection = {
  rows: [
    { namespace: 'planner', tenant: 'acme', model: 'gpt-4o', cacheType: 'venue-recommendations', answers: answers(9_000, 500, 20, 1_480, 0, 300), hits: 9_520, misses: 1_480, hitRatio: 9_520 / 11_000, promptTokensSaved: 4_000_000, completionTokensSaved: 1_250_000, tokensSaved: 5_250_000, costSavedUsd: 22.5 },
    { namespace: 'ai', tenant: 'globex', model: 'gpt-4o-mini', cacheType: 'default', answers: answers(2, 0, 0, 1, 1, 0), hits: 2, misses: 2, hitRatio: 0.5, promptTokensSaved: 34, completionTokensSaved: 62, tokensSaved: 96, costSavedUsd: 0.0000423 },
    { namespace: 'ai', tenant: '_public', model: 'llama-local', cacheType: 'timeline', answers: answers(0, 0, 0, 0, 0, 4), hits: 0, misses: 0, hitRatio: 0, promptTokensSaved: 0, completionTokensSaved: 0, tokensSaved: 0, costSavedUsd: 0 },
  ],
  totals: { answers: answers(9_002, 500, 20, 1_481, 1, 304), hits: 9_522, misses: 1_482, hitRatio: 9_522 / 11_004, promptTokensSaved: 4_000_034, completionTokensSaved: 1_250_062, tokensSaved: 5_250_096, costSavedUsd: 22.5000423 },
}

describe("the dashboard's AI gateway panel in Chromium", () => {
  it('is hidden when the report has no ai section (a server without a gateway)', async () => {
    await page.route((url) => url.pathname === '/v1/stats', (route) => route.fulfill({ json: statsFixture }))
    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)
    expect(await stat(page, 'requests')).toBe('123,456')
    expect(await page.locator('#ai').isHidden()).toBe(true)
    expect(problems).toEqual([])
  }, SLOW)

  it('shows every figure of a known ai section, with dollars to the cent and fractions of a cent', async () => {
    const report = { ...statsFixture, scope: { deployment: true }, ai: aiSection }
    // An answer the server could give: the report's schema takes it whole.
    expect(statsReportSchema.parse(structuredClone(report))).toEqual(report)
    await page.route((url) => url.pathname === '/v1/stats', (route) => route.fulfill({ json: report }))
    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)
    expect(await page.locator('#ai').isVisible()).toBe(true)
    expect(await page.locator('#h-ai').innerText()).toBe('AI gateway')
    expect(await readAiShown(page)).toEqual({
      figures: {
        'ai.answers': '11,308',
        'ai.hitRatio': '86.5 %',
        'ai.hits': '9,522',
        'ai.misses': '1,482',
        'ai.bypassed': '304',
        'ai.tokensSaved': '5,250,096',
        'ai.costSaved': '$22.50',
      },
      tables: {
        ai: [
          ['planner (tenant acme)', 'gpt-4o', 'venue-recommendations', '9,520', '1,480', '86.5 %', '5,250,000', '$22.50'],
          ['ai (tenant globex)', 'gpt-4o-mini', 'default', '2', '2', '50.0 %', '96', '$0.0000423'],
          ['ai (tenant _public)', 'llama-local', 'timeline', '0', '0', '0.0 %', '0', '$0.00'],
        ],
      },
    })
    // The same rules as the test's own formats.
    expect(await readAiShown(page)).toEqual(expectedAiShown(aiSection))
    expect(problems).toEqual([])
  }, SLOW)

  it('shows, after real requests through the gateway, the figures GET /v1/stats answers, of the key\'s tenant only', async () => {
    const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${base}/v1/ai`, maxRetries: 0 })
    const acme = client(key)
    const globex = client((await store.createKey({ tenant: 'globex' })).key)
    const ask = (model: string, content: string) => ({ model, temperature: 0, messages: [{ role: 'user' as const, content }] })
    const status = async (call: Promise<{ response: Response }>) => (await call).response.headers.get('x-tiercache-cache')

    await openWithKey(page, base, key)
    await waitForUpdate(page, 0)
    expect(await page.locator('#ai').isVisible()).toBe(true)
    expect(await table(page, 'ai')).toEqual([['no AI answers yet']])

    // acme: a priced model asked three times (a miss, two hits), once more bypassing the cache; an
    // unpriced model in a cache type of its own (a miss, a hit). globex: one miss, never acme's.
    const austin = ask('gpt-4o-mini', 'Venues in Austin?')
    expect(await status(acme.chat.completions.create(austin).withResponse())).toBe('MISS')
    expect(await status(acme.chat.completions.create(austin).withResponse())).toBe('HIT')
    expect(await status(acme.chat.completions.create(austin).withResponse())).toBe('HIT')
    expect(await status(acme.chat.completions.create(austin, { headers: { 'x-tiercache-bypass': 'true' } }).withResponse())).toBe('BYPASS')
    const timeline = ask('gpt-test', 'A timeline for June?')
    const typed = { headers: { 'x-tiercache-cache-type': 'timeline' } }
    expect(await status(acme.chat.completions.create(timeline, typed).withResponse())).toBe('MISS')
    expect(await status(acme.chat.completions.create(timeline, typed).withResponse())).toBe('HIT')
    expect(await status(globex.chat.completions.create(ask('gpt-4o-mini', 'Venues in Boise?')).withResponse())).toBe('MISS')

    const response = await fetch(`${base}/v1/stats`, { headers: bearer(key) })
    expect(response.status).toBe(200)
    const report: StatsReport = statsReportSchema.parse(await response.json())
    // A hit saves the usage of the stored answer: the fake upstream counts a token per character of
    // the question and of its answer, 'answer #<n> to: <question>'.
    const austinSaved = { prompt: 'Venues in Austin?'.length, completion: 'answer #1 to: Venues in Austin?'.length }
    const timelineSaved = { prompt: 'A timeline for June?'.length, completion: 'answer #3 to: A timeline for June?'.length }
    const austinCost = (2 * (austinSaved.prompt * 0.15 + austinSaved.completion * 0.6)) / 1e6
    expect(report.ai?.rows).toEqual([
      {
        namespace: 'ai', model: 'gpt-4o-mini', cacheType: 'default', answers: answers(2, 0, 0, 1, 0, 1), hits: 2, misses: 1, hitRatio: 2 / 3,
        promptTokensSaved: 2 * austinSaved.prompt, completionTokensSaved: 2 * austinSaved.completion, tokensSaved: 2 * (austinSaved.prompt + austinSaved.completion), costSavedUsd: expect.closeTo(austinCost, 12),
      },
      {
        namespace: 'ai', model: 'gpt-test', cacheType: 'timeline', answers: answers(1, 0, 0, 1, 0, 0), hits: 1, misses: 1, hitRatio: 0.5,
        promptTokensSaved: timelineSaved.prompt, completionTokensSaved: timelineSaved.completion, tokensSaved: timelineSaved.prompt + timelineSaved.completion, costSavedUsd: 0,
      },
    ])
    expect(report.ai?.totals).toEqual({
      answers: answers(3, 0, 0, 2, 0, 1), hits: 3, misses: 2, hitRatio: 0.6,
      promptTokensSaved: 2 * austinSaved.prompt + timelineSaved.prompt, completionTokensSaved: 2 * austinSaved.completion + timelineSaved.completion,
      tokensSaved: 2 * (austinSaved.prompt + austinSaved.completion) + timelineSaved.prompt + timelineSaved.completion, costSavedUsd: expect.closeTo(austinCost, 12),
    })

    const since = Date.now()
    await waitForUpdate(page, since)
    const shown = await readAiShown(page)
    expect(shown).toEqual(expectedAiShown(report.ai ?? aiSection))
    expect(shown.figures).toMatchObject({ 'ai.answers': '6', 'ai.hitRatio': '60.0 %', 'ai.hits': '3', 'ai.misses': '2', 'ai.bypassed': '1', 'ai.tokensSaved': '150', 'ai.costSaved': format.dollars(austinCost) })
    expect(shown.figures['ai.costSaved']).toBe('$0.0000423')
    expect(shown.tables.ai).toEqual([
      ['ai', 'gpt-4o-mini', 'default', '2', '1', '66.7 %', '96', '$0.0000423'],
      ['ai', 'gpt-test', 'timeline', '1', '1', '50.0 %', '54', '$0.00'],
    ])
    expect(problems).toEqual([])
  }, SLOW)
})
