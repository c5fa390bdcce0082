import { describe, expect, it } from 'vitest'
import type { NamespaceStats, TierTotals, TopKeyItem } from '../../src/metrics/stats/report.js'
import { Summary } from '../../src/metrics/stats/summarize.js'
import { type SuggestionInput, suggest } from '../../src/metrics/suggestions.js'

const zeroMisses = { absent: 0, expired: 0, invalidated: 0, evicted: 0, unavailable: 0, suspended: 0, unreadable: 0, bypassed: 0 }

/** Nothing happened: no suggestion. */
function quiet(): SuggestionInput {
  return {
    range: '1h',
    totals: new Summary({}, false).totals(['l1', 'l2', 'l3']),
    namespaces: [],
    now: {
      at: 0,
      tiers: { l1: { kind: 'memory', circuit: 'closed', healthy: true }, l2: { kind: 'redis', circuit: 'closed', healthy: true }, l3: { kind: 'sqlite', circuit: 'closed', healthy: true } },
      bus: { listening: true },
    },
    topKeys: [],
    largestEntries: [],
  }
}

function ns(namespace: string, figures: Partial<NamespaceStats> = {}): NamespaceStats {
  return {
    namespace,
    requests: 0,
    hits: 0,
    hitRatio: 0,
    staleHits: 0,
    staleReasons: { requested: 0, factoryError: 0, timeout: 0 },
    missReasons: zeroMisses,
    writes: 0,
    evictions: { size: 0, count: 0, expired: 0 },
    originCalls: 0,
    originErrors: 0,
    saved: 0,
    costSaved: [],
    getOrSetP95: null,
    ...figures,
  }
}

function withTier(input: SuggestionInput, level: 'l1' | 'l2' | 'l3', figures: Partial<TierTotals>): SuggestionInput {
  const tier = input.totals.tiers[level]
  if (tier === undefined) throw new Error('no such tier')
  return { ...input, totals: { ...input.totals, tiers: { ...input.totals.tiers, [level]: { ...tier, ...figures } } } }
}

const codes = (input: SuggestionInput) => suggest(input).map((s) => s.code)

