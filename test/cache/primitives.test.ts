import { describe, expect, it } from 'vitest'
import { CircuitBreaker } from '../../src/cache/circuit-breaker.js'
import { toMs } from '../../src/core/duration.js'
import { InvalidationLog } from '../../src/cache/invalidation-log.js'

describe('toMs', () => {
  it.each([
    [250, 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
    [' 2s ', 2000],
  ])('reads %j as %d ms', (input, ms) => {
    expect(toMs(input)).toBe(ms)
  })

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['5'], ['5 weeks'], ['-5s'], [''], ['101y'], [1e15]])(
    'rejects %j',
    (input) => {
      expect(() => toMs(input as number | string)).toThrow(expect.objectContaining({ code: 'TC_INVALID_DURATION' }))
    },
  )
})

describe('CircuitBreaker', () => {
  it('opens after the threshold, lets one probe through after the wait, and closes on success', () => {
    let now = 0
    const states: string[] = []
    const breaker = new CircuitBreaker(2, 100, (state) => states.push(state), () => now)
    breaker.failure()
    expect(breaker.allow()).toBe(true)
    breaker.failure()
    expect(breaker.allow()).toBe(false)
    now = 100
    expect(breaker.allow()).toBe(true) // the probe
    expect(breaker.allow()).toBe(false) // only one
    breaker.success()
    expect(breaker.allow()).toBe(true)
    expect(states).toEqual(['open', 'half-open', 'closed'])
  })

  it('reopens when the probe fails', () => {
    let now = 0
    const breaker = new CircuitBreaker(1, 100, () => {}, () => now)
    breaker.failure()
    now = 150
    expect(breaker.allow()).toBe(true)
    breaker.failure()
    expect(breaker.state).toBe('open')
    now = 200
    expect(breaker.allow()).toBe(false)
  })
})

describe('InvalidationLog', () => {
  it('flags what was invalidated after an operation began, and nothing before', () => {
    const log = new InvalidationLog()
    const other = log.begin()
    log.tagged(['early'], 'ns')
    const since = log.begin()
    expect(log.isOutdated(since, 'ns', 'k', ['early'])).toBe(false)
    log.tagged(['t'], 'ns')
    expect(log.isOutdated(since, 'ns', 'k', ['t'])).toBe(true)
    expect(log.isOutdated(since, 'other', 'k', ['t'])).toBe(false)
    log.tagged(['everywhere'], undefined)
    expect(log.isOutdated(since, 'other', 'k', ['everywhere'])).toBe(true)
    log.key('ns', 'k2')
    expect(log.isOutdated(since, 'ns', 'k2', [])).toBe(true)
    log.cleared('ns3')
    expect(log.isOutdated(since, 'ns3', 'any', [])).toBe(true)
    expect(log.isOutdated(other, 'ns', 'k', ['early'])).toBe(true)
    log.end()
    log.end()
  })

  it('keeps nothing once no operation is in progress', () => {
    const log = new InvalidationLog()
    log.tagged(['t'], 'ns')
    const since = log.begin()
    expect(log.isOutdated(since, 'ns', 'k', ['t'])).toBe(false)
    log.end()
    log.key('ns', 'k')
    const later = log.begin()
    expect(log.isOutdated(later, 'ns', 'k', [])).toBe(false)
    log.end()
  })
})
