import { describe, expect, it } from 'vitest'
import type { MetricFamily } from '../../src/cache/instruments/snapshot.js'
import { Summary } from '../../src/metrics/stats/summarize.js'

const BUCKETS = [0.001, 0.01, 0.1]

/** A small window by hand: two tenants, two namespaces, tiers l1 and l3. */
function families(): MetricFamily[] {
  const t = (tenant: string, namespace: string) => ({ tenant, namespace })
  return [
    {
      type: 'counter',
      name: 'tiercache_requests_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), operation: 'get' }, value: 80 },
        { labels: { ...t('acme', 'flights'), operation: 'getOrSet' }, value: 20 },
        { labels: { ...t('acme', 'hotels'), operation: 'get' }, value: 10 },
        { labels: { ...t('bravo', 'flights'), operation: 'get' }, value: 1000 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_hits_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), tier: 'l1' }, value: 60 },
        { labels: { ...t('acme', 'flights'), tier: 'l3' }, value: 20 },
        { labels: { ...t('acme', 'hotels'), tier: 'l1' }, value: 1 },
        { labels: { ...t('bravo', 'flights'), tier: 'l1' }, value: 900 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_misses_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), tier: 'l1', reason: 'expired' }, value: 40 },
        { labels: { ...t('acme', 'flights'), tier: 'l3', reason: 'absent' }, value: 20 },
        { labels: { ...t('bravo', 'flights'), tier: 'l1', reason: 'absent' }, value: 100 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_stale_hits_total',
      help: '',
      samples: [{ labels: { ...t('acme', 'flights'), tier: 'l3', reason: 'factory-error' }, value: 3 }],
    },
    {
      type: 'counter',
      name: 'tiercache_writes_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), tier: 'l1', kind: 'set' }, value: 20 },
        { labels: { ...t('acme', 'flights'), tier: 'l3', kind: 'set' }, value: 20 },
        { labels: { ...t('acme', 'flights'), tier: 'l1', kind: 'backfill' }, value: 20 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_invalidations_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), kind: 'tags' }, value: 2 },
        { labels: { ...t('acme', '*'), kind: 'scope' }, value: 1 },
        { labels: { ...t('bravo', 'flights'), kind: 'tags' }, value: 7 },
      ],
    },
    {
      type: 'counter',
      name: 'tiercache_origin_calls_total',
      help: '',
      samples: [
        { labels: { ...t('acme', 'flights'), outcome: 'ok' }, value: 15 },
        { labels: { ...t('acme', 'flights'), outcome: 'error' }, value: 4 },
        { labels: { ...t('acme', 'flights'), outcome: 'timeout' }, value: 1 },
      ],
    },
    { type: 'counter', name: 'tiercache_origin_calls_saved_total', help: '', samples: [{ labels: t('acme', 'flights'), value: 80 }] },
    { type: 'counter', name: 'tiercache_origin_cost_saved_total', help: '', samples: [{ labels: { ...t('acme', 'flights'), unit: 'usd' }, value: 0.8 }] },
    { type: 'counter', name: 'tiercache_errors_total', help: '', samples: [{ labels: { tier: 'l3', operation: 'get' }, value: 5 }] },
    {
      type: 'counter',
      name: 'tiercache_circuit_changes_total',
      help: '',
      samples: [
        { labels: { tier: 'l3', state: 'open' }, value: 2 },
        { labels: { tier: 'l3', state: 'closed' }, value: 2 },
      ],
    },
    {
      type: 'histogram',
      name: 'tiercache_tier_read_duration_seconds',
      help: '',
      buckets: BUCKETS,
      samples: [{ labels: { tier: 'l1' }, counts: [100, 0, 0, 0], sum: 0.01, count: 100 }],
    },
    {
      type: 'histogram',
      name: 'tiercache_get_or_set_duration_seconds',
      help: '',
      buckets: BUCKETS,
      samples: [
        { labels: t('acme', 'flights'), counts: [10, 10, 0, 0], sum: 0.1, count: 20 },
        { labels: t('bravo', 'flights'), counts: [0, 0, 0, 50], sum: 50, count: 50 },
      ],
    },
    { type: 'gauge', name: 'tiercache_entries', help: '', samples: [{ labels: { tier: 'l1' }, value: 12345 }] },
  ]
}

describe('Summary', () => {
  it("counts a tenant's namespace series only, and the shared tiers' whatever the tenant", () => {
    const totals = new Summary({ tenant: 'acme' }, false).add(families()).totals(['l1', 'l3'])
    expect(totals).toMatchObject({
      requests: 110,
      hits: 81,
      misses: 29,
      staleHits: 3,
      staleReasons: { requested: 0, factoryError: 3, timeout: 0 },
      missReasons: { expired: 40, absent: 20 },
      writes: 20,
      invalidations: { key: 0, tags: 2, clear: 0, scope: 1 },
      errors: 5,
      origin: { calls: 20, errors: 4, timeouts: 1, saved: 80, costSaved: [{ unit: 'usd', amount: 0.8 }] },
    })
    expect(totals.hitRatio).toBeCloseTo(81 / 110)
    expect(totals.tiers.l1).toMatchObject({ hits: 61, misses: 40, served: 61 / 110, errors: 0, circuitOpens: 0 })
    expect(totals.tiers.l1?.hitRatio).toBeCloseTo(61 / 101)
    expect(totals.tiers.l3).toMatchObject({ hits: 20, misses: 20, hitRatio: 0.5, errors: 5, circuitOpens: 2 })
    expect(totals.tiers.l1?.latency).toMatchObject({ count: 100, p50: 0.0005 })
    // bravo's slow getOrSet calls are not acme's.
    expect(totals.getOrSet.latency.count).toBe(20)
    expect(totals.getOrSet.latency.p95).toBeLessThanOrEqual(0.01)
  })

  it('a tenant that is not labelled sees nothing of the namespace series', () => {
    const totals = new Summary({ tenant: 'nobody' }, false).add(families()).totals(['l1'])
    expect(totals).toMatchObject({ requests: 0, hits: 0, hitRatio: 0, writes: 0, origin: { calls: 0 } })
  })

  it('sums every tenant for the deployment, and keeps namespaces apart by tenant, busiest first', () => {
    const summary = new Summary({}, true).add(families())
    expect(summary.totals(['l1', 'l3'])).toMatchObject({ requests: 1110, hits: 981, invalidations: { tags: 9, scope: 1 } })
    expect(summary.totals(['l1', 'l3']).getOrSet.latency.count).toBe(70)
    const namespaces = summary.namespaceStats(10)
    expect(namespaces.map((n) => [n.tenant, n.namespace, n.requests])).toEqual([
      ['bravo', 'flights', 1000],
      ['acme', 'flights', 100],
      ['acme', 'hotels', 10],
    ])
    expect(namespaces[1]).toMatchObject({ hits: 80, hitRatio: 0.8, writes: 20, originCalls: 20, originErrors: 5, saved: 80, costSaved: [{ unit: 'usd', amount: 0.8 }] })
    expect(summary.namespaceStats(1)).toHaveLength(1)
  })

  it('filters one namespace, keeping removals of every namespace', () => {
    const totals = new Summary({ tenant: 'acme', namespace: 'hotels' }, false).add(families()).totals(['l1'])
    expect(totals).toMatchObject({ requests: 10, hits: 1, invalidations: { tags: 0, scope: 1 } })
  })
})
