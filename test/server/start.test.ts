import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CacheClosedError, createCache } from '../../src/index.js'
import { buildServer, startServer } from '../../src/server/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-start-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('startServer', () => {
  it('listens on a real socket, serves fetch, and closes the cache with the app', async () => {
    const cache = createCache({ l3: { sqlite: join(dir, 'start.db'), cleanupInterval: 0 } })
    const { app, url } = await startServer({ cache, port: 0 })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    try {
      const key = encodeURIComponent('route/JFK:LHR é')
      const stored = await fetch(`${url}/v1/entries/flights/${key}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: { fare: 420 }, ttl: '5m', tags: ['route'] }),
      })
      expect(stored.status).toBe(204)
      const read = await fetch(`${url}/v1/entries/flights/${key}`)
      expect(read.status).toBe(200)
      expect(await read.json()).toMatchObject({ value: { fare: 420 }, source: 'l1', stale: false })
      const missing = await fetch(`${url}/v1/entries/flights/nope`)
      expect(missing.status).toBe(404)
      expect(await missing.json()).toMatchObject({ error: { code: 'TC_NOT_FOUND' } })
      expect((await fetch(`${url}/health`)).status).toBe(200)
    } finally {
      await app.close()
    }
    await expect(cache.stats()).rejects.toBeInstanceOf(CacheClosedError)
  })

  it('rethrows a listen failure and leaves the cache open', async () => {
    const first = createCache({ l3: false })
    const { app, url } = await startServer({ cache: first, port: 0 })
    try {
      const port = Number(new URL(url).port)
      const second = createCache({ l3: false })
      await expect(startServer({ cache: second, port })).rejects.toMatchObject({ code: 'EADDRINUSE' })
      await second.set('still', 'open')
      expect(await second.get('still')).toBe('open')
      await second.close()
    } finally {
      await app.close()
    }
  })
})

describe('buildServer', () => {
  it('leaves the cache open on close by default, and closes it with closeCacheOnClose', async () => {
    const kept = createCache({ l3: false })
    await (await buildServer({ cache: kept })).close()
    await kept.set('k', 1)
    expect(await kept.get('k')).toBe(1)
    await kept.close()

    const owned = createCache({ l3: false })
    await (await buildServer({ cache: owned, closeCacheOnClose: true })).close()
    await expect(owned.get('k')).rejects.toBeInstanceOf(CacheClosedError)
  })
})
