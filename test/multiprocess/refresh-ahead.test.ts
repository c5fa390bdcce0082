// What this proves: refresh ahead of expiry keeps a hot key from ever missing, with one origin call
// per refresh across processes, while cold keys expire as usual.
//
// Two real worker processes share one Redis (L2, bus and lock). Each reads a hot key every 5 ms and
// three cold keys every 1.5 ttl, for five ttls and more, all with refresh once half the ttl has
// passed. The hot key was loaded once before the traffic began.
//
// - The hot key: every read is a fresh hit (never the origin, never stale), and the origin was called
//   at most once per refresh period (threshold × ttl) across both processes: a second process that
//   finds the refresh under way, or already done, does not call it again (twice per period would
//   double the count). Every value the origin produced was served (no refresh was wasted), and
//   there were at least five refreshes.
// - Cold keys: read less often than their ttl, every read after the first is a miss: refresh ahead
//   does not keep alive what nobody reads while it is fresh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { wallTime } from '../fixtures/mp-protocol.js'
import { type Worker, killAllWorkers, startWorkers, uniqueName } from './workers.js'

const TTL_MS = 800
const THRESHOLD = 0.5
const TTLS = 6
const options = { ttl: TTL_MS, refresh: { threshold: THRESHOLD } }

let workers: Worker[] = []
beforeAll(async () => {
  const prefix = uniqueName('refresh')
  const namespace = uniqueName('refresh')
  workers = await startWorkers(2, () => ({ cache: { namespace, l2: { redis: TEST_REDIS_URL, prefix }, l3: false } }))
}, 90_000)
afterAll(killAllWorkers)

describe('refresh ahead of expiry across processes', () => {
  it('serves a hot key without a miss, with one origin call per refresh, while cold keys expire', async () => {
    const [a, b] = workers as [Worker, Worker]
    const hot = 'hot'
    // One read loads the hot key, with the traffic's ttl.
    const loaded = await a.call({ op: 'traffic', hot, cold: [], hotEveryMs: 60_000, coldEveryMs: 60_000, endAt: wallTime() + 50, options })
    expect(loaded.hotFactoryCalls).toBe(1)
    const startAt = wallTime()
    const endAt = startAt + TTLS * TTL_MS
    const traffic = (worker: Worker, cold: string[]) =>
      worker.call({ op: 'traffic', hot, cold, hotEveryMs: 5, coldEveryMs: TTL_MS * 1.5, endAt, options }, TTLS * TTL_MS + 15_000)
    const results = await Promise.all([traffic(a, ['cold-a1', 'cold-a2']), traffic(b, ['cold-b1'])])
    const elapsed = wallTime() - startAt

    for (const result of results) {
      expect(result.errors).toEqual([])
      expect(result.hotSources.origin ?? 0).toBe(0)
      expect(result.hotStale).toBe(0)
      expect(Object.keys(result.hotSources).every((source) => source === 'l1' || source === 'l2')).toBe(true)
    }
    const calls = results.reduce((sum, r) => sum + r.hotFactoryCalls, 0)
    const refreshPeriod = THRESHOLD * TTL_MS
    expect(calls).toBeGreaterThanOrEqual(5)
    expect(calls).toBeLessThanOrEqual(Math.ceil(elapsed / refreshPeriod) + 1)
    // Each origin call's value reached a reader (but the last, which may end after the traffic): no
    // refresh was thrown away.
    const refreshed = new Set(results.flatMap((r) => r.hotValues))
    refreshed.delete(loaded.hotValues[0] as string)
    expect(refreshed.size).toBeGreaterThanOrEqual(calls - 1)

    for (const result of results) expect(result.coldMisses).toBe(result.coldReads)
    expect(results[0]!.coldReads).toBeGreaterThanOrEqual(2 * 4)
  }, 60_000)
})
