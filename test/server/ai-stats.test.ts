/**
 * What the AI gateway saved, in `GET /v1/stats` (the `ai` section, of the caller's tenant; a service
 * key's, of the deployment or the tenant it names) and in `GET /metrics` (`tiercache_ai_*`, on the
 * REST server and on the metrics listener), after real requests through the gateway to a fake upstream.
 */
import { Counter, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AiCache, createAiCache, httpUpstream } from '../../src/ai/index.js'
import { type Cache, createCache } from '../../src/index.js'
import { createPrometheusRegistry } from '../../src/metrics/prometheus.js'
import { type StartedServer, type StatsReport, startServer, statsReportSchema } from '../../src/server/index.js'
import { type FakeUpstream, startFakeUpstream } from '../ai/upstream-server.js'
import { Exposition } from '../metrics/exposition.js'
import { HAS_PROMTOOL, promtool, reportSkipped } from '../metrics/promtool.js'
import { type KeyStore, bearer, buildKeyedServer, openKeyStore } from './helpers.js'

const PRICES = { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } }

let upstream: FakeUpstream
let store: KeyStore
let cache: Cache
let ai: AiCache
let server: StartedServer
const keys: Record<'acme' | 'globex' | 'ops', string> = { acme: '', globex: '', ops: '' }

/** A chat completion through the gateway; resolves its `x-tiercache-cache`. */
async function chat(key: string, model: string, content: string, headers: Record<string, string> = {}): Promise<string | null> {
  const response = await fetch(`${server.url}/v1/ai/chat/completions`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, temperature: 0, messages: [{ role: 'user', content }] }),
  })
  expect(response.status, await response.clone().text()).toBe(200)
  await response.arrayBuffer()
  return response.headers.get('x-tiercache-cache')
}

async function stats(key: string, query = '', headers: Record<string, string> = {}): Promise<StatsReport> {
  const response = await fetch(`${server.url}/v1/stats${query}`, { headers: { ...bearer(key), ...headers } })
  expect(response.status).toBe(200)
  // Exactly the documented shape.
  return statsReportSchema.strict().parse(await response.json())
}

const answers = (hit: number, miss: number, refresh: number, bypass: number) => ({ HIT: hit, 'SEMANTIC-HIT': 0, STALE: 0, MISS: miss, REFRESH: refresh, BYPASS: bypass })
// The fake upstream bills a token per character: of the question, and of 'answer #<n> to: <question>'.
const AUSTIN = 'Venues in Austin?'
const austin = { prompt: AUSTIN.length, completion: `answer #1 to: ${AUSTIN}`.length }
const price = (prompt: number, completion: number) => (prompt * 0.15 + completion * 0.6) / 1e6

beforeAll(async () => {
  upstream = await startFakeUpstream()
  store = await openKeyStore()
  cache = createCache({ l3: false, metrics: { tenants: { max: 10 } } })
  ai = createAiCache({ cache, upstream: httpUpstream({ baseUrl: upstream.url }), prices: PRICES })
  server = await startServer({ cache, credentials: store.credentials, ai, port: 0, metricsListener: { port: 0 }, metrics: { processMetrics: false } })
  keys.acme = (await store.createKey()).key
  keys.globex = (await store.createKey({ tenant: 'globex' })).key
  keys.ops = (await store.createKey({ tenant: 'ops', roles: ['read', 'admin', 'service'] })).key

  // acme, namespace ai: MISS, HIT, HIT, BYPASS, REFRESH of a priced model; namespace planner: an
  // unpriced model in cache type timeline, MISS then HIT. globex: MISS, HIT of the priced model.
  expect(await chat(keys.acme, 'gpt-4o-mini', AUSTIN)).toBe('MISS')
  expect(await chat(keys.acme, 'gpt-4o-mini', AUSTIN)).toBe('HIT')
  expect(await chat(keys.acme, 'gpt-4o-mini', AUSTIN)).toBe('HIT')
  expect(await chat(keys.acme, 'gpt-4o-mini', AUSTIN, { 'x-tiercache-bypass': 'true' })).toBe('BYPASS')
  expect(await chat(keys.acme, 'gpt-4o-mini', AUSTIN, { 'x-tiercache-refresh': 'true' })).toBe('REFRESH')
  const planner = { 'x-tiercache-namespace': 'planner', 'x-tiercache-cache-type': 'timeline' }
  expect(await chat(keys.acme, 'llama-local', 'June?', planner)).toBe('MISS')
  expect(await chat(keys.acme, 'llama-local', 'June?', planner)).toBe('HIT')
  expect(await chat(keys.globex, 'gpt-4o-mini', AUSTIN)).toBe('MISS')
  expect(await chat(keys.globex, 'gpt-4o-mini', AUSTIN)).toBe('HIT')
}, 60_000)

afterAll(async () => {
  await server?.app.close()
  await store?.close()
  await upstream?.close()
})

