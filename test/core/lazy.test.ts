import { describe, expect, it } from 'vitest'
import { DeferredBus, DeferredLock } from '../../src/bus/deferred.js'
import type { Bus } from '../../src/bus/bus.js'
import type { DistributedLock } from '../../src/bus/lock.js'
import { lazy } from '../../src/core/lazy.js'
import { CacheClosedError } from '../../src/errors.js'
import { DeferredTier } from '../../src/tiers/deferred.js'
import { MemoryTier } from '../../src/tiers/memory.js'

/** A promise and the functions that settle it. */
function gate<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const closed = () => new CacheClosedError('closed')

/** A lazy value whose opening waits on a gate, counting its openings (`opened()`). */
function gatedLazy() {
  let openings = 0
  const opening = gate<string>()
  const value = lazy(() => {
    openings++
    return opening.promise
  }, closed)
  return { value, opening, opened: () => openings }
}

describe('lazy', () => {
  it('opens on the first call only, and calls during the opening share it', async () => {
    const { value, opening, opened } = gatedLazy()
    expect(opened()).toBe(0)
    const calls = [value.get(), value.get(), value.get()]
    expect(opened()).toBe(1)
    expect(value.value).toBeUndefined()
    opening.resolve('v')
    expect(await Promise.all(calls)).toEqual(['v', 'v', 'v'])
    expect(await value.get()).toBe('v')
    expect(value.value).toBe('v')
    expect(opened()).toBe(1)
  })

  it('forgets a failed opening: the calls that shared it fail, the next call opens again', async () => {
    const openings = [gate<string>(), gate<string>()]
    let opened = 0
    const value = lazy(() => openings[opened++]!.promise, closed)
    const first = [value.get(), value.get()]
    openings[0]!.reject(new Error('down'))
    for (const call of first) await expect(call).rejects.toThrow('down')
    expect(opened).toBe(1)
    const second = value.get()
    expect(opened).toBe(2)
    openings[1]!.resolve('up')
    expect(await second).toBe('up')
  })

  it('counts a synchronous throw of the opening as a failed opening', async () => {
    let calls = 0
    const value = lazy(() => {
      if (++calls === 1) throw new Error('sync')
      return Promise.resolve(calls)
    }, closed)
    await expect(value.get()).rejects.toThrow('sync')
    expect(await value.get()).toBe(2)
  })

  it('close waits for the opening in flight, resolves what it opened, and stops further openings', async () => {
    const { value, opening, opened } = gatedLazy()
    const call = value.get()
    const closing = value.close()
    opening.resolve('v')
    expect(await closing).toBe('v')
    expect(await call).toBe('v')
    await expect(value.get()).rejects.toBeInstanceOf(CacheClosedError)
    expect(await value.close()).toBe('v')
    expect(opened()).toBe(1)
  })

  it('close resolves undefined when nothing was opened or the opening failed', async () => {
    expect(await lazy(() => Promise.resolve(1), closed).close()).toBeUndefined()
    const failing = lazy(() => Promise.reject(new Error('down')), closed)
    await expect(failing.get()).rejects.toThrow('down')
    expect(await failing.close()).toBeUndefined()
  })
})

// The deferred tier, bus and lock follow the one rule: a failed opening is retried on the next call.
describe('the deferred tier, bus and lock', () => {
  /** An opener that fails the first time and opens `value` the second, counting its calls. */
  function failOnce<T>(value: T): { open: () => Promise<T>; readonly calls: number } {
    let calls = 0
    return {
      open: async () => {
        if (++calls === 1) throw new Error('not yet')
        return value
      },
      get calls() {
        return calls
      },
    }
  }

  it('a tier opens again after a failed opening, and closes what it opened', async () => {
    const memory = new MemoryTier({ maxEntries: 10 })
    const opener = failOnce(memory)
    const tier = new DeferredTier('memory', { shared: false, durable: false }, opener.open)
    await expect(tier.get('ns', 'k')).rejects.toThrow('not yet')
    expect(await tier.get('ns', 'k')).toBeUndefined()
    expect(opener.calls).toBe(2)
    await tier.close()
    await expect(tier.get('ns', 'k')).rejects.toBeInstanceOf(CacheClosedError)
  })

  it('a bus opens again after a failed opening', async () => {
    const published: unknown[] = []
    let closes = 0
    const inner: Bus = {
      id: 'b',
      listening: true,
      publish: async (message) => void published.push(message),
      start: async () => {},
      close: async () => void closes++,
    }
    const opener = failOnce(inner)
    const bus = new DeferredBus('b', opener.open)
    await expect(bus.start({ message() {}, deaf() {}, listening() {} })).rejects.toThrow('not yet')
    expect(bus.listening).toBe(false)
    await bus.publish({ type: 'clear' })
    expect(published).toEqual([{ type: 'clear' }])
    expect(bus.listening).toBe(true)
    expect(opener.calls).toBe(2)
    await bus.close()
    expect(closes).toBe(1)
  })

  it('a lock opens again after a failed opening; a waiter after close returns at once', async () => {
    let closes = 0
    const inner: DistributedLock = {
      acquire: async () => 'token',
      extend: async () => true,
      release: async () => {},
      waitForRelease: async () => {},
      close: async () => void closes++,
    }
    const opener = failOnce(inner)
    const lock = new DeferredLock(opener.open)
    await expect(lock.acquire('k', 1_000)).rejects.toThrow('not yet')
    expect(await lock.acquire('k', 1_000)).toBe('token')
    expect(opener.calls).toBe(2)
    await lock.close()
    expect(closes).toBe(1)
    // Would wait the whole hour if a closed lock were taken for one that failed to open.
    await lock.waitForRelease('k', 3_600_000)
  })
})
