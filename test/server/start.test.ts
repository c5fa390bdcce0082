import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CacheClosedError, ListenFailedError, createCache } from '../../src/index.js'
import { buildServer, startServer } from '../../src/server/index.js'
import { bearer, openKeyStore } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-start-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('startServer', () => {
  it('listens on a real socket, serves fetch with an API key, and closes the cache, the keys and the audit log with the app', async () => {
    const file = join(dir, 'start.db')
    const cache = createCache({ l3: { sqlite: file, cleanupInterval: 0 } })
    const store = await openKeyStore(file)
    const { key } = await store.createKey()
    const { app, url } = await startServer({ cache, credentials: store.credentials, audit: store.audit, port: 0 })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    try {
      const path = `${url}/v1/entries/flights/${encodeURIComponent('route/JFK:LHR é')}`
      const stored = await fetch(path, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ value: { fare: 420 }, ttl: '5m', tags: ['route'] }),
      })
      expect(stored.status).toBe(204)
      const read = await fetch(path, { headers: bearer(key) })
      expect(read.status).toBe(200)
      expect(await read.json()).toMatchObject({ value: { fare: 420 }, source: 'l1', stale: false })
      const missing = await fetch(`${url}/v1/entries/flights/nope`, { headers: bearer(key) })
      expect(missing.status).toBe(404)
      expect(await missing.json()).toMatchObject({ error: { code: 'TC_NOT_FOUND' } })
      const anonymous = await fetch(path)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="tiercache"')
      expect((await fetch(`${url}/health`)).status).toBe(200)
    } finally {
      await app.close()
    }
    await expect(cache.stats()).rejects.toBeInstanceOf(CacheClosedError)
    await expect(store.credentials.list()).rejects.toMatchObject({ code: 'TC_TIER_UNAVAILABLE' })
    await store.close()
  })

  it('reports a port in use as TC_LISTEN_FAILED and leaves the cache and the keys open', async () => {
    const store = await openKeyStore()
    const first = createCache({ l3: false })
    const { app, url } = await startServer({ cache: first, credentials: store.credentials, port: 0 })
    try {
      const port = Number(new URL(url).port)
      const second = createCache({ l3: false })
      const failure = startServer({ cache: second, credentials: store.credentials, port })
      await expect(failure).rejects.toBeInstanceOf(ListenFailedError)
      await expect(failure).rejects.toMatchObject({
        code: 'TC_LISTEN_FAILED',
        message: `cannot listen on 127.0.0.1:${port}: the port is in use by another process`,
        cause: { code: 'EADDRINUSE' },
      })
      await second.set('still', 'open')
      expect(await second.get('still')).toBe('open')
      await second.close()
    } finally {
      await app.close()
    }
    await store.close()
  })
})

describe('buildServer', () => {
  it('leaves the cache and the keys open on close by default, and closes the cache with closeCacheOnClose', async () => {
    const store = await openKeyStore()
    const kept = createCache({ l3: false })
    await (await buildServer({ cache: kept, credentials: store.credentials })).close()
    await kept.set('k', 1)
    expect(await kept.get('k')).toBe(1)
    await kept.close()

    const owned = createCache({ l3: false })
    await (await buildServer({ cache: owned, credentials: store.credentials, closeCacheOnClose: true })).close()
    await expect(owned.get('k')).rejects.toBeInstanceOf(CacheClosedError)
    expect(await store.credentials.list()).toEqual([])
    await store.close()
  })
})
