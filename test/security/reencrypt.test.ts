import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { KeyRing } from '../../src/security/crypto/key-ring.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'

const k1 = { id: 'k1', key: randomBytes(32) }
const k2 = { id: 'k2', key: randomBytes(32) }
const acme = { role: 'authenticated', tenantId: 'acme' } as const
const alice = { role: 'authenticated', tenantId: 'acme', userId: 'alice' } as const

describe('re-encryption after a key rotation', () => {
  let dir: string
  let prefix: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tc-reencrypt-'))
    prefix = `tcr${randomUUID().slice(0, 8)}`
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const open = (keyRing: KeyRing) =>
    createCache({ l1: false, l2: { redis: TEST_REDIS_URL, prefix, bus: false, lock: false }, l3: { sqlite: join(dir, 'cache.db') }, security: { encryption: { keyRing } } })

  it('seals old entries with the new key in every shared tier, after which the old key can go', async () => {
    const before = open(KeyRing.from([k1]))
    for (let i = 0; i < 30; i++) await before.namespace(`ns${i % 3}`).withContext(i % 2 === 0 ? acme : alice).set(`k${i}`, { i })
    await before.set('public', 1)
    await before.close()

    const rotated = open(KeyRing.from([k1, k2], 'k2'))
    try {
      // Both tiers hold the 30 entries: 60 examined, 60 rewritten; a second run has nothing to do.
      expect(await rotated.reencrypt()).toEqual({ examined: 60, rewritten: 60, unreadable: 0, corrupt: 0 })
      expect(await rotated.reencrypt()).toEqual({ examined: 60, rewritten: 0, unreadable: 0, corrupt: 0 })
      await expect(rotated.withContext(acme).reencrypt()).rejects.toMatchObject({ code: 'TC_FORBIDDEN' })
    } finally {
      await rotated.close()
    }

    const after = open(KeyRing.from([k2]))
    try {
      for (let i = 0; i < 30; i++) {
        expect(await after.namespace(`ns${i % 3}`).withContext(i % 2 === 0 ? acme : alice).get(`k${i}`)).toEqual({ i })
      }
      expect(await after.get('public')).toBe(1)
    } finally {
      await after.clear()
      await after.erase({ tenantId: 'acme' })
      await after.close()
    }
  })

  it('counts, and leaves, entries sealed with a key the ring lacks', async () => {
    const newer = open(KeyRing.from([k2]))
    await newer.withContext(acme).set('k', 'v')
    await newer.close()
    const older = open(KeyRing.from([k1]))
    try {
      expect(await older.reencrypt()).toEqual({ examined: 2, rewritten: 0, unreadable: 2, corrupt: 0 })
      await older.erase({ tenantId: 'acme' })
    } finally {
      await older.close()
    }
  })
})
