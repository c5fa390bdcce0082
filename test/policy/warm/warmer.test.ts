// The Warmer: runs by id with their status, a job never overlapping itself, owners, the bounded
// memory of finished runs, close; the cron schedule driven by a clock of the test's own (no
// sleeps); hot keys counted from a cache's lookups and re-warmed through the job's source.
import { afterEach, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../../src/index.js'
import { parsePolicyConfig } from '../../../src/policy/config.js'
import { CronScheduler, type SchedulerClock, Warmer, type WarmSourceContext, trackHotKeys } from '../../../src/policy/warm/index.js'
import { gate } from '../../helpers/cache.js'

const caches: Cache[] = []
const warmers: Warmer[] = []
afterEach(async () => {
  await Promise.all(warmers.splice(0).map((warmer) => warmer.close()))
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

function memoryCache(): Cache {
  const cache = createCache({ l3: false })
  caches.push(cache)
  return cache
}

/** Timers that fire only when the test moves the clock. */
class ManualClock implements SchedulerClock {
  private timers: { at: number; callback: () => void; id: number }[] = []
  private ids = 0
  constructor(public ms: number) {}
  now = () => this.ms
  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = ++this.ids
    this.timers.push({ at: this.ms + ms, callback, id })
    return id
  }
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((timer) => timer.id !== handle)
  }
  get pending(): number {
    return this.timers.length
  }
  /** Moves to `ms`, firing every timer due on the way, in order. */
  advanceTo(ms: number): void {
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= ms).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.timers = this.timers.filter((timer) => timer !== due)
      this.ms = Math.max(this.ms, due.at)
      due.callback()
    }
    this.ms = ms
  }
}

/** A source that holds every call until `release`, and counts them. */
function heldSource() {
  const release = gate()
  const calls: string[] = []
  return {
    calls,
    release: release.open,
    source: async ({ key }: WarmSourceContext) => {
      calls.push(key)
      await release.promise
      return key.toUpperCase()
    },
  }
}

describe('a warmer', () => {
  it('starts a declared job, shows its progress by id, and joins it instead of overlapping it', async () => {
    const cache = memoryCache()
    const held = heldSource()
    const config = parsePolicyConfig({ warm: { jobs: { letters: { source: held.source, keys: ['a', 'b'] } } } })
    const warmer = new Warmer(cache, config)
    warmers.push(warmer)
    const first = warmer.start('letters')
    const second = warmer.start('letters')
    expect(first.joined).toBe(false)
    expect(second).toMatchObject({ id: first.id, joined: true })
    expect(warmer.status(first.id)).toMatchObject({ job: 'letters', state: 'running', trigger: 'request', progress: { done: 0, total: 2 } })
    // Named keys are a run of their own.
    const named = warmer.start('letters', { keys: ['c'] })
    expect(named.id).not.toBe(first.id)
    held.release()
    const report = await first.done
    expect(report).toMatchObject({ loaded: 2, failed: 0 })
    expect((await named.done).loaded).toBe(1)
    expect(held.calls.sort()).toEqual(['a', 'b', 'c'])
    expect(warmer.status(first.id)).toMatchObject({ state: 'done', progress: { done: 2, total: 2, loaded: 2 }, report: { loaded: 2 } })
    expect(await cache.get('c')).toBe('C')
    // Once ended, a start is a new run.
    expect(warmer.start('letters').id).not.toBe(first.id)
  })

  it('refuses a job not declared, and keys the job has no source for, with their codes', () => {
    const cache = memoryCache()
    const warmer = new Warmer(cache, parsePolicyConfig({ warm: { jobs: { listed: { keys: [{ key: 'a', source: () => 1 }] } } } }))
    warmers.push(warmer)
    expect(() => warmer.start('nope')).toThrow(expect.objectContaining({ code: 'TC_UNKNOWN_WARM_JOB', message: expect.stringMatching(/jobs: listed/) }))
    expect(() => warmer.start('listed', { keys: ['b'] })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    // A listed key has its own source.
    expect(() => warmer.start('listed', { keys: ['a'] })).not.toThrow()
  })

  it('shows a run only to its owner, and forgets the oldest finished runs past maxRuns', async () => {
    const cache = memoryCache()
    const warmer = new Warmer(cache, parsePolicyConfig({ warm: { jobs: { j: { source: ({ key }: WarmSourceContext) => key, keys: ['a'] } } } }), { maxRuns: 2 })
    warmers.push(warmer)
    const acme = warmer.start('j', { owner: 'acme' })
    const globex = warmer.start('j', { owner: 'globex' })
    // Each owner's whole-job run is its own.
    expect(globex.joined).toBe(false)
    await Promise.all([acme.done, globex.done])
    expect(warmer.status(acme.id, 'acme')?.state).toBe('done')
    expect(warmer.status(acme.id, 'globex')).toBeUndefined()
    expect(warmer.status(acme.id)).toBeUndefined()
    await warmer.start('j', { owner: 'acme' }).done
    expect(warmer.status(acme.id, 'acme')).toBeUndefined()
    expect(warmer.status(globex.id, 'globex')?.state).toBe('done')
  })

  it('stops its runs on close: running sources aborted, the rest skipped, and refuses new ones', async () => {
    const cache = memoryCache()
    const aborted: string[] = []
    const source = ({ key, signal }: WarmSourceContext) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => (aborted.push(key), reject(new Error('stopped')))))
    const warmer = new Warmer(cache, parsePolicyConfig({ warm: { jobs: { j: { concurrency: 1, source, keys: ['a', 'b', 'c'] } } } }))
    const run = warmer.start('j')
    await warmer.close()
    expect(aborted).toEqual(['a'])
    expect(run.status()).toMatchObject({ state: 'stopped', report: { total: 3, failed: 1, skipped: 2, stopped: true } })
    expect(() => warmer.start('j')).toThrow(expect.objectContaining({ code: 'TC_CACHE_CLOSED' }))
  })

  it('closes at once even while a source ignores its signal (and its 30 s timeout is far off)', async () => {
    const cache = memoryCache()
    const warmer = new Warmer(cache, parsePolicyConfig({ warm: { jobs: { j: { source: () => new Promise(() => {}), keys: ['a'] } } } }))
    const run = warmer.start('j')
    await warmer.close()
    expect(run.status()).toMatchObject({ state: 'stopped', report: { failed: 1, failures: [{ key: 'a', code: 'TC_FACTORY_ERROR' }] } })
  })
})

