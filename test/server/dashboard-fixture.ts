/**
 * A `GET /v1/stats` answer with every panel of the dashboard filled, and the states a live server
 * rarely shows (an open circuit, a deaf bus, warnings), for rendering the page without a workload.
 */

const STEP = 60_000
const TO = Date.UTC(2026, 11, 2, 12, 30, 20)
const FIRST = Date.UTC(2026, 11, 2, 11, 31)
const t = Array.from({ length: 60 }, (_, i) => FIRST + i * STEP)
const wave = (i: number) => 0.5 + 0.5 * Math.sin(i / 6)

export const statsFixture = {
  scope: { tenant: 'acme' },
  range: '1h',
  from: TO - 3_600_000,
  to: TO,
  stepMs: STEP,
  instances: 2,
  totals: {
    requests: 123_456,
    hits: 101_000,
    hitRatio: 101_000 / 123_456,
    staleHits: 321,
    misses: { absent: 15_000, expired: 5_000, invalidated: 1_200, evicted: 800, unavailable: 90, suspended: 30, unreadable: 2, bypassed: 13 },
    tiers: {
      l1: { hits: 80_000, misses: 43_456, hitRatio: 80_000 / 123_456, latency: { p50: 0.000_004, p95: 0.000_012, p99: 0.000_05 } },
      l2: { hits: 15_000, misses: 28_456, hitRatio: 15_000 / 43_456, latency: { p50: 0.000_4, p95: 0.001_7, p99: 0.004 } },
      l3: { hits: 6_000, misses: 22_456, hitRatio: 6_000 / 28_456, latency: { p50: 0.002, p95: 0.012, p99: 0.07 } },
    },
    getOrSet: { latency: { p50: 0.000_01, p95: 0.003, p99: 0.25 } },
    origin: { calls: 22_100, errors: 40, timeouts: 5, saved: 98_000, costSaved: [{ unit: 'USD', amount: 49 }, { unit: 'tokens', amount: 1_250_000 }], latency: { p50: 0.08, p95: 0.4, p99: 1.5 } },
    writes: 22_400,
    deletes: 120,
    invalidations: 37,
    evictions: 800,
    coalesced: 410,
    errors: 95,
  },
  namespaces: [
    { namespace: 'flights', requests: 100_000, hits: 90_000, hitRatio: 0.9, originCalls: 10_000, saved: 88_000, costSaved: [{ unit: 'USD', amount: 44 }] },
    { namespace: 'llm', requests: 20_000, hits: 9_000, hitRatio: 0.45, originCalls: 11_000, saved: 9_000, costSaved: [{ unit: 'tokens', amount: 1_250_000 }] },
    { namespace: 'users', requests: 3_456, hits: 2_000, hitRatio: 2_000 / 3_456, originCalls: 1_100, saved: 1_000, costSaved: [] },
  ],
  series: {
    t,
    // The last step is 20 s into its minute: a third of a full one.
    requests: t.map((_, i) => Math.round((1500 + 1000 * wave(i)) * (i === 59 ? 1 / 3 : 1))),
    hitRatio: {
      overall: t.map((_, i) => 0.75 + 0.1 * wave(i)),
      l1: t.map((_, i) => 0.6 + 0.1 * wave(i)),
      l2: t.map((_, i) => (i === 30 ? null : 0.3 + 0.05 * wave(i))),
      l3: t.map((_, i) => 0.2 + 0.02 * wave(i)),
    },
    latencyP95: { getOrSet: t.map((_, i) => 0.002 + 0.002 * wave(i)) },
    originCalls: t.map((_, i) => Math.round((300 + 200 * wave(i)) * (i === 59 ? 1 / 3 : 1))),
    costSaved: t.map(() => 0.8),
  },
  now: {
    tiers: {
      l1: { kind: 'memory', entries: 9_876, bytes: 12_345_678, healthy: true },
      l2: { kind: 'redis', entries: 54_321, circuit: 'open', healthy: false },
      l3: { kind: 'postgres', entries: 1_234_567, bytes: 987_654_321, circuit: 'closed', healthy: true },
    },
    bus: { listening: false },
  },
  topKeys: [
    { namespace: 'flights', key: 'route/JFK:LHR', count: 5_000, error: 12 },
    { namespace: 'llm', key: '<img src=x onerror=alert(1)>', count: 900, error: 0 },
  ],
  suggestions: [
    { code: 'short-ttl', severity: 'warning', message: 'Keys of flights are often missed as expired: their ttl (5 s) may be too short.', namespace: 'flights' },
    { code: 'circuit-flapping', severity: 'warning', message: 'The circuit of L2 opened 12 times in the last hour.' },
    { code: 'oversized', severity: 'info', message: 'An entry of 900 KiB is close to the 1 MiB limit.', namespace: 'llm', key: 'report/2026' },
  ],
} as const
