// What this proves: read-through is single flight ACROSS PROCESSES. Four real worker processes share
// one Redis (L2, bus, lock) and one PostgreSQL (L3). 1,000 concurrent getOrSet calls for one cold key,
// 250 per process, all started at the same wall-clock instant, run the factory (~100 ms) exactly once
// in total, and every caller in every process gets that one result (each factory call returns a
// unique value, so equal values mean one shared result, not four equal ones). Repeated for three
// cold keys so that a lucky interleaving cannot pass it.
//
// Needs the shared test Redis (TIERCACHE_TEST_REDIS_URL) and PostgreSQL (TIERCACHE_TEST_POSTGRES_URL).
// Isolation: a Redis prefix and a cache namespace of this test's own; nothing is flushed.
import { afterEach, describe, expect, it } from 'vitest'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { killAllWorkers, startWorkers, uniqueName } from './workers.js'

const PROCESSES = 4
const CALLS_PER_PROCESS = 250
const FACTORY_MS = 100

afterEach(killAllWorkers)

describe('single flight across processes (real Redis and PostgreSQL)', () => {
  it('runs the factory once for 1,000 concurrent calls spread over 4 processes, for each of 3 cold keys', async () => {
    const prefix = uniqueName('sf')
    const namespace = uniqueName('sf')
    const workers = await startWorkers(PROCESSES, () => ({
      cache: { namespace, l2: { redis: TEST_REDIS_URL, prefix }, l3: { postgres: TEST_POSTGRES_URL } },
    }))

    for (const key of ['cold-a', 'cold-b', 'cold-c']) {
      // The command reaches every worker well before startAt; each fires its 250 calls at that instant.
      const startAt = performance.timeOrigin + performance.now() + 200
      const results = await Promise.all(
        workers.map((worker) => worker.call({ op: 'getOrSet', key, n: CALLS_PER_PROCESS, factoryMs: FACTORY_MS, startAt })),
      )

      const errors = results.flatMap((result) => result.errors)
      expect(errors, `calls that failed for ${key}`).toEqual([])
      const factoryCalls = results.map((result) => result.factoryCalls)
      expect(factoryCalls.reduce((sum, n) => sum + n, 0), `factory calls per process for ${key}: ${factoryCalls.join(', ')}`).toBe(1)
      const values = results.flatMap((result) => result.values)
      expect(values).toHaveLength(PROCESSES * CALLS_PER_PROCESS)
      expect(new Set(values).size, `distinct values for ${key}`).toBe(1)
      expect(values[0]).toMatch(new RegExp(`^${key}\\|`))
    }
  }, 90_000)
})
