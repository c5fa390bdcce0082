import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { logCacheEvents } from '../../src/server/cache-events.js'
import { Episodes, type EpisodeSummary } from '../../src/server/episodes.js'
import { ControlledTier, FakeClock, cacheOver, sleep } from '../helpers/cache.js'

interface Line {
  readonly level: number
  readonly msg: string
  readonly event?: string
  readonly failures?: number
}

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line)
      callback()
    },
  })
  return { log: pino({ level: 'info' }, stream), lines }
}

/** pino writes synchronously to a Writable only after a tick; wait for the stream, not for time. */
const flushed = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Episodes', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reports the first failure of an episode, counts the rest, and sums them up when it goes quiet', () => {
    vi.useFakeTimers()
    const started: string[] = []
    const ended: [string, EpisodeSummary][] = []
    const episodes = new Episodes<number>({ quietMs: 1000, started: (id) => started.push(id), ended: (id, summary) => ended.push([id, summary]) })
    episodes.failure('l3', 1)
    vi.advanceTimersByTime(600)
    episodes.failure('l3', 2) // restarts the quiet period
    vi.advanceTimersByTime(600)
    episodes.failure('l3', 3)
    expect(started).toEqual(['l3'])
    expect(ended).toEqual([])
    vi.advanceTimersByTime(1000)
    expect(ended).toEqual([['l3', { failures: 3, lastedMs: 1200, how: 'quiet' }]])
    episodes.failure('l3', 4)
    expect(started).toEqual(['l3', 'l3']) // a new episode
  })

  it('closes an episode when its owner ends it, and never twice', () => {
    vi.useFakeTimers()
    const ended: EpisodeSummary[] = []
    const episodes = new Episodes<number>({ quietMs: 1000, started: () => {}, ended: (_, summary) => ended.push(summary) })
    episodes.failure('l2', 1)
    episodes.end('l2')
    vi.advanceTimersByTime(5000)
    episodes.end('l2')
    expect(ended).toEqual([{ failures: 1, lastedMs: 0, how: 'ended' }])
  })

  it('opens at most maxOpen episodes', () => {
    const started: string[] = []
    const episodes = new Episodes<number>({ maxOpen: 2, started: (id) => started.push(id), ended: () => {} })
    for (const id of ['a', 'b', 'c']) episodes.failure(id, 0)
    expect(started).toEqual(['a', 'b'])
    episodes.stop()
    expect(episodes.isOpen('a')).toBe(false)
  })
})

describe('logCacheEvents', () => {
  it('logs a failing tier once, then once more when its circuit closes, with the count', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: { failureThreshold: 3, openFor: 30 } }, undefined, clock.now)
    const { log, lines } = capturingLog()
    const stop = logCacheEvents(cache, log)
    try {
      l3.failing = true
      for (let i = 0; i < 5; i++) await cache.get(`k${i}`) // three failures open the circuit; two are skipped
      l3.failing = false
      clock.advance(30)
      await cache.get('k') // the probe succeeds: closed
      await flushed()
      const events = lines.map((line) => line.event)
      expect(events.filter((event) => event === 'tier:error')).toHaveLength(1)
      expect(events).toContain('circuit:change')
      const recovered = lines.filter((line) => line.event === 'tier:recovered')
      expect(recovered).toHaveLength(1)
      expect(recovered[0]?.failures).toBe(3)
    } finally {
      stop()
      await cache.close()
    }
  })

  it('logs a failing origin once per namespace, not per call', async () => {
    const { cache } = cacheOver(undefined)
    const { log, lines } = capturingLog()
    const stop = logCacheEvents(cache, log)
    try {
      const failing = () => Promise.reject(new Error('origin down'))
      for (let i = 0; i < 4; i++) await expect(cache.namespace('flights').getOrSet(`k${i}`, failing)).rejects.toThrow()
      await expect(cache.namespace('weather').getOrSet('k', failing)).rejects.toThrow()
      await flushed()
      const failures = lines.filter((line) => line.event === 'factory:error').map((line) => line.msg)
      expect(failures).toHaveLength(2)
      expect(failures[0]).toContain('flights')
      expect(failures[1]).toContain('weather')
    } finally {
      stop()
      await cache.close()
    }
  })

  it('logs slow origin calls once per namespace, and once more when a call is fast again', async () => {
    const { cache } = cacheOver(undefined)
    const { log, lines } = capturingLog()
    const stop = logCacheEvents(cache, log, { slowOriginMs: 50 })
    try {
      // Slow by what it measures: the call's own duration.
      const slow = () => sleep(60).then(() => 'late')
      const flights = cache.namespace('flights')
      for (let i = 0; i < 3; i++) await flights.getOrSet(`slow${i}`, slow)
      await flights.getOrSet('fast', () => 'at once')
      await flushed()
      const slowLines = lines.filter((line) => line.event === 'origin:slow')
      expect(slowLines).toHaveLength(1)
      expect(slowLines[0]?.msg).toContain('flights')
      const fastAgain = lines.filter((line) => line.event === 'origin:fast') as (Line & { slowCalls?: number })[]
      expect(fastAgain).toHaveLength(1)
      expect(fastAgain[0]?.slowCalls).toBe(3)
    } finally {
      stop()
      await cache.close()
    }
  })
})