// The upstream's calls, in beforeAll's order: acme's MISS, BYPASS and REFRESH of Austin (#1 to #3; the
// hits are answer #1), June (#4), globex's Austin (#5).
const june = { prompt: 'June?'.length, completion: 'answer #4 to: June?'.length }
const globexAustin = { prompt: AUSTIN.length, completion: `answer #5 to: ${AUSTIN}`.length }

describe('GET /v1/stats with an AI gateway', () => {
  it("answers the tenant's rows, busiest first, and their totals", async () => {
    const report = await stats(keys.acme)
    expect(report.ai?.rows).toEqual([
      {
        namespace: 'ai', model: 'gpt-4o-mini', cacheType: 'default', answers: answers(2, 1, 1, 1), hits: 2, misses: 2, hitRatio: 0.5,
        promptTokensSaved: 2 * austin.prompt, completionTokensSaved: 2 * austin.completion, tokensSaved: 2 * (austin.prompt + austin.completion),
        costSavedUsd: expect.closeTo(2 * price(austin.prompt, austin.completion), 12),
      },
      {
        namespace: 'planner', model: 'llama-local', cacheType: 'timeline', answers: answers(1, 1, 0, 0), hits: 1, misses: 1, hitRatio: 0.5,
        promptTokensSaved: june.prompt, completionTokensSaved: june.completion, tokensSaved: june.prompt + june.completion, costSavedUsd: 0,
      },
    ])
    expect(report.ai?.totals).toEqual({
      answers: answers(3, 2, 1, 1), hits: 3, misses: 3, hitRatio: 0.5,
      promptTokensSaved: 2 * austin.prompt + june.prompt, completionTokensSaved: 2 * austin.completion + june.completion,
      tokensSaved: 2 * (austin.prompt + austin.completion) + june.prompt + june.completion,
      costSavedUsd: expect.closeTo(2 * price(austin.prompt, austin.completion), 12),
    })
    // A tenant's rows carry no tenant: they are all its own.
    expect(report.ai?.rows.every((row) => !('tenant' in row))).toBe(true)
  })

  it("shows a tenant nothing of another's answers, and a service key the deployment's or the tenant it names", async () => {
    const globex = await stats(keys.globex)
    expect(globex.ai?.rows.map((row) => [row.namespace, row.model, row.answers.MISS, row.answers.HIT, row.tokensSaved])).toEqual([
      ['ai', 'gpt-4o-mini', 1, 1, globexAustin.prompt + globexAustin.completion],
    ])
    expect(globex.ai?.totals.costSavedUsd).toBeCloseTo(price(globexAustin.prompt, globexAustin.completion), 12)

    const deployment = await stats(keys.ops)
    expect(deployment.scope).toEqual({ deployment: true })
    expect(deployment.ai?.rows.map((row) => [row.tenant, row.namespace, row.model, row.hits, row.misses])).toEqual([
      ['acme', 'ai', 'gpt-4o-mini', 2, 2],
      ['globex', 'ai', 'gpt-4o-mini', 1, 1],
      ['acme', 'planner', 'llama-local', 1, 1],
    ])
    expect(deployment.ai?.totals).toMatchObject({ answers: answers(4, 3, 1, 1), hits: 4, misses: 4, hitRatio: 0.5 })

    const named = await stats(keys.ops, '', { 'x-tiercache-tenant': 'globex' })
    expect(named.scope).toEqual({ tenant: 'globex' })
    expect(named.ai).toEqual(globex.ai)
  })

  it('keeps one namespace with ?namespace=', async () => {
    const report = await stats(keys.acme, '?namespace=planner')
    expect(report.ai?.rows.map((row) => row.namespace)).toEqual(['planner'])
    expect(report.ai?.totals.answers).toEqual(answers(1, 1, 0, 0))
    expect((await stats(keys.acme, '?namespace=nothing-here')).ai).toEqual({
      rows: [],
      totals: { answers: answers(0, 0, 0, 0), hits: 0, misses: 0, hitRatio: 0, promptTokensSaved: 0, completionTokensSaved: 0, tokensSaved: 0, costSavedUsd: 0 },
    })
  })

  it('has no ai section on a server without a gateway', async () => {
    const plain = await buildKeyedServer({ cache: createCache({ l3: false }), closeCacheOnClose: true })
    try {
      const response = await plain.inject({ method: 'GET', url: '/v1/stats' })
      expect(response.statusCode).toBe(200)
      expect(Object.keys(response.json() as object)).not.toContain('ai')
      const metrics = await plain.inject({ method: 'GET', url: '/metrics', headers: bearer((await plain.store.createKey({ roles: ['admin', 'service'] })).key) })
      expect(metrics.statusCode).toBe(200)
      expect(metrics.body).toContain('tiercache_requests_total')
      expect(metrics.body).not.toContain('tiercache_ai_')
    } finally {
      await plain.close()
    }
  })
})

