// What this proves: invalidateTags in one process reaches every other process, and fast.
// Four real worker processes share one Redis (L2 and bus) and one PostgreSQL (L3). Each holds a
// tagged value in its L1 (checked: served from `l1`) and polls it in a tight loop (setImmediate);
// then one process invalidates the tag.
//
// - Acceptance: every process refuses the value (`get` resolves undefined) within 1 s of
//   invalidateTags returning, never serves it again (checked for 50 ms after, then with a read
//   through every tier from every process), and the invalidation window (invalidateTags returned in
//   the invalidating process -> the LAST process refused the value) is measured and printed.
// - Bus delivery: every process drops its L1 copy within 1 s of invalidateTags returning; the
//   window (-> the last process stopped serving from L1) is measured and printed. This is the part
//   of the acceptance test that the bus alone is responsible for.
//
// Times are wall clocks comparable across processes (performance.timeOrigin + performance.now()).
// A negative window means every process was done before invalidateTags had even returned. The
// pollers compete for the CPU with the invalidating process and the servers, which inflates the
// figures on a small machine.
//
// Needs the shared test Redis and PostgreSQL; a Redis prefix and a namespace of this test's own.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type Worker, killAllWorkers, percentile, startWorkers, uniqueName } from './workers.js'

const PROCESSES = 4
const REPETITIONS = 20
/** Longest any process may keep serving an invalidated value after invalidateTags returned. */
const MAX_WINDOW_MS = 1_000
/** How long each process keeps polling after the watch ended, to catch the value coming back. */
const HOLD_MS = 50

let workers: Worker[] = []
beforeAll(async () => {
  const prefix = uniqueName('inv')
  const namespace = uniqueName('inv')
  workers = await startWorkers(PROCESSES, () => ({
    cache: { namespace, l2: { redis: TEST_REDIS_URL, prefix }, l3: { postgres: TEST_POSTGRES_URL } },
  }))
}, 90_000)
afterAll(killAllWorkers)

/** Reads `key` in `worker` until it is served from L1 (it may first come from L2/L3 and be backfilled). */
async function holdInL1(worker: Worker, key: string, value: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const got = await worker.call({ op: 'get', key })
      expect(got).toEqual({ value, source: 'l1' })
    },
    { timeout: 3_000, interval: 20 },
  )
}

interface Round {
  /** Per process, when its watch ended, and how often it served the value again after. */
  watched: { pid: number; endedAt: number; servedAgain: number }[]
  startedAt: number
  returnedAt: number
}

/** One round: a tagged value in every L1, every process watching it, one process invalidating its tag. */
async function invalidateWhileWatched(round: string, i: number, until: 'miss' | 'not-l1'): Promise<Round> {
  const key = `${round}-k${i}`
  const tag = `${round}-t${i}`
  const value = `${round}-v${i}`
  const invalidator = workers[i % PROCESSES] as Worker
  await (workers[(i + 1) % PROCESSES] as Worker).call({ op: 'set', key, value, tags: [tag] })
  for (const worker of workers) await holdInL1(worker, key, value)

  await Promise.all(workers.map((worker) => worker.call({ op: 'watch', key, until })))
  const { startedAt, returnedAt } = await invalidator.call({ op: 'invalidate', tags: [tag] })
  const watched = await Promise.all(
    workers.map(async (worker) => {
      const role = worker === invalidator ? 'the invalidating process' : 'another process'
      const result = await worker.call({ op: 'watchResult', key, timeoutMs: 5_000, holdMs: HOLD_MS }).catch((error: Error) => {
        throw new Error(`${role} (${error.message})`)
      })
      return { pid: worker.pid, ...result }
    }),
  )
  return { watched, startedAt, returnedAt }
}

function summary(title: string, rounds: readonly Round[]): string {
  const last = (round: Round) => Math.max(...round.watched.map(({ endedAt }) => endedAt))
  const fmt = (values: number[]) =>
    `p50 ${percentile(values, 50).toFixed(2)} ms, p90 ${percentile(values, 90).toFixed(2)} ms, ` +
    `max ${Math.max(...values).toFixed(2)} ms, min ${Math.min(...values).toFixed(2)} ms`
  return [
    `${title} (${rounds.length} repetitions, ${PROCESSES} processes):`,
    `  invalidateTags returned -> last process done: ${fmt(rounds.map((r) => last(r) - r.returnedAt))}`,
    `  invalidateTags called   -> last process done: ${fmt(rounds.map((r) => last(r) - r.startedAt))}`,
    `  invalidateTags call duration:                 ${fmt(rounds.map((r) => r.returnedAt - r.startedAt))}`,
  ].join('\n')
}

describe('tag invalidation across processes (real Redis and PostgreSQL)', () => {
  // What this proves rests on the engine's removal order: shared tiers cleaned slowest first, the
  // invalidation recorded again and L1 cleared again, and only then the bus message. Publishing
  // alongside the removals let another process re-read the row from PostgreSQL before the DELETE
  // committed, and write it back into its L1 and into Redis.
  it(`every process refuses an invalidated value within ${MAX_WINDOW_MS} ms, and never serves it again`, async () => {
    const rounds: Round[] = []
    for (let i = 0; i < REPETITIONS; i++) {
      const round = await invalidateWhileWatched('refuse', i, 'miss')
      const key = `refuse-k${i}`
      for (const { pid, endedAt, servedAgain } of round.watched) {
        expect(endedAt - round.returnedAt, `process ${pid}: ms from invalidateTags returning to refusing ${key}`).toBeLessThan(MAX_WINDOW_MS)
        expect(servedAgain, `process ${pid}: reads that served ${key} again after refusing it`).toBe(0)
      }
      // Gone from every tier, as seen from every process.
      for (const worker of workers) expect(await worker.call({ op: 'get', key }), `${key} in process ${worker.pid}`).toEqual({ value: undefined, source: undefined })
      rounds.push(round)
    }
    console.log(summary('invalidation window: until every process refuses the value', rounds))
  }, 90_000)

  it(`every process drops its L1 copy within ${MAX_WINDOW_MS} ms`, async () => {
    const rounds: Round[] = []
    for (let i = 0; i < REPETITIONS; i++) {
      const round = await invalidateWhileWatched('drop', i, 'not-l1')
      for (const { pid, endedAt } of round.watched) {
        expect(endedAt - round.returnedAt, `process ${pid}: ms from invalidateTags returning to dropping drop-k${i} from L1`).toBeLessThan(MAX_WINDOW_MS)
      }
      rounds.push(round)
    }
    console.log(summary('bus delivery window: until every process stopped serving its L1 copy', rounds))
  }, 90_000)
})
