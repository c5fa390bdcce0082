import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_KEY_FILE, createCache } from '../../src/index.js'
import { loadKeyRingFile } from '../../src/security/crypto/key-file.js'
import { parseKeyRing } from '../../src/security/crypto/key-ring.js'
import { inProcess, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-encryption-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const db = join(dir, 'data', 'cache.db')
const keyFile = join(dir, 'data', DEFAULT_KEY_FILE)
const acme = { role: 'authenticated', tenantId: 'acme' } as const

describe('tiercache rotate-key and reencrypt', () => {
  it('rotates the key file of the embedded default, then seals every entry with the new key', async () => {
    const writer = createCache({ l3: { sqlite: db } })
    for (let i = 0; i < 5; i++) await writer.withContext(acme).set(`k${i}`, i)
    await writer.close()
    expect(loadKeyRingFile(keyFile).ids).toEqual(['k1'])

    const rotated = spawnTiercache(['rotate-key', '--sqlite', db, '--json'], dir)
    expect(rotated.stderr).toBe('')
    expect(rotated.code).toBe(0)
    expect(JSON.parse(rotated.stdout)).toMatchObject({ current: 'k2', ids: ['k1', 'k2'] })
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)

    const first = spawnTiercache(['reencrypt', '--sqlite', db, '--json'], dir)
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toEqual({ examined: 5, rewritten: 5, unreadable: 0, corrupt: 0 })
    const again = spawnTiercache(['reencrypt', '--sqlite', db], dir)
    expect(again.stdout).toBe('re-encrypted 0 of 5 tenant and user entries (0 under a key this ring lacks, 0 corrupt: left as they are)\n')

    const reader = createCache({ l1: false, l3: { sqlite: db } })
    try {
      for (let i = 0; i < 5; i++) expect(await reader.withContext(acme).get(`k${i}`)).toBe(i)
    } finally {
      await reader.close()
    }
  })

  it('refuses to rotate a key file when the ring comes from the environment', () => {
    const run = spawnTiercache(['rotate-key', '--sqlite', db], dir, { TIERCACHE_KEYS: `k9:${Buffer.alloc(32, 7).toString('base64')}` })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/TIERCACHE_KEYS is set/)
  })
})

describe('tiercache keygen', () => {
  it('prints one new key as an entry of TIERCACHE_KEYS, which parses as a ring of that id', async () => {
    const first = await inProcess(['keygen'])
    expect([first.code, first.stderr]).toEqual([0, ''])
    expect(first.stdout).toMatch(/^k1:[A-Za-z0-9+/]{43}=\n$/)
    const second = await inProcess(['keygen', '--id', 'k2'])
    expect(second.stdout).not.toBe(first.stdout.replace('k1:', 'k2:'))
    // Appended, as the docs say to rotate: the last entry is the current key.
    const ring = parseKeyRing(`${first.stdout.trim()},${second.stdout.trim()}`)
    expect(ring.toJSON()).toEqual({ current: 'k2', ids: ['k1', 'k2'] })
  })

  it('refuses a malformed id without printing a key', async () => {
    const run = await inProcess(['keygen', '--id', 'has space'])
    expect([run.code, run.stdout]).toEqual([2, ''])
    expect(run.stderr).toMatch(/^error TC_INVALID_OPTIONS: --id: key 1: key id must match/)
  })
})
