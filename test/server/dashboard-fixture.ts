/**
 * A `GET /v1/stats` answer (docs/stats.md) with every panel of the dashboard filled, and the states a
 * live server rarely shows (an open circuit, a deaf bus, warnings, a key that looks like markup), for
 * rendering the page without a workload.
 */

const STEP = 60_000
const FIRST = Date.UTC(2026, 11, 2, 11, 31)
const AT = Date.UTC(2026, 11, 2, 12, 30, 20)
const t = Array.from({ length: 60 }, (_, i) => FIRST + i * STEP)
const wave = (i: number) => 0.5 + 0.5 * Math.sin(i / 6)
// The last step is 20 s into its minute (`now.at`): a third of a full one.
const part = (i: number) => (i === 59 ? 1 / 3 : 1)
const reasons = (absent: number, expired: number, invalidated: number, evicted: number) => ({ absent, expired, invalidated, evicted, unavailable: 0, suspended: 0, unreadable: 0, bypassed: 0 })
const latency = (p50: number | null, p95: number | null, p99: number | null, count: number) => ({ p50, p95, p99, count })
const noStale = { requested: 0, factoryError: 0, timeout: 0 }
const noEvictions = { size: 0, count: 0, expired: 0 }

export const statsFixture = {
  scope: { tenant: 'acme' },
  range: '1h',
  from: FIRST,
  to: FIRST + 60 * STEP,
  stepMs: STEP,
  instances: 2,
  history: true,
  totals: {
    requests: 123_456,
    hits: 101_000,
    misses: 22_456,
    hitRatio: 101_000 / 123_456,
    staleHits: 321,
    staleReasons: { requested: 300, factoryError: 20, timeout: 1 },
    // Every tier summed, as the server answers it.
    missReasons: { absent: 42_000, expired: 20_000, invalidated: 1_200, evicted: 800, unavailable: 90, suspended: 30, unreadable: 2, bypassed: 13 },
    tiers: {
      l1: { hits: 80_000, misses: 43_456, hitRatio: 80_000 / 123_456, served: 80_000 / 123_456, missReasons: { ...reasons(21_413, 20_000, 1_200, 800), suspended: 30, bypassed: 13 }, evictions: { size: 700, count: 0, expired: 100 }, errors: 0, circuitOpens: 0, latency: latency(0.000_004, 0.000_012, 0.000_05, 123_456) },
      l2: { hits: 15_000, misses: 28_456, hitRatio: 15_000 / 43_456, served: 15_000 / 123_456, missReasons: { ...reasons(18_131, 0, 0, 0), unavailable: 90, unreadable: 2 }, evictions: noEvictions, errors: 95, circuitOpens: 4, latency: latency(0.000_4, 0.001_7, 0.004, 43_456) },
      l3: { hits: 6_000, misses: 22_456, hitRatio: 6_000 / 28_456, served: 6_000 / 123_456, missReasons: reasons(2_456, 0, 0, 0), evictions: noEvictions, errors: 0, circuitOpens: 0, latency: latency(0.002, 0.012, 0.07, 28_456) },
    },
    getOrSet: { latency: latency(0.000_01, 0.003, 0.25, 120_000) },
    origin: { calls: 22_100, errors: 40, timeouts: 5, saved: 98_000, costSaved: [{ unit: 'USD', amount: 49 }, { unit: 'tokens', amount: 1_250_000 }], latency: latency(0.08, 0.4, 1.5, 22_100) },
    writes: 22_400,
    deletes: 120,
    invalidations: { key: 30, tags: 5, clear: 2, scope: 0 },
    evictions: { size: 700, count: 0, expired: 100 },
    coalesced: 410,
    errors: 95,
  },
  namespaces: [
    { namespace: 'flights', requests: 100_000, hits: 90_000, hitRatio: 0.9, staleHits: 300, staleReasons: { requested: 300, factoryError: 0, timeout: 0 }, missReasons: reasons(8_000, 2_000, 0, 0), writes: 10_000, evictions: noEvictions, originCalls: 10_000, originErrors: 0, saved: 88_000, costSaved: [{ unit: 'USD', amount: 44 }], getOrSetP95: 0.002 },
    { namespace: 'llm', requests: 20_000, hits: 9_000, hitRatio: 0.45, staleHits: 21, staleReasons: { requested: 0, factoryError: 20, timeout: 1 }, missReasons: reasons(11_000, 0, 0, 0), writes: 11_000, evictions: noEvictions, originCalls: 11_000, originErrors: 45, saved: 9_000, costSaved: [{ unit: 'tokens', amount: 1_250_000 }], getOrSetP95: 1.2 },
    { namespace: 'users', requests: 3_456, hits: 2_000, hitRatio: 2_000 / 3_456, staleHits: 0, staleReasons: noStale, missReasons: reasons(1_456, 0, 0, 0), writes: 1_400, evictions: noEvictions, originCalls: 1_100, originErrors: 0, saved: 1_000, costSaved: [], getOrSetP95: null },
  ],
  series: {
    t,
    // Step 30 had no lookups: the server answers its ratios as 0.
    requests: t.map((_, i) => (i === 30 ? 0 : Math.round((1500 + 1000 * wave(i)) * part(i)))),
    hits: t.map((_, i) => (i === 30 ? 0 : Math.round((1200 + 800 * wave(i)) * part(i)))),
    staleHits: t.map((_, i) => (i === 30 ? 0 : 5)),
    errors: t.map((_, i) => (i === 31 ? 95 : 0)),
    hitRatio: {
      overall: t.map((_, i) => (i === 30 ? 0 : 0.75 + 0.1 * wave(i))),
      l1: t.map((_, i) => (i === 30 ? 0 : 0.6 + 0.1 * wave(i))),
      l2: t.map((_, i) => (i === 30 ? 0 : 0.1 + 0.05 * wave(i))),
      l3: t.map((_, i) => (i === 30 ? 0 : 0.05)),
    },
    latencyP95: {
      getOrSet: t.map((_, i) => 0.002 + 0.002 * wave(i)),
      l1: t.map(() => 0.000_012),
      l2: t.map((_, i) => (i === 30 ? null : 0.001_7)),
      l3: t.map(() => 0.012),
    },
    originCalls: t.map((_, i) => (i === 30 ? 0 : Math.round((300 + 200 * wave(i)) * part(i)))),
    costSaved: [{ unit: 'USD', values: t.map(() => 0.8) }],
  },
  now: {
    at: AT,
    tiers: {
      l1: { kind: 'memory', circuit: 'closed', healthy: true, entries: 9_876, bytes: 12_345_678, capacityEntries: 10_000, capacityBytes: 67_108_864 },
      l2: { kind: 'redis', circuit: 'open', healthy: false, entries: 54_321 },
      l3: { kind: 'postgres', circuit: 'closed', healthy: true, entries: 1_234_567, bytes: 987_654_321 },
    },
    bus: { listening: false },
  },
  topKeys: [
    { namespace: 'flights', key: 'route/JFK:LHR', count: 5_000, error: 12, misses: 40, ttlMs: 300_000 },
    { namespace: 'llm', key: '<img src=x onerror=alert(1)>', count: 900, error: 0, misses: 900 },
  ],
  topKeysSince: Date.UTC(2026, 11, 2, 8, 0),
  largestEntries: [{ namespace: 'llm', key: 'report/2026', bytes: 921_600, at: Date.UTC(2026, 11, 2, 12, 0) }],
  suggestions: [
    { code: 'expired-short-ttl', severity: 'warning', message: 'Keys of flights are often missed as expired: their ttl (5 s) may be too short.', namespace: 'flights', key: 'route/JFK:LHR' },
    { code: 'circuit-flapping', severity: 'warning', message: 'The circuit of L2 opened 4 times in the range.', tier: 'l2' },
    { code: 'oversized-entries', severity: 'info', message: 'An entry of 900 KiB is close to the 1 MiB limit.', namespace: 'llm', key: 'report/2026' },
  ],
} as const
