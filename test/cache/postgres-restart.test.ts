import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/index.js'
import { type PostgresProcess, postgresBinaries, startPostgresServer } from '../helpers/postgres-server.js'

// PostgreSQL killed under load (SIGKILL of the postmaster: its orphaned backends answer late, or
// with 57P01 many seconds later) and restarted: callers never see an error, and L3 serves again
// soon after the server accepts connections. The time it takes is printed, not asserted tightly:
// 0.4 to 1.6 s on a 2-core machine at load 3 to 12 (openFor 500 ms: the probe's wait is part of
// it), where it took 3 s to over 20 s before the pool was renewed on lost connections. The bound
// below only catches a circuit that stays open for periods on end.
const OUTAGE_MS = 3_000
const OPEN_FOR_MS = 500
/** Generous: the circuit's wait, a connection, the replay of the missed removals, on a loaded machine. */
const RECOVERY_BOUND_MS = 5_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: PostgresProcess
beforeAll(async () => {
  server = await startPostgresServer()
}, 30_000)
afterAll(async () => {
  await server?.stop()
})

/** Runs reads, writes and removals until `stop` is set, collecting what callers saw fail. */
function load(cache: Cache, workers: number): { stop: () => Promise<number>; errors: unknown[] } {
  const errors: unknown[] = []
  let running = true
  let operations = 0
  const worker = async (id: number) => {
    for (let i = 0; running; i++) {
      const key = `k${(id * 7919 + i) % 500}`
      try {
        if (i % 4 === 0) await cache.delete(key)
        else if (i % 4 === 1) await cache.set(key, i, { tags: [`t${i % 10}`] })
        else if (i % 16 === 2) await cache.invalidateTags([`t${i % 10}`])
        else await cache.getOrSet(key, () => i)
      } catch (error) {
        errors.push(error)
      }
      operations++
      if (i % 8 === 0) await sleep(1)
    }
  }
  const done = Promise.all(Array.from({ length: workers }, (_, id) => worker(id)))
  return {
    errors,
    async stop() {
      running = false
      await done
      return operations
    },
  }
}

/** Resolves the ms from now until a write and a read both go through L3 (no L1: the read must come from it). */
async function untilL3Serves(cache: Cache, deadlineMs: number): Promise<number> {
  const started = performance.now()
  for (let i = 0; performance.now() - started < deadlineMs; i++) {
    await cache.set(`probe${i}`, i)
    if ((await cache.getWithInfo(`probe${i}`))?.source === 'l3') return performance.now() - started
    await sleep(10)
  }
  return Number.POSITIVE_INFINITY
}

describe.skipIf(postgresBinaries() === undefined)('PostgreSQL killed under load and restarted', () => {
  it('no caller sees an error, and L3 serves again within seconds of the server accepting connections', async () => {
    const cache = createCache({
      l1: false,
      l3: { postgres: server.url },
      circuitBreaker: { failureThreshold: 3, openFor: OPEN_FOR_MS },
    })
    const events: string[] = []
    const t0 = performance.now()
    const stamp = () => `${Math.round(performance.now() - t0)}ms`
    cache.on('circuit:change', ({ state }) => events.push(`${stamp()} circuit ${state}`))
    cache.on('tier:error', ({ operation, error }) => {
      const { code, cause } = error as { code?: string; cause?: { code?: string; message?: string } }
      events.push(`${stamp()} ${operation} ${code ?? ''} ${cause?.code ?? ''} ${(cause?.message ?? String(error)).slice(0, 60)}`)
    })
    cache.on('repair:widened', ({ missed, namespaces }) => events.push(`${stamp()} widened ${missed} ${namespaces.join()}`))
    try {
      expect(await untilL3Serves(cache, 10_000)).toBeLessThan(10_000) // migrated, warm
      const running = load(cache, 8)
      await sleep(500)
      events.push(`${stamp()} kill`)
      await server.kill()
      await sleep(OUTAGE_MS)
      await server.restart()
      events.push(`${stamp()} accepting`)
      const recoveryMs = await untilL3Serves(cache, 20_000)
      events.push(`${stamp()} L3 serves`)
      await sleep(500) // a little more load with L3 back
      const operations = await running.stop()
      console.log(`L3 served again ${Math.round(recoveryMs)} ms after PostgreSQL accepted connections (${operations} operations)`)
      if (recoveryMs >= RECOVERY_BOUND_MS) console.log(events.slice(-40).join('\n'))
      expect(running.errors).toEqual([])
      expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS)
      // L3 stays in use: reads after the recovery do not stall on connections of the old server.
      const started = performance.now()
      for (let i = 0; i < 20; i++) expect((await cache.getWithInfo(`probe-after${i}`, {}))?.source).toBeUndefined()
      expect(performance.now() - started).toBeLessThan(RECOVERY_BOUND_MS)
    } finally {
      await cache.close()
    }
  }, 60_000)
})
