import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_KEY_FILE, createCache } from '../../src/index.js'
import type { Cache, CacheOptions } from '../../src/index.js'
import { openAuditLog } from '../../src/security/audit/index.js'
import { openCredentialStore } from '../../src/security/credentials/index.js'
import { parseKeyRing } from '../../src/security/crypto/key-ring.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { inProcess } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-clear-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const acme = { role: 'authenticated', tenantId: 'acme' } as const
const alice = { role: 'authenticated', tenantId: 'acme', userId: 'alice' } as const

/** Public, tenant and user entries in namespaces `flights` and `hotels`. */
async function fill(cache: Cache, id: string): Promise<void> {
  for (const view of [cache, cache.withContext(acme), cache.withContext(alice)]) {
    await view.namespace(`flights${id}`).set('a', 1)
    await view.namespace(`hotels${id}`).set('b', 2)
  }
}

/** Which of the entries of {@link fill} a fresh cache, without L1, still reads. */
async function left(options: CacheOptions, id: string): Promise<string[]> {
  const cache = createCache({ ...options, l1: false })
  const found: string[] = []
  try {
    for (const [name, view] of [['public', cache], ['tenant', cache.withContext(acme)], ['user', cache.withContext(alice)]] as const) {
      if ((await view.namespace(`flights${id}`).get('a')) !== undefined) found.push(`${name}/flights`)
      if ((await view.namespace(`hotels${id}`).get('b')) !== undefined) found.push(`${name}/hotels`)
    }
  } finally {
    await cache.close()
  }
  return found
}

describe('tiercache clear', () => {
  it('removes the entries of the embedded default, one namespace or all, and leaves keys, audit log and key file', async () => {
    const file = join(dir, 'sqlite/cache.db')
    const cache = createCache({ l3: { sqlite: file } })
    await fill(cache, '')
    await cache.close()
    const credentials = await openCredentialStore({ sqlite: file })
    const { id } = await credentials.create({ tenant: 'acme', roles: ['read'] })
    await credentials.close()
    const audit = await openAuditLog({ sqlite: file })
    await audit.record({ action: 'key.create', tenant: 'acme', target: id, outcome: 'ok', userAgent: 'test' })
    await audit.close()
    const keyFile = readFileSync(join(dir, 'sqlite', DEFAULT_KEY_FILE), 'utf8')
    const all = ['public/flights', 'public/hotels', 'tenant/flights', 'tenant/hotels', 'user/flights', 'user/hotels']
    expect(await left({ l3: { sqlite: file } }, '')).toEqual(all)

    const one = await inProcess(['clear', '--namespace', 'flights', '--sqlite', file])
    expect(one.code).toBe(0)
    expect(one.stdout).toBe(`removed every cached entry of namespace flights, in every scope, from the SQLite file ${file}; API keys, the audit log and the key file are untouched\n`)
    expect(await left({ l3: { sqlite: file } }, '')).toEqual(['public/hotels', 'tenant/hotels', 'user/hotels'])

    const rest = await inProcess(['clear', '--json', '--sqlite', file])
    expect(rest.code).toBe(0)
    expect(JSON.parse(rest.stdout)).toEqual({ namespace: null, storage: [`the SQLite file ${file}`] })
    expect(await left({ l3: { sqlite: file } }, '')).toEqual([])

    const store = await openCredentialStore({ sqlite: file })
    const log = await openAuditLog({ sqlite: file })
    try {
      expect(await store.get(id)).toMatchObject({ id, tenant: 'acme', revokedAt: null })
      expect((await log.query({ tenant: 'acme' })).map((event) => event.action)).toEqual(['key.create'])
    } finally {
      await Promise.all([store.close(), log.close()])
    }
    expect(readFileSync(join(dir, 'sqlite', DEFAULT_KEY_FILE), 'utf8')).toBe(keyFile)
  })

  it('clears one namespace of PostgreSQL and of Redis, in every scope', async () => {
    const ns = randomUUID().slice(0, 8)
    const keys = 'k1:' + Buffer.alloc(32, 3).toString('base64')
    const prefix = `clear${ns}`
    const options: CacheOptions = {
      l2: { redis: TEST_REDIS_URL, prefix, bus: false, lock: false },
      l3: { postgres: TEST_POSTGRES_URL },
      security: { encryption: { keyRing: parseKeyRing(keys) } },
    }
    const cache = createCache(options)
    await fill(cache, ns)
    await cache.close()
    const onlyRedis: CacheOptions = { ...options, l3: false }
    const onlyPostgres: CacheOptions = { ...options, l2: false }
    expect(await left(onlyRedis, ns)).toHaveLength(6)

    const run = await inProcess(['clear', '--namespace', `flights${ns}`, '--postgres', TEST_POSTGRES_URL, '--redis', TEST_REDIS_URL, '--redis-prefix', prefix])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/from the PostgreSQL database postgres:\/\/.* and Redis \(keys under clear/)
    expect(await left(onlyRedis, ns)).toEqual(['public/hotels', 'tenant/hotels', 'user/hotels'])
    expect(await left(onlyPostgres, ns)).toEqual(['public/hotels', 'tenant/hotels', 'user/hotels'])
  })

  it('refuses a malformed namespace before opening anything', async () => {
    const run = await inProcess(['clear', '--namespace', 'no/slash', '--sqlite', join(dir, 'never/cache.db')])
    expect([run.code, run.stdout]).toEqual([2, ''])
    expect(run.stderr).toMatch(/^error TC_INVALID_OPTIONS: --namespace must be/)
  })
})
