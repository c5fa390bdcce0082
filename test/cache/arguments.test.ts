import { describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'
import type { GetOrSetOptions } from '../../src/cache/types.js'
import { ControlledTier, cacheOver, gate } from '../helpers/cache.js'

describe('per-call options', () => {
  it('refuses misspelt options as construction does, on cold and warm keys', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const misspelt = { ttll: '5m' } as unknown as GetOrSetOptions
    await expect(cache.set('k', 1, misspelt)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS', message: expect.stringContaining('"ttll"') })
    await expect(cache.getOrSet('k', () => 1, misspelt)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await cache.set('k', 1)
    // a warm key takes the L1 fast path, which must not let the misspelling through
    await expect(cache.getOrSet('k', () => 1, misspelt)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(cache.get('k', { allowstale: true } as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(cache.getMany(['k'], { ttl: '1m' } as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    // an option of getOrSet is not one of set
    await expect(cache.set('k', 1, { timeout: '1s' } as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(cache.get('k', null as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
  })

  it('accepts every documented option, and the same object again', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const options: GetOrSetOptions = { ttl: '5m', grace: '1m', tags: ['t'], timeout: 100, hardTimeout: 1_000, publicFields: ['a'] }
    expect(await cache.getOrSet('k', () => ({ a: 1 }), options)).toEqual({ a: 1 })
    expect(await cache.getOrSet('k', () => ({ a: 2 }), options)).toEqual({ a: 1 })
    await cache.set('s', 1, { ttl: '1m', grace: 0, tags: [] })
    expect(await cache.get('s', { allowStale: true })).toBe(1)
    expect(await cache.get('s', { allowStale: true })).toBe(1) // a new object on the warm path
  })
})

describe('getOrSet arguments', () => {
  it('refuses a factory that is not a function as a bad argument, not a factory failure', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const factoryErrors = vi.fn()
    cache.on('factory:error', factoryErrors)
    await expect(cache.getOrSet('k', 42 as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS', message: expect.stringContaining('number') })
    await cache.set('k', 1)
    await expect(cache.getOrSet('k', 42 as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    expect(factoryErrors).not.toHaveBeenCalled()
    expect((await cache.stats()).origin.errors).toBe(0)
  })

  it('drops, quietly, the result of a factory that ends after close()', async () => {
    const cache = createCache({ l3: { sqlite: ':memory:' } })
    const tierErrors = vi.fn()
    cache.on('tier:error', tierErrors)
    await cache.set('warm-up', 1) // the SQLite tier is open
    const started = gate()
    const finish = gate()
    const pending = cache.getOrSet('k', async () => (started.open(), await finish.promise, 'late'))
    await started.promise
    await cache.close()
    finish.open()
    expect(await pending).toBe('late')
    expect(tierErrors).not.toHaveBeenCalled()
  })
})