describe('GET /metrics with an AI gateway', () => {
  const labels = (tenant: string, namespace: string, model: string, cacheType: string) => ({ namespace, tenant, model, cache_type: cacheType })

  const check = (exposition: Exposition) => {
    const acme = labels('acme', 'ai', 'gpt-4o-mini', 'default')
    expect(exposition.family('tiercache_ai_answers_total').type).toBe('COUNTER')
    const byStatus = Object.fromEntries(['HIT', 'SEMANTIC-HIT', 'STALE', 'MISS', 'REFRESH', 'BYPASS'].map((status) => [status, exposition.value('tiercache_ai_answers_total', { ...acme, status })]))
    expect(byStatus).toEqual(answers(2, 1, 1, 1))
    expect(exposition.value('tiercache_ai_answers_total', { ...labels('globex', 'ai', 'gpt-4o-mini', 'default'), status: 'HIT' })).toBe(1)
    expect(exposition.value('tiercache_ai_answers_total', { ...labels('acme', 'planner', 'llama-local', 'timeline'), status: 'MISS' })).toBe(1)
    expect(exposition.value('tiercache_ai_tokens_saved_total', { ...acme, kind: 'prompt' })).toBe(2 * austin.prompt)
    expect(exposition.value('tiercache_ai_tokens_saved_total', { ...acme, kind: 'completion' })).toBe(2 * austin.completion)
    expect(exposition.value('tiercache_ai_tokens_saved_total', { ...labels('acme', 'planner', 'llama-local', 'timeline'), kind: 'completion' })).toBe(june.completion)
    expect(exposition.value('tiercache_ai_cost_saved_usd_total', acme)).toBeCloseTo(2 * price(austin.prompt, austin.completion), 12)
    expect(exposition.value('tiercache_ai_cost_saved_usd_total', labels('acme', 'planner', 'llama-local', 'timeline'))).toBe(0)
    // One series per row and status (3 rows x 6), per row and kind, per row.
    expect(exposition.family('tiercache_ai_answers_total').metrics).toHaveLength(18)
    expect(exposition.family('tiercache_ai_tokens_saved_total').metrics).toHaveLength(6)
    expect(exposition.family('tiercache_ai_cost_saved_usd_total').metrics).toHaveLength(3)
  }

  it("counts every tenant's answers and savings for an operator's key, at scrape time", async () => {
    const scrape = async () => {
      const response = await fetch(`${server.url}/metrics`, { headers: bearer(keys.ops) })
      expect(response.status).toBe(200)
      return new Exposition(await response.text())
    }
    check(await scrape())
    // Read again at the next scrape: one more hit shows.
    const before = (await scrape()).value('tiercache_ai_answers_total', { ...labels('globex', 'ai', 'gpt-4o-mini', 'default'), status: 'HIT' })
    expect(await chat(keys.globex, 'gpt-4o-mini', AUSTIN)).toBe('HIT')
    expect((await scrape()).value('tiercache_ai_answers_total', { ...labels('globex', 'ai', 'gpt-4o-mini', 'default'), status: 'HIT' })).toBe(before + 1)
  })

  reportSkipped('promtool check metrics of the tiercache_ai_ families')

  it.runIf(HAS_PROMTOOL)('passes promtool check metrics (the exposition linter) on the tiercache_ai_ families', async () => {
    const response = await fetch(`${server.metricsUrl ?? ''}/metrics`)
    const ours = (await response.text())
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?tiercache_ai_/.test(line))
      .join('\n')
    expect(ours).toContain('# TYPE tiercache_ai_cost_saved_usd_total counter')
    const checked = promtool(['check', 'metrics'], `${ours}\n`)
    expect(checked.output).toBe('')
    expect(checked.code).toBe(0)
  })

  it('serves the same families on the metrics listener', async () => {
    const response = await fetch(`${server.metricsUrl ?? ''}/metrics`)
    expect(response.status).toBe(200)
    const exposition = new Exposition(await response.text())
    expect(exposition.value('tiercache_ai_answers_total', { ...labels('acme', 'ai', 'gpt-4o-mini', 'default'), status: 'MISS' })).toBe(1)
    expect(exposition.value('tiercache_ai_tokens_saved_total', { ...labels('acme', 'ai', 'gpt-4o-mini', 'default'), kind: 'prompt' })).toBe(2 * austin.prompt)
  })

  it('refuses, in tiercache/prometheus, an ai that is not an accounting, and a registry that holds one of its names', () => {
    expect(() => createPrometheusRegistry({ cache, ai: {} as never })).toThrow(/ai: must be an AI cache's accounting/)
    const registry = new Registry()
    new Counter({ name: 'tiercache_ai_tokens_saved_total', help: 'taken', registers: [registry] })
    expect(() => createPrometheusRegistry({ cache, ai: ai.accounting, registry })).toThrow(/already holds tiercache_ai_tokens_saved_total/)
    // Without ai, the name is not the registry's to check.
    expect(createPrometheusRegistry({ cache, registry }).getSingleMetric('tiercache_requests_total')).toBeDefined()
  })
})
