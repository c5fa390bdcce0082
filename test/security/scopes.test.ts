import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { levelOf, scopeFor, tenantOf, userPrefix } from '../../src/cache/scope.js'
import { isTiercacheError } from '../../src/errors.js'
import { DEFAULT_KEY_FILE, createCache } from '../../src/index.js'
import { KeyRing } from '../../src/security/crypto/key-ring.js'

const MARKER = 'PLAINTEXT-MARKER-7f3a9c'
const acme = { role: 'authenticated', tenantId: 'acme' } as const
const globex = { role: 'authenticated', tenantId: 'globex' } as const
const alice = { role: 'authenticated', tenantId: 'acme', userId: 'alice@example.com' } as const
const bob = { role: 'authenticated', tenantId: 'acme', userId: 'bob@example.com' } as const

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isTiercacheError(error) ? error.code : 'not coded'
  }
  return undefined
}

describe('scopes', () => {
  let dir: string
  let cache: Cache

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tc-scopes-'))
    cache = createCache({ namespace: 'profiles', l3: { sqlite: join(dir, 'cache.db') } })
  })

  afterEach(async () => {
    await cache.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps each scope apart under the same namespace and key', async () => {
    await cache.set('k', 'public')
    await cache.withContext(acme).set('k', 'acme')
    await cache.withContext(globex).set('k', 'globex')
    await cache.withContext(alice).set('k', 'alice')
    await cache.withContext(bob).set('k', 'bob')

    expect(await cache.get('k')).toBe('public')
    expect(await cache.withContext({ role: 'anon' }).get('k')).toBe('public')
    expect(await cache.withContext(acme).get('k')).toBe('acme')
    expect(await cache.withContext(globex).get('k')).toBe('globex')
    expect(await cache.withContext(alice).get('k')).toBe('alice')
    expect(await cache.withContext(bob).get('k')).toBe('bob')
    // A user context reaches its tenant's and the public scope when it asks for them.
    expect(await cache.withContext(alice, { scope: 'tenant' }).get('k')).toBe('acme')
    expect(await cache.withContext(alice, { scope: 'public' }).get('k')).toBe('public')

    await cache.withContext(globex).delete('k')
    expect(await cache.withContext(acme).get('k')).toBe('acme')
    await cache.withContext(acme).clear()
    expect(await cache.withContext(acme).get('k')).toBeUndefined()
    expect(await cache.withContext(alice).get('k')).toBe('alice')
    expect(await cache.get('k')).toBe('public')
  })

  it('keeps scopes apart in listings and tag invalidations', async () => {
    await cache.withContext(acme).set('a', 1, { tags: ['t'] })
    await cache.withContext(globex).set('b', 2, { tags: ['t'] })
    const keysOf = async (view: Cache) => {
      const keys: string[] = []
      for await (const key of view.keys()) keys.push(key)
      return keys
    }
    expect(await keysOf(cache.withContext(acme))).toEqual(['a'])
    expect(await keysOf(cache.withContext(globex))).toEqual(['b'])
    expect(await keysOf(cache)).toEqual([])

    await cache.withContext(globex).invalidateTags(['t'])
    expect(await cache.withContext(acme).get('a')).toBe(1)
    expect(await cache.withContext(globex).get('b')).toBeUndefined()
    await expect(cache.withContext(acme).invalidateTags(['t'], { allNamespaces: true })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
  })

  it('rejects malformed contexts and scopes a context does not reach', () => {
    expect(codeOf(() => cache.withContext({ role: 'anon', tenantId: 'acme' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'authenticated' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'authenticated', tenantId: 'ac~me' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'authenticated', tenantId: 'a'.repeat(65) }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'service', userId: 'u' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'root' } as never))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext(acme, { scope: 'user' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext({ role: 'anon' }, { scope: 'tenant' }))).toBe('TC_INVALID_CONTEXT')
    expect(codeOf(() => cache.withContext(acme).namespace('~acme~x'))).toBe('TC_INVALID_NAMESPACE')
  })

  it('encodes scopes into storage namespaces that no crafted input can spell', () => {
    expect(scopeFor(acme).prefix).toBe('~acme~')
    expect(scopeFor(alice).prefix).toMatch(/^~acme~[A-Za-z0-9_-]{22}~$/)
    expect(scopeFor(alice).prefix).not.toBe(scopeFor(bob).prefix)
    expect(userPrefix('acme', 'alice@example.com')).toBe(scopeFor(alice).prefix)
    expect(levelOf('ns')).toBe('public')
    expect(levelOf('~acme~ns')).toBe('tenant')
    expect(levelOf(`${scopeFor(alice).prefix}ns`)).toBe('user')
    expect(tenantOf(`${scopeFor(alice).prefix}ns`)).toBe('acme')
    expect(tenantOf('ns')).toBeUndefined()
  })

  it('stores tenant and user values encrypted in the SQLite tier, and public ones as they are', async () => {
    await cache.withContext(acme).set('secret', { note: MARKER })
    await cache.withContext(alice).set('secret', `${MARKER}-user`)
    await cache.set('open', `${MARKER}-public`)
    const db = new Database(join(dir, 'cache.db'), { readonly: true })
    try {
      const rows = db.prepare('SELECT namespace, key, value FROM tiercache_entries').all() as { namespace: string; value: Buffer }[]
      const scoped = rows.filter((row) => row.namespace.startsWith('~'))
      expect(scoped).toHaveLength(2)
      for (const row of scoped) {
        expect(row.value[0]).toBe(0xc1)
        expect(row.value.includes(MARKER)).toBe(false)
      }
      expect(rows.find((row) => row.namespace === 'profiles')?.value.includes(`${MARKER}-public`)).toBe(true)
    } finally {
      db.close()
    }
    // The whole file, WAL included, once checkpointed: no plaintext anywhere.
    await cache.close()
    const walled = new Database(join(dir, 'cache.db'))
    walled.pragma('wal_checkpoint(TRUNCATE)')
    walled.close()
    const bytes = readFileSync(join(dir, 'cache.db'))
    expect(bytes.includes(MARKER)).toBe(true) // the public one
    expect(bytes.includes(`${MARKER}-user`)).toBe(false)
    expect(bytes.includes(`{"note":"${MARKER}`)).toBe(false)
  })

  it('creates an owner-only key file beside the data on first start, and reads entries back with it', async () => {
    const keyFile = join(dir, DEFAULT_KEY_FILE)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    await cache.withContext(acme).set('k', { n: 1 })
    await cache.close()
    cache = createCache({ namespace: 'profiles', l1: false, l3: { sqlite: join(dir, 'cache.db') } })
    expect(await cache.withContext(acme).getWithInfo('k')).toMatchObject({ value: { n: 1 }, source: 'l3' })
  })

  it('serves an entry sealed with a key this process lacks as a miss, and leaves it in place', async () => {
    const path = join(dir, 'rotated.db')
    const k1 = { id: 'k1', key: randomBytes(32) }
    const k2 = { id: 'k2', key: randomBytes(32) }
    const newer = createCache({ l1: false, l3: { sqlite: path }, security: { encryption: { keyRing: KeyRing.from([k1, k2], 'k2') } } })
    const older = createCache({ l1: false, l3: { sqlite: path }, security: { encryption: { keyRing: KeyRing.from([k1]) } } })
    try {
      await newer.withContext(acme).set('k', 'v2')
      const unreadable: unknown[] = []
      older.on('entry:unreadable', (event) => unreadable.push(event))
      expect(await older.withContext(acme).get('k')).toBeUndefined()
      expect(unreadable).toHaveLength(1)
      expect(await newer.withContext(acme).get('k')).toBe('v2')
    } finally {
      await Promise.all([newer.close(), older.close()])
    }
  })

  it('treats an envelope moved to another tenant as corrupt: a miss, and removed', async () => {
    await cache.withContext(acme).set('k', MARKER)
    await cache.close()
    const db = new Database(join(dir, 'cache.db'))
    db.prepare("UPDATE tiercache_entries SET namespace = '~globex~profiles' WHERE namespace = '~acme~profiles'").run()
    db.close()
    cache = createCache({ namespace: 'profiles', l1: false, l3: { sqlite: join(dir, 'cache.db') } })
    const corrupt: unknown[] = []
    cache.on('entry:corrupt', (event) => corrupt.push(event))
    expect(await cache.withContext(globex).get('k')).toBeUndefined()
    expect(corrupt).toHaveLength(1)
  })

  it('keeps user entries out of L1 unless configured, and applies ttl multipliers by role', async () => {
    await cache.withContext(alice).set('u', 1)
    expect(await cache.withContext(alice).getWithInfo('u')).toMatchObject({ source: 'l3' })
    await cache.withContext(acme).set('t', 1)
    expect(await cache.withContext(acme).getWithInfo('t')).toMatchObject({ source: 'l1' })

    const tuned = createCache({
      l3: false,
      ttl: '1m',
      security: { tiers: { user: ['l1', 'l2', 'l3'] }, ttlMultiplier: { anon: 2, authenticated: 0.5 } },
    })
    try {
      await tuned.withContext(alice).set('u', 1)
      expect(await tuned.withContext(alice).getWithInfo('u')).toMatchObject({ source: 'l1' })
      const before = Date.now()
      await tuned.withContext({ role: 'anon' }).set('a', 1)
      await tuned.set('plain', 1)
      const anon = await tuned.withContext({ role: 'anon' }).getWithInfo('a')
      const user = await tuned.withContext(alice).getWithInfo('u')
      const plain = await tuned.getWithInfo('plain')
      expect(anon!.freshUntil - before).toBeGreaterThanOrEqual(120_000 - 50)
      expect(anon!.freshUntil - before).toBeLessThanOrEqual(120_000 + 1_000)
      expect(user!.freshUntil - before).toBeLessThanOrEqual(30_000 + 1_000)
      expect(plain!.freshUntil - before).toBeGreaterThanOrEqual(60_000 - 50)
      expect(plain!.freshUntil - before).toBeLessThanOrEqual(60_000 + 1_000)
    } finally {
      await tuned.close()
    }
  })

  it('keeps each scope to the tiers its policy names, for writes, reads and listings', async () => {
    const path = join(dir, 'tiers.db')
    const policy = createCache({ l3: { sqlite: path }, security: { tiers: { tenant: ['l1'], user: [] } } })
    try {
      await policy.withContext(acme).set('t', 1)
      await policy.withContext(alice).set('u', 1)
      await policy.set('p', 1)
      expect(await policy.withContext(acme).getWithInfo('t')).toMatchObject({ source: 'l1' })
      expect(await policy.withContext(alice).get('u')).toBeUndefined() // no tier may hold it: not cached
      const keys: string[] = []
      for await (const key of policy.withContext(acme).keys()) keys.push(key)
      expect(keys).toEqual(['t']) // listed from L1, the last tier holding the tenant scope
    } finally {
      await policy.close()
    }
    const db = new Database(path, { readonly: true })
    const namespaces = (db.prepare('SELECT namespace FROM tiercache_entries').all() as { namespace: string }[]).map((row) => row.namespace)
    db.close()
    expect(namespaces).toEqual(['default'])
  })

  it('cuts ttl and grace to the retention of the scope', async () => {
    const kept = createCache({ l3: false, ttl: '1h', grace: '1h', security: { tiers: { user: ['l1', 'l2', 'l3'] }, retention: { user: '10m', tenant: '90m' } } })
    try {
      const before = Date.now()
      await kept.withContext(alice).set('u', 1)
      await kept.withContext(acme).set('t', 1)
      await kept.set('p', 1)
      const user = await kept.withContext(alice).getWithInfo('u')
      const tenant = await kept.withContext(acme).getWithInfo('t')
      const open = await kept.getWithInfo('p')
      expect(user!.freshUntil - before).toBeLessThanOrEqual(10 * 60_000 + 1_000)
      expect(tenant!.freshUntil - before).toBeGreaterThanOrEqual(60 * 60_000 - 50)
      expect(open!.freshUntil - before).toBeGreaterThanOrEqual(60 * 60_000 - 50)
      // Tenant: 60 min fresh, then only 30 min of the hour of grace fit in 90 min.
      const stack = (kept as unknown as { core: { stack: { l1: { peekKey(n: string, k: string, now: number): { staleUntil: number } } } } }).core.stack
      expect(stack.l1.peekKey('~acme~default', 't', Date.now()).staleUntil - before).toBeLessThanOrEqual(90 * 60_000 + 1_000)
    } finally {
      await kept.close()
    }
  })

  it('refuses scoped views when shared tiers have no key ring, and allows them with encryption off', async () => {
    const env = process.env.TIERCACHE_KEYS
    delete process.env.TIERCACHE_KEYS
    const noRing = createCache({ l3: { postgres: 'postgres://nobody@127.0.0.1:1/none' } })
    const plain = createCache({ l3: { sqlite: join(dir, 'plain.db') }, security: { encryption: false } })
    try {
      expect(codeOf(() => noRing.withContext(acme))).toBe('TC_INVALID_OPTIONS')
      expect(codeOf(() => noRing.withContext({ role: 'anon' }))).toBeUndefined()
      await plain.withContext(acme).set('k', MARKER)
      const db = new Database(join(dir, 'plain.db'), { readonly: true })
      const row = db.prepare('SELECT value FROM tiercache_entries').get() as { value: Buffer }
      db.close()
      expect(row.value.includes(MARKER)).toBe(true)
    } finally {
      if (env !== undefined) process.env.TIERCACHE_KEYS = env
      await Promise.all([noRing.close(), plain.close()])
    }
  })
})
