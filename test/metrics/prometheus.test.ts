import { readFileSync } from 'node:fs'
import { Registry, type RegistryContentType } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { MetricFamily, MetricsSnapshot } from '../../src/cache/instruments/snapshot.js'
import { CacheClosedError, InvalidOptionsError } from '../../src/errors.js'
import { createCache } from '../../src/index.js'
import { AI_METRIC_CATALOGUE, HTTP_METRIC_CATALOGUE, HTTP_RESPONSE_OUTCOMES, METRIC_CATALOGUE, type MetricsSource, createPrometheusRegistry } from '../../src/metrics/prometheus.js'
import { Exposition } from './exposition.js'

const BUCKETS = [0.001, 0.01, 0.1]

/** A cache stand-in whose snapshot the test sets, counting the reads. */
class FakeCache implements MetricsSource {
  reads = 0
  constructor(public families: MetricFamily[]) {}
  async metrics(): Promise<MetricsSnapshot> {
    this.reads++
    return { at: Date.now(), families: this.families }
  }
}

function snapshotFamilies(hits: number): MetricFamily[] {
  return [
    {
      type: 'counter',
      name: 'tiercache_hits_total',
      help: 'Lookups a tier answered with a fresh entry',
      samples: [
        { labels: { namespace: 'flights', tier: 'l1' }, value: hits },
        { labels: { namespace: 'flights', tier: 'l3' }, value: 2 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_misses_total',
      help: 'Misses by reason',
      samples: [
        { labels: { namespace: 'flights', tier: 'l1', reason: 'absent' }, value: 4 },
        { labels: { namespace: 'fl"ights\\', tier: 'l1', reason: 'expired' }, value: 0 },
      ],
    },
    { type: 'gauge', name: 'tiercache_entries', help: 'Entries', samples: [{ labels: { tier: 'l1' }, value: 12 }] },
    { type: 'gauge', name: 'tiercache_bus_listening', help: 'Bus', samples: [{ labels: {}, value: 1 }] },
    {
      type: 'histogram',
      name: 'tiercache_tier_read_duration_seconds',
      help: 'Reads',
      buckets: BUCKETS,
      samples: [{ labels: { tier: 'l3' }, counts: [1, 0, 2, 3], sum: 1.25, count: 6 }],
    },
  ]
}

describe('createPrometheusRegistry', () => {
  it('maps a snapshot to the text format: counters, gauges, label escaping, histograms with cumulative buckets', async () => {
    const registry = createPrometheusRegistry({ cache: new FakeCache(snapshotFamilies(7)) })
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await registry.metrics()
    const exposition = new Exposition(text)
    expect(exposition.family('tiercache_hits_total')).toMatchObject({ type: 'COUNTER', help: 'Lookups a tier answered with a fresh entry' })
    expect(exposition.value('tiercache_hits_total', { namespace: 'flights', tier: 'l1' })).toBe(7)
    expect(exposition.value('tiercache_hits_total', { namespace: 'flights', tier: 'l3' })).toBe(2)
    expect(exposition.value('tiercache_misses_total', { namespace: 'flights', tier: 'l1', reason: 'absent' })).toBe(4)
    // Label values are escaped as the format says, and the parser reads them back.
    expect(exposition.value('tiercache_misses_total', { namespace: 'fl"ights\\', tier: 'l1', reason: 'expired' })).toBe(0)
    expect(exposition.family('tiercache_entries').type).toBe('GAUGE')
    expect(exposition.value('tiercache_entries', { tier: 'l1' })).toBe(12)
    expect(exposition.value('tiercache_bus_listening')).toBe(1)
    expect(exposition.histogram('tiercache_tier_read_duration_seconds', { tier: 'l3' })).toEqual({
      buckets: { '0.001': 1, '0.01': 1, '0.1': 3, '+Inf': 6 },
      sum: 1.25,
      count: 6,
    })
    // A family the snapshot lacks is still declared (HELP and TYPE), with no series.
    expect(text).toContain('# TYPE tiercache_deletes_total counter')
    expect(exposition.families.get('tiercache_deletes_total')?.metrics ?? []).toEqual([])
  })

  it('reads the cache at scrape time, once per scrape, never keeping counts of its own', async () => {
    const cache = new FakeCache(snapshotFamilies(1))
    const registry = createPrometheusRegistry({ cache })
    expect(cache.reads).toBe(0)
    expect(new Exposition(await registry.metrics()).value('tiercache_hits_total', { namespace: 'flights', tier: 'l1' })).toBe(1)
    expect(cache.reads).toBe(1)
    cache.families = snapshotFamilies(41)
    expect(new Exposition(await registry.metrics()).value('tiercache_hits_total', { namespace: 'flights', tier: 'l1' })).toBe(41)
    expect(cache.reads).toBe(2)
    // The JSON view reads the same snapshot.
    const json = await registry.getMetricsAsJSON()
    expect(json.find((metric) => metric.name === 'tiercache_hits_total')?.values).toContainEqual({ labels: { namespace: 'flights', tier: 'l1' }, value: 41 })
    expect(cache.reads).toBe(3)
  })

  it('puts several caches in one registry under a cache label, each read once per scrape', async () => {
    const sessions = new FakeCache(snapshotFamilies(3))
    const flights = new FakeCache(snapshotFamilies(5))
    const registry = createPrometheusRegistry({ caches: { sessions, flights } })
    const exposition = new Exposition(await registry.metrics())
    expect(exposition.value('tiercache_hits_total', { cache: 'sessions', namespace: 'flights', tier: 'l1' })).toBe(3)
    expect(exposition.value('tiercache_hits_total', { cache: 'flights', namespace: 'flights', tier: 'l1' })).toBe(5)
    expect(exposition.sum('tiercache_hits_total', { tier: 'l1' })).toBe(8)
    expect(exposition.histogram('tiercache_tier_read_duration_seconds', { cache: 'flights', tier: 'l3' }).count).toBe(6)
    expect(exposition.histogram('tiercache_tier_read_duration_seconds', { cache: 'sessions', tier: 'l3' }).count).toBe(6)
    expect([sessions.reads, flights.reads]).toEqual([1, 1])
    // The cache label comes first, as written.
    expect(exposition.text).toContain('tiercache_hits_total{cache="sessions",namespace="flights",tier="l1"} 3')
  })

  it("adds to the caller's registry, with Node's process metrics when asked, under a prefix if given", async () => {
    const registry = new Registry()
    registry.setDefaultLabels({ service: 'checkout' })
    createPrometheusRegistry({ cache: new FakeCache(snapshotFamilies(2)), registry, processMetrics: { prefix: 'checkout_' } })
    const exposition = new Exposition(await registry.metrics())
    expect(exposition.value('tiercache_hits_total', { namespace: 'flights', tier: 'l1', service: 'checkout' })).toBe(2)
    expect(exposition.family('checkout_process_cpu_user_seconds_total').type).toBe('COUNTER')
    expect(exposition.families.has('process_cpu_user_seconds_total')).toBe(false)

    const plain = createPrometheusRegistry({ cache: new FakeCache([]), processMetrics: true })
    expect(new Exposition(await plain.metrics()).families.has('process_resident_memory_bytes')).toBe(true)
    const none = createPrometheusRegistry({ cache: new FakeCache([]) })
    expect(new Exposition(await none.metrics()).families.has('process_resident_memory_bytes')).toBe(false)
  })

  it('collects process metrics once per process, whatever the number of registries asking', () => {
    const a = createPrometheusRegistry({ cache: new FakeCache([]), processMetrics: true })
    const b = createPrometheusRegistry({ cache: new FakeCache([]), processMetrics: true })
    const lag = a.getSingleMetric('nodejs_eventloop_lag_seconds')
    expect(lag).toBeDefined()
    expect(b.getSingleMetric('nodejs_eventloop_lag_seconds')).toBe(lag)
    // The cache's collectors are each registry's own.
    expect(b.getSingleMetric('tiercache_hits_total')).not.toBe(a.getSingleMetric('tiercache_hits_total'))
  })

  it('writes OpenMetrics too, counters named once with _total', async () => {
    const registry = new Registry<RegistryContentType>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    expect(createPrometheusRegistry({ cache: new FakeCache(snapshotFamilies(9)), registry })).toBe(registry)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE tiercache_hits counter')
    expect(text).toContain('tiercache_hits_total{namespace="flights",tier="l1"} 9')
    expect(text).not.toContain('_total_total')
    expect(text).toContain('tiercache_tier_read_duration_seconds_bucket{tier="l3",le="+Inf"} 6')
    expect(text.endsWith('# EOF\n')).toBe(true)
  })

  it('rejects a scrape with the error of the cache, e.g. a closed one', async () => {
    const registry = createPrometheusRegistry({
      cache: {
        metrics: () => Promise.reject(new CacheClosedError('cache is closed')),
      },
    })
    await expect(registry.metrics()).rejects.toBeInstanceOf(CacheClosedError)
  })

  it('refuses malformed options with TC_INVALID_OPTIONS, leaving the registry as it was', () => {
    const cache = new FakeCache([])
    const refused = (options: unknown): void => {
      expect(() => createPrometheusRegistry(options as Parameters<typeof createPrometheusRegistry>[0])).toThrow(InvalidOptionsError)
    }
    refused({})
    refused({ cache, caches: { a: cache } })
    refused({ caches: {} })
    refused({ caches: { 'not a name': cache } })
    refused({ cache: {} })
    refused({ cache, processMetrics: { prefix: '9bad' } })
    refused({ cache, surprise: true })
    const registry = new Registry()
    createPrometheusRegistry({ cache, registry })
    const before = registry.getMetricsAsArray().length
    expect(() => createPrometheusRegistry({ cache, registry })).toThrow(/already holds tiercache_requests_total/)
    expect(registry.getMetricsAsArray()).toHaveLength(before)
  })
})

describe('the catalogue', () => {
  /** The families each `## ` section of docs/metrics.md lists in its table, in order. */
  const documentedBySection = (): Map<string, string[]> => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8')
    const sections = new Map<string, string[]>()
    let section = ''
    for (const line of doc.split('\n')) {
      const heading = /^## (.+)$/.exec(line)
      if (heading?.[1] !== undefined) section = heading[1]
      const row = /^\| `(tiercache_[a-z_]+)` \|/.exec(line)
      if (row?.[1] !== undefined) sections.set(section, [...(sections.get(section) ?? []), row[1]])
    }
    return sections
  }

  it('lists exactly the families of docs/metrics.md, with their types', () => {
    const sections = documentedBySection()
    const types = { Counters: 'counter', Gauges: 'gauge', Histograms: 'histogram' } as const
    const documented = Object.entries(types).flatMap(([section, type]) => (sections.get(section) ?? []).map((name) => ({ name, type })))
    expect(documented.length).toBeGreaterThan(20)
    expect(METRIC_CATALOGUE.map(({ name, type }) => ({ name, type }))).toEqual(documented)
    // Every table of the page is one of those, the AI gateway's or the HTTP cache's.
    expect([...sections.keys()]).toEqual(['Counters', 'Gauges', 'Histograms', 'AI gateway', 'HTTP cache'])
  })

  it("lists the AI gateway's families in docs/metrics.md, and exposes them as counters", async () => {
    expect(documentedBySection().get('AI gateway')).toEqual(AI_METRIC_CATALOGUE.map(({ name }) => name))
    const cache = createCache({ l3: false })
    try {
      const row = { namespace: 'ai', tenant: 'acme', model: 'gpt-4o-mini', cacheType: 'default', answers: { HIT: 3, MISS: 1 }, promptTokensSaved: 30, completionTokensSaved: 60, costSavedUsd: 0.000_04 }
      const exposition = new Exposition(await createPrometheusRegistry({ cache, ai: { rows: () => [row] } }).metrics())
      for (const { name } of AI_METRIC_CATALOGUE) expect(exposition.family(name).type, name).toBe('COUNTER')
      const labels = { namespace: 'ai', tenant: 'acme', model: 'gpt-4o-mini', cache_type: 'default' }
      expect(exposition.value('tiercache_ai_answers_total', { ...labels, status: 'HIT' })).toBe(3)
      // A status the row has not counted is there at zero.
      expect(exposition.value('tiercache_ai_answers_total', { ...labels, status: 'SEMANTIC-HIT' })).toBe(0)
      expect(exposition.value('tiercache_ai_tokens_saved_total', { ...labels, kind: 'completion' })).toBe(60)
      expect(exposition.value('tiercache_ai_cost_saved_usd_total', labels)).toBe(0.000_04)
    } finally {
      await cache.close()
    }
  })

  it("lists the HTTP cache's family in docs/metrics.md, and exposes it as a counter read at scrape time, every outcome of a group present", async () => {
    expect(documentedBySection().get('HTTP cache')).toEqual(HTTP_METRIC_CATALOGUE.map(({ name }) => name))
    const cache = createCache({ l3: false })
    try {
      let rows = [
        { group: '/products', outcome: 'hit' as const, count: 7 },
        { group: '/products', outcome: 'miss' as const, count: 2 },
        { group: 'other', outcome: 'revalidated' as const, count: 1 },
      ]
      const registry = createPrometheusRegistry({ cache, http: { counts: { rows: () => rows } } })
      const exposition = new Exposition(await registry.metrics())
      expect(exposition.family('tiercache_http_responses_total').type).toBe('COUNTER')
      expect(exposition.value('tiercache_http_responses_total', { group: '/products', outcome: 'hit' })).toBe(7)
      expect(exposition.value('tiercache_http_responses_total', { group: '/products', outcome: 'miss' })).toBe(2)
      for (const outcome of HTTP_RESPONSE_OUTCOMES.filter((name) => name !== 'hit' && name !== 'miss')) {
        expect(exposition.value('tiercache_http_responses_total', { group: '/products', outcome })).toBe(0)
      }
      expect(exposition.value('tiercache_http_responses_total', { group: 'other', outcome: 'revalidated' })).toBe(1)
      expect(exposition.labelNames('tiercache_http_responses_total')).toEqual(new Set(['group', 'outcome']))
      rows = [{ group: '/products', outcome: 'hit', count: 8 }]
      expect(new Exposition(await registry.metrics()).value('tiercache_http_responses_total', { group: '/products', outcome: 'hit' })).toBe(8)
      // Without the option, no HTTP family; with something that is not an HTTP cache, a refusal.
      expect(new Exposition(await createPrometheusRegistry({ cache }).metrics()).families.has('tiercache_http_responses_total')).toBe(false)
      expect(() => createPrometheusRegistry({ cache, http: {} as never })).toThrow(InvalidOptionsError)
    } finally {
      await cache.close()
    }
  })
})