describe('suggestions', () => {
  it('say nothing of a quiet cache, or of a healthy busy one', () => {
    expect(suggest(quiet())).toEqual([])
    const healthy = { ...quiet(), namespaces: [ns('flights', { requests: 10_000, hits: 9_800, hitRatio: 0.98, missReasons: { ...zeroMisses, absent: 200 } })] }
    expect(suggest(healthy)).toEqual([])
  })

  describe('expired-short-ttl', () => {
    const hot = (figures: Partial<TopKeyItem>): SuggestionInput => ({
      ...quiet(),
      topKeys: [{ namespace: 'flights', key: 'LHR-JFK', count: 400, error: 0, misses: 120, ttlMs: 5_000, ...figures }],
    })
    it('names a busy key that misses often and is written with a short ttl', () => {
      expect(suggest(hot({}))).toEqual([
        {
          code: 'expired-short-ttl',
          severity: 'warning',
          message:
            "key 'LHR-JFK' in namespace 'flights' misses 30% of its 400 lookups and is written with a ttl of 5 s: raise its ttl, or give it a grace period and read it with allowStale so that it is refreshed without a miss",
          namespace: 'flights',
          key: 'LHR-JFK',
        },
      ])
    })
    it('says nothing of a long ttl, few misses, few lookups, or an unknown ttl', () => {
      expect(codes(hot({ ttlMs: 3_600_000 }))).toEqual([])
      expect(codes(hot({ misses: 10 }))).toEqual([])
      expect(codes(hot({ count: 40, misses: 20 }))).toEqual([])
      // count - error is what the key surely had: a large error is not enough lookups.
      expect(codes(hot({ error: 380 }))).toEqual([])
      expect(codes(hot({ ttlMs: undefined }))).toEqual([])
    })
    it('carries the tenant of a deployment report', () => {
      expect(suggest(hot({ tenant: 'acme' }))[0]).toMatchObject({ tenant: 'acme' })
    })
  })

  describe('expired-misses', () => {
    const expiring = (expired: number, requests = 1000) => ({
      ...quiet(),
      namespaces: [ns('prices', { requests, hits: requests * 0.9, hitRatio: 0.9, missReasons: { ...zeroMisses, expired, absent: 100 - Math.min(expired, 100) } })],
    })
    it('points at a namespace whose misses are mostly expiries', () => {
      const [s] = suggest(expiring(80))
      expect(s).toMatchObject({ code: 'expired-misses', severity: 'warning', namespace: 'prices' })
      expect(s?.message).toContain('80% of the misses')
      expect(s?.message).toContain('raise the ttl')
    })
    it('not when expiries are a minority, or with little traffic', () => {
      expect(codes(expiring(30))).toEqual([])
      expect(codes(expiring(80, 50))).toEqual([])
    })
  })

  describe('oversized-entries', () => {
    it('names writes larger than the threshold', () => {
      const input = { ...quiet(), largestEntries: [{ namespace: 'docs', key: 'manual', bytes: 800 * 1024, at: 0 }, { namespace: 'docs', key: 'small', bytes: 2000, at: 0 }] }
      const found = suggest(input)
      expect(found).toHaveLength(1)
      expect(found[0]).toMatchObject({ code: 'oversized-entries', severity: 'warning', namespace: 'docs', key: 'manual' })
      expect(found[0]?.message).toContain('800 KiB')
      expect(found[0]?.message).toContain('smaller projection')
    })
    it('names a tier whose entries are large on average', () => {
      const input = quiet()
      const now = { ...input.now, tiers: { ...input.now.tiers, l1: { kind: 'memory', circuit: 'closed' as const, healthy: true, entries: 10, bytes: 10 * 512 * 1024 } } }
      expect(suggest({ ...input, now })).toEqual([expect.objectContaining({ code: 'oversized-entries', tier: 'l1', message: expect.stringContaining('average 512 KiB') })])
      const small = { ...now, tiers: { ...now.tiers, l1: { ...now.tiers.l1, bytes: 10 * 1024 } } }
      expect(codes({ ...input, now: small })).toEqual([])
    })
    it('lets the threshold be changed', () => {
      const input = { ...quiet(), largestEntries: [{ namespace: 'docs', key: 'small', bytes: 2000, at: 0 }] }
      expect(suggest(input, { oversizedBytes: 1000 }).map((s) => s.code)).toEqual(['oversized-entries'])
    })
  })

  describe('l1-evicting', () => {
    it('says when L1 drops entries for room and lookups miss for it', () => {
      const input = withTier(quiet(), 'l1', { hits: 500, misses: 500, evictions: { size: 0, count: 400, expired: 0 }, missReasons: { ...zeroMisses, evicted: 300 } })
      const [s] = suggest(input)
      expect(s).toMatchObject({ code: 'l1-evicting', severity: 'info', tier: 'l1' })
      expect(s?.message).toContain('maxEntries')
    })
    it('not for evictions that cost no lookup', () => {
      expect(codes(withTier(quiet(), 'l1', { hits: 500, misses: 500, evictions: { size: 400, count: 0, expired: 0 } }))).toEqual([])
    })
  })

  describe('failing-origin', () => {
    it('points at stale answers served because the origin failed', () => {
      const input = { ...quiet(), namespaces: [ns('rates', { requests: 1000, hits: 950, hitRatio: 0.95, staleHits: 40, staleReasons: { requested: 0, factoryError: 30, timeout: 10 } })] }
      const [s] = suggest(input)
      expect(s).toMatchObject({ code: 'failing-origin', severity: 'warning', namespace: 'rates' })
      expect(s?.message).toContain('served 40 stale answers')
      expect(s?.message).toContain('check the origin')
    })
    it('points at origin calls failing, with or without stale answers', () => {
      const input = { ...quiet(), namespaces: [ns('rates', { requests: 50, originCalls: 40, originErrors: 10 })] }
      expect(suggest(input)[0]?.message).toContain('25% of its 40 origin calls failed')
    })
    it('not for stale answers asked for (allowStale), nor a rare failure', () => {
      const asked = { ...quiet(), namespaces: [ns('rates', { requests: 1000, hits: 950, hitRatio: 0.95, staleHits: 50, staleReasons: { requested: 50, factoryError: 0, timeout: 0 } })] }
      expect(codes(asked)).toEqual([])
      const rare = { ...quiet(), namespaces: [ns('rates', { requests: 10_000, hits: 9_900, hitRatio: 0.99, originCalls: 100, originErrors: 1, staleReasons: { requested: 0, factoryError: 1, timeout: 0 } })] }
      expect(codes(rare)).toEqual([])
    })
  })

  describe('circuit-flapping', () => {
    it('names a tier whose circuit keeps opening', () => {
      const input = withTier(quiet(), 'l2', { circuitOpens: 4, errors: 37, latency: { p50: 0.001, p95: 0.25, p99: 1, count: 100 } })
      expect(suggest(input)).toEqual([
        {
          code: 'circuit-flapping',
          severity: 'warning',
          message:
            'the circuit of L2 (redis) opened 4 times in the last 1h (37 failed operations): the tier keeps failing or timing out; check its health and latency (p95 250.0 ms), or raise tierTimeout if it is merely slow',
          tier: 'l2',
        },
      ])
    })
    it('not for a circuit that opened once or twice', () => {
      expect(codes(withTier(quiet(), 'l3', { circuitOpens: 2 }))).toEqual([])
    })
  })

  describe('low-hit-ratio', () => {
    it('names a busy namespace served poorly, with the likely cause', () => {
      const input = { ...quiet(), namespaces: [ns('search', { requests: 1000, hits: 200, hitRatio: 0.2, missReasons: { ...zeroMisses, absent: 780, expired: 20 } })] }
      const [s] = suggest(input)
      expect(s).toMatchObject({ code: 'low-hit-ratio', severity: 'info', namespace: 'search' })
      expect(s?.message).toContain('20% of its 1000 lookups')
      expect(s?.message).toContain('keys are stable')
    })
    it('gives the advice of the dominant reason', () => {
      const input = { ...quiet(), namespaces: [ns('search', { requests: 1000, hits: 200, hitRatio: 0.2, missReasons: { ...zeroMisses, invalidated: 700, absent: 100 } })] }
      expect(suggest(input)[0]?.message).toContain('invalidate narrower tags')
    })
    it('not for a namespace with little traffic or a good ratio', () => {
      expect(codes({ ...quiet(), namespaces: [ns('a', { requests: 50, hitRatio: 0 }), ns('b', { requests: 1000, hits: 800, hitRatio: 0.8 })] })).toEqual([])
    })
  })

  it('lists warnings before information, and at most five of a code', () => {
    const namespaces = Array.from({ length: 8 }, (_, i) => ns(`n${i}`, { requests: 1000, hits: 100, hitRatio: 0.1, missReasons: { ...zeroMisses, absent: 900 } }))
    const input = withTier({ ...quiet(), namespaces }, 'l2', { circuitOpens: 5 })
    expect(codes(input)).toEqual(['circuit-flapping', ...Array(5).fill('low-hit-ratio')])
  })
})