describe('the schedule', () => {
  const T0 = Date.parse('2026-03-01T00:02:00Z')

  it('computes the next runs with croner, in the time zone of the job', () => {
    const clock = new ManualClock(T0)
    const fired: [string, number][] = []
    const scheduler = new CronScheduler(
      [
        { name: 'every5', schedule: '*/5 * * * *' },
        { name: 'london3am', schedule: '0 3 * * *', timezone: 'Europe/London' },
        { name: 'seconds', schedule: '*/10 * * * * *' },
      ],
      (name, at) => fired.push([name, at]),
      clock,
    )
    expect(new Date(scheduler.nextRun('every5')!).toISOString()).toBe('2026-03-01T00:05:00.000Z')
    // March 1: London is on GMT.
    expect(new Date(scheduler.nextRun('london3am')!).toISOString()).toBe('2026-03-01T03:00:00.000Z')
    expect(new Date(scheduler.nextRun('seconds')!).toISOString()).toBe('2026-03-01T00:02:10.000Z')
    clock.advanceTo(Date.parse('2026-03-01T00:10:00Z'))
    expect(fired.filter(([name]) => name === 'every5').map(([, at]) => new Date(at).toISOString())).toEqual(['2026-03-01T00:05:00.000Z', '2026-03-01T00:10:00.000Z'])
    // 00:02:10 to 00:10:00, every 10 s.
    expect(fired.filter(([name]) => name === 'seconds')).toHaveLength(48)
    scheduler.stop()
    expect(clock.pending).toBe(0)
  })

  it('reaches a run further away than a timer can wait in steps, firing it once, on time', () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
    const fired: number[] = []
    new CronScheduler([{ name: 'yearly', schedule: '0 0 1 6 *' }], (_, at) => fired.push(at), clock)
    clock.advanceTo(Date.parse('2026-05-31T23:59:59Z'))
    expect(fired).toEqual([])
    clock.advanceTo(Date.parse('2026-06-01T00:00:00Z'))
    expect(fired).toEqual([Date.parse('2026-06-01T00:00:00Z')])
  })

  it('runs a declared job at its times, joining a run still going on rather than overlapping it, until close', async () => {
    const cache = memoryCache()
    const held = heldSource()
    const ended: string[] = []
    const config = parsePolicyConfig({
      warm: { jobs: { every5: { schedule: '*/5 * * * *', source: held.source, keys: ['a'] }, manual: { source: held.source, keys: ['m'] } } },
    })
    const runEnded = gate()
    const warmer = new Warmer(cache, config, {
      onRunEnd: (status) => {
        ended.push(`${status.job}:${status.trigger}:${status.state}`)
        runEnded.open()
      },
    })
    warmers.push(warmer)
    const clock = new ManualClock(T0)
    expect(warmer.schedule(clock)).toEqual({ every5: Date.parse('2026-03-01T00:05:00Z') })
    clock.advanceTo(Date.parse('2026-03-01T00:05:00Z'))
    expect(held.calls).toEqual(['a'])
    // The 00:10 time comes while the 00:05 run still waits on its source: no second run.
    clock.advanceTo(Date.parse('2026-03-01T00:10:00Z'))
    expect(held.calls).toEqual(['a'])
    held.release()
    await runEnded.promise
    await warmer.close()
    expect(ended).toEqual(['every5:schedule:done'])
    clock.advanceTo(Date.parse('2026-03-01T01:00:00Z'))
    expect(held.calls).toEqual(['a'])
    expect(clock.pending).toBe(0)
  })
})

describe('hot keys', () => {
  it('counts lookups per namespace and re-warms the busiest through the job source, matching its pattern', async () => {
    const cache = memoryCache()
    const hot = trackHotKeys(cache, { capacity: 50 })
    const flights = cache.namespace('flights')
    for (let i = 0; i < 5; i++) await flights.get('flight:BA117')
    for (let i = 0; i < 3; i++) await flights.get('flight:LH400')
    await flights.get('flight:AF1')
    for (let i = 0; i < 9; i++) await flights.get('search:paris')
    for (let i = 0; i < 9; i++) await cache.namespace('other').get('flight:XX1')
    expect(hot.hotKeys(flights, 3)).toEqual(['search:paris', 'flight:BA117', 'flight:LH400'])
    hot.stop()
    const loaded: string[] = []
    const config = parsePolicyConfig({
      warm: { jobs: { flights: { namespace: 'flights', source: ({ key }: WarmSourceContext) => (loaded.push(key), `status of ${key}`), hot: { top: 2, match: 'flight:*' } } } },
    })
    const warmer = new Warmer(cache, config, { hotKeys: hot })
    warmers.push(warmer)
    const report = await warmer.run('flights')
    expect(report).toMatchObject({ total: 2, loaded: 2 })
    expect(loaded).toEqual(['flight:BA117', 'flight:LH400'])
    expect(await flights.get('flight:BA117')).toBe('status of flight:BA117')
    expect(await cache.namespace('other').get('flight:XX1')).toBeUndefined()
  })
})
