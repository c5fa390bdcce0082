import { createHash, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CorruptEntryError, InvalidOptionsError, TierUnavailableError } from '../../../src/errors.js'
import { openAuditLog } from '../../../src/security/audit/index.js'
import {
  type CredentialStore,
  KEY_ID_PATTERN,
  LAST_USED_RESOLUTION_MS,
  createCredentialStore,
  openCredentialStore,
  redactKeys,
} from '../../../src/security/credentials/index.js'
import { generateKeyId } from '../../../src/security/credentials/key.js'
import { SqliteCredentialBackend } from '../../../src/security/credentials/sqlite.js'
import { createPostgresTier } from '../../../src/tiers/sql/postgres/index.js'
import { POSTGRES_MIGRATIONS_FOLDER } from '../../../src/sql/postgres/migrate.js'
import { createSqliteTier, openSqliteDatabase } from '../../../src/tiers/sql/sqlite/index.js'
import { SQLITE_MIGRATIONS, migrateSqlite } from '../../../src/sql/sqlite/migrations.js'
import { dropTiercacheTables, openAdminClient, scratchDatabase } from '../../helpers/postgres.js'

// A database of its own: this file drops tiercache's tables, which other files use meanwhile.
const scratch = await scratchDatabase('credentials')
const POSTGRES_URL = scratch.url
afterAll(() => scratch.drop())

const dir = mkdtempSync(join(tmpdir(), 'tiercache-credentials-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const KEY_SHAPE = /^tc_(tck_[a-z2-7]{12})_([A-Za-z0-9_-]{43})$/

/** The secret part of a key. */
function secretOf(key: string): string {
  const secret = KEY_SHAPE.exec(key)?.[2]
  if (secret === undefined) throw new Error('not a key')
  return secret
}

/** A tenant of its own for each test, so that tests never see each other's keys. */
function freshTenant(): string {
  return `t-${randomUUID().slice(0, 8)}`
}

/** A raw row of tiercache_api_keys, every column as the database has it. */
type RawRow = Record<string, unknown> & { hash: Uint8Array }

interface Backend {
  /** Opens a store on the database (a new connection each call). */
  open(options?: { now?: () => number }): Promise<CredentialStore>
  /** Every column of every row of tiercache_api_keys. */
  dump(): Promise<RawRow[]>
  /** Inserts a row as-is, bypassing the store. */
  insertRaw(row: { id: string; tenant: string; roles: string; hash: Uint8Array }): Promise<void>
}

function runCredentialSuite(name: string, backend: () => Backend): void {
  describe(`credential store (${name})`, () => {
    let store: CredentialStore
    beforeEach(async () => {
      store = await backend().open()
    })
    afterEach(async () => {
      await store.close()
    })

    it('creates a key shown as tc_<id>_<secret> that verifies to its tenant and roles', async () => {
      const tenant = freshTenant()
      const created = await store.create({ tenant, roles: ['write', 'read'] })
      expect(created.id).toMatch(KEY_ID_PATTERN)
      expect(created.key).toMatch(KEY_SHAPE)
      expect(created.key.startsWith(`tc_${created.id}_`)).toBe(true)
      expect(created).toMatchObject({ tenant, roles: ['read', 'write'] })
      expect(Math.abs(created.createdAt - Date.now())).toBeLessThan(5_000)
      expect(await store.verify(created.key)).toEqual({ id: created.id, tenant, roles: ['read', 'write'], plan: 'free' })
    })

    it('binds a key to its rate-limit plan, free by default, and refuses a malformed plan name', async () => {
      const tenant = freshTenant()
      const pro = await store.create({ tenant, roles: ['read'], plan: 'pro' })
      expect(pro.plan).toBe('pro')
      expect(await store.verify(pro.key)).toMatchObject({ plan: 'pro' })
      expect((await store.get(pro.id))?.plan).toBe('pro')
      expect((await store.list(tenant)).map((key) => key.plan)).toEqual(['pro'])
      for (const plan of ['', 'a b', 'x'.repeat(65), 'p/q', 'é']) {
        await expect(store.create({ tenant, roles: ['read'], plan })).rejects.toBeInstanceOf(InvalidOptionsError)
      }
    })

    it('normalizes roles (deduplicated, canonical order) and accepts service keys', async () => {
      const created = await store.create({ tenant: freshTenant(), roles: ['service', 'admin', 'read', 'admin'] })
      expect(created.roles).toEqual(['read', 'admin', 'service'])
      expect((await store.verify(created.key))?.roles).toEqual(['read', 'admin', 'service'])
    })

    it('gives every key its own id and secret', async () => {
      const tenant = freshTenant()
      const keys = await Promise.all(Array.from({ length: 20 }, () => store.create({ tenant, roles: ['read'] })))
      expect(new Set(keys.map((key) => key.id)).size).toBe(20)
      expect(new Set(keys.map((key) => secretOf(key.key))).size).toBe(20)
    })

    it('does not verify a tampered secret, an unknown id, another key id with this secret, or a malformed key', async () => {
      const tenant = freshTenant()
      const created = await store.create({ tenant, roles: ['read'] })
      const other = await store.create({ tenant, roles: ['read'] })
      const secret = secretOf(created.key)
      const flipped = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1)
      const lastFlipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')
      const presented = [
        `tc_${created.id}_${flipped}`,
        `tc_${created.id}_${lastFlipped}`,
        `tc_tck_aaaaaaaaaaaa_${secret}`,
        `tc_${other.id}_${secret}`,
        created.key + 'x',
        created.key.slice(0, -1),
        created.key.toUpperCase(),
        ` ${created.key}`,
        `Bearer ${created.key}`,
        secret,
        created.id,
        '',
        'tc__',
      ]
      for (const key of presented) expect(await store.verify(key), key).toBeUndefined()
      expect(await store.verify(created.key)).toBeDefined()
    })

    it('revokes a key: it no longer verifies, in this connection or another; revoking again says false', async () => {
      const tenant = freshTenant()
      const revoked = await store.create({ tenant, roles: ['read'] })
      const kept = await store.create({ tenant, roles: ['read'] })
      const other = await backend().open()
      try {
        expect(await other.verify(revoked.key)).toBeDefined()
        expect(await store.revoke(revoked.id)).toBe(true)
        expect(await store.verify(revoked.key)).toBeUndefined()
        expect(await other.verify(revoked.key)).toBeUndefined()
        expect(await other.verify(kept.key)).toBeDefined()
        expect(await other.revoke(revoked.id)).toBe(false)
        expect(await store.revoke('tck_aaaaaaaaaaaa')).toBe(false)
        expect(await store.revoke('not an id')).toBe(false)
        const info = await store.get(revoked.id)
        expect(info?.revokedAt).toBeGreaterThanOrEqual(revoked.createdAt)
        expect((await store.get(kept.id))?.revokedAt).toBeNull()
      } finally {
        await other.close()
      }
    })

    it('sees keys created by another connection at once', async () => {
      const other = await backend().open()
      try {
        const created = await other.create({ tenant: freshTenant(), roles: ['write'] })
        expect(await store.verify(created.key)).toMatchObject({ id: created.id, roles: ['write'] })
      } finally {
        await other.close()
      }
    })

    it("lists keys, a tenant's or all, oldest first, active and revoked, without hashes or secrets", async () => {
      const tenant = freshTenant()
      const first = await store.create({ tenant, roles: ['read'] })
      // Keys made in the same millisecond are ordered by id: let the clock move so that creation
      // order is what decides.
      while (Date.now() <= first.createdAt) await new Promise((resolve) => setTimeout(resolve, 1))
      const second = await store.create({ tenant, roles: ['admin'] })
      const elsewhere = await store.create({ tenant: freshTenant(), roles: ['read'] })
      await store.revoke(first.id)
      const listed = await store.list(tenant)
      expect(listed.map((key) => key.id)).toEqual([first.id, second.id])
      for (const key of listed) expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'plan', 'revokedAt', 'roles', 'tenant'])
      expect(listed[0]).toMatchObject({ tenant, roles: ['read'], createdAt: first.createdAt, lastUsedAt: null })
      expect(listed[0]?.revokedAt).not.toBeNull()
      expect(listed[1]).toMatchObject({ roles: ['admin'], revokedAt: null })
      const all = await store.list()
      expect(all.map((key) => key.id)).toEqual(expect.arrayContaining([first.id, second.id, elsewhere.id]))
      const text = JSON.stringify(all)
      for (const created of [first, second, elsewhere]) expect(text).not.toContain(secretOf(created.key))
      expect(await store.list(freshTenant())).toEqual([])
    })

    it('stores the SHA-256 of the secret, never the key or the secret', async () => {
      const created = await store.create({ tenant: freshTenant(), roles: ['read', 'write'] })
      const secret = secretOf(created.key)
      const rows = await backend().dump()
      const row = rows.find((candidate) => candidate.id === created.id)
      expect(row).toBeDefined()
      expect(Buffer.from(row?.hash ?? []).equals(createHash('sha256').update(secret).digest())).toBe(true)
      // Every cell of every row, as text and as bytes in the usual encodings: the secret is nowhere.
      const secretBytes = Buffer.from(secret, 'base64url')
      const cells = rows.flatMap((candidate) => Object.values(candidate))
      const texts = cells.flatMap((cell) =>
        cell instanceof Uint8Array ? [Buffer.from(cell).toString('hex'), Buffer.from(cell).toString('base64'), Buffer.from(cell).toString('latin1')] : [String(cell)],
      )
      for (const text of texts) {
        expect(text).not.toContain(secret)
        expect(text).not.toContain(secretBytes.toString('hex'))
        expect(text).not.toContain(secretBytes.toString('base64'))
      }
    })

    it('rejects invalid tenants and roles with TC_INVALID_OPTIONS, writing nothing', async () => {
      const tenant = freshTenant()
      const invalid = [
        { tenant: '', roles: ['read'] },
        { tenant: 'a b', roles: ['read'] },
        { tenant: 'x'.repeat(65), roles: ['read'] },
        { tenant: 'tenant/1', roles: ['read'] },
        { tenant, roles: [] },
        { tenant, roles: ['root'] },
        { tenant, roles: ['service'] },
        { tenant, roles: ['Read'] },
      ]
      for (const input of invalid) await expect(store.create(input), JSON.stringify(input)).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(store.list('a b')).rejects.toBeInstanceOf(InvalidOptionsError)
      expect(await store.list(tenant)).toEqual([])
      expect((await store.create({ tenant: 'x'.repeat(64), roles: ['read'] })).tenant).toHaveLength(64)
      expect((await store.create({ tenant: 'A.b_c-9', roles: ['read'] })).tenant).toBe('A.b_c-9')
    })

    it('records when a key was last used, at most once a minute', async () => {
      let clock = Date.now()
      const timed = await backend().open({ now: () => clock })
      try {
        const created = await timed.create({ tenant: freshTenant(), roles: ['read'] })
        expect((await timed.get(created.id))?.lastUsedAt).toBeNull()
        await timed.verify(created.key)
        const first = clock
        await expect.poll(async () => (await timed.get(created.id))?.lastUsedAt).toBe(first)
        clock += LAST_USED_RESOLUTION_MS / 2
        await timed.verify(created.key)
        await new Promise((resolve) => setTimeout(resolve, 50))
        expect((await timed.get(created.id))?.lastUsedAt).toBe(first)
        clock += LAST_USED_RESOLUTION_MS
        await timed.verify(created.key)
        await expect.poll(async () => (await timed.get(created.id))?.lastUsedAt).toBe(clock)
      } finally {
        await timed.close()
      }
    })

    it('reports a stored role list it cannot read as TC_CORRUPT_ENTRY, and does not verify with it', async () => {
      const secret = 'A'.repeat(43)
      const id = generateKeyId()
      await backend().insertRaw({ id, tenant: freshTenant(), roles: '["root"]', hash: createHash('sha256').update(secret).digest() })
      await expect(store.verify(`tc_${id}_${secret}`)).rejects.toBeInstanceOf(CorruptEntryError)
      await expect(store.get(id)).rejects.toBeInstanceOf(CorruptEntryError)
    })

    it('closes idempotently', async () => {
      const other = await backend().open()
      await other.close()
      await other.close()
    })
  })
}

describe('sqlite', () => {
  const path = join(dir, 'keys/cache.db')
  runCredentialSuite('sqlite', () => ({
    open: (options) => openCredentialStore({ sqlite: path }, options),
    async dump() {
      const db = new Database(path, { readonly: true })
      try {
        return db.prepare('SELECT * FROM tiercache_api_keys').all() as RawRow[]
      } finally {
        db.close()
      }
    },
    async insertRaw(row) {
      const db = new Database(path)
      try {
        db.prepare('INSERT INTO tiercache_api_keys (id, tenant, roles, hash, created_at) VALUES (?, ?, ?, ?, 0)').run(row.id, row.tenant, row.roles, row.hash)
      } finally {
        db.close()
      }
    },
  }))

  it('creates its tables in the tier\'s file, by the tier\'s migrations, once for the tier, the keys and the audit log', async () => {
    const fresh = join(dir, 'fresh/cache.db')
    const store = await openCredentialStore({ sqlite: fresh })
    const audit = await openAuditLog({ sqlite: fresh })
    const tier = createSqliteTier({ path: fresh, cleanupIntervalMs: 0 })
    try {
      const db = new Database(fresh, { readonly: true })
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length)
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      db.close()
      const created = await store.create({ tenant: 'acme', roles: ['read'] })
      expect(await store.verify(created.key)).toBeDefined()
    } finally {
      await Promise.all([store.close(), audit.close(), tier.close()])
    }
  })

  it('gives the keys of a database made before plans existed (schema version 2) the free plan', async () => {
    const file = join(dir, 'before-plans/cache.db')
    mkdirSync(join(dir, 'before-plans'))
    const db = new Database(file)
    migrateSqlite(db, SQLITE_MIGRATIONS.slice(0, 2))
    const id = generateKeyId()
    db.prepare('INSERT INTO tiercache_api_keys (id, tenant, roles, hash, created_at) VALUES (?, ?, ?, ?, 0)').run(id, 'acme', '["read"]', Buffer.alloc(32))
    db.close()
    const store = await openCredentialStore({ sqlite: file })
    try {
      expect(await store.get(id)).toMatchObject({ id, tenant: 'acme', plan: 'free' })
    } finally {
      await store.close()
    }
  })

  it('leaves no trace of the secret anywhere in the database files', async () => {
    const file = join(dir, 'bytes/cache.db')
    const store = await openCredentialStore({ sqlite: file })
    const created = await store.create({ tenant: 'acme', roles: ['read'] })
    await store.close()
    const secret = secretOf(created.key)
    for (const suffix of ['', '-wal', '-shm']) {
      if (!existsSync(file + suffix)) continue
      const bytes = readFileSync(file + suffix)
      expect(bytes.includes(Buffer.from(secret))).toBe(false)
      expect(bytes.includes(Buffer.from(secret, 'base64url'))).toBe(false)
    }
  })

  it('reports a database failure as TC_TIER_UNAVAILABLE, without the key in the message', async () => {
    const db = openSqliteDatabase(join(dir, 'failing/cache.db'))
    const store = createCredentialStore(new SqliteCredentialBackend(db, true))
    const created = await store.create({ tenant: 'acme', roles: ['read'] })
    db.close()
    const error = await store.verify(created.key).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TierUnavailableError)
    expect((error as Error).message).not.toContain(secretOf(created.key))
    expect(String((error as Error).cause)).not.toContain(secretOf(created.key))
    await expect(store.create({ tenant: 'acme', roles: ['read'] })).rejects.toBeInstanceOf(TierUnavailableError)
    await store.close()
  })

  it('rejects a malformed location without echoing it', async () => {
    const error = await openCredentialStore({ postgres: 'mysql://user:s3cret@host/db' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as Error).message).not.toContain('s3cret')
    await expect(openCredentialStore({ sqlite: '' })).rejects.toBeInstanceOf(InvalidOptionsError)
  })
})

describe('postgres', () => {
  let admin: Sql
  beforeAll(async () => {
    admin = openAdminClient(POSTGRES_URL)
  })
  afterAll(async () => {
    await admin.end()
  })

  it('creates its tables by the tier\'s migrations, once, however many components start at once', async () => {
    await dropTiercacheTables(admin)
    const journal = JSON.parse(readFileSync(join(POSTGRES_MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
    const [store, audit, tier, secondStore] = await Promise.all([
      openCredentialStore({ postgres: POSTGRES_URL }),
      openAuditLog({ postgres: POSTGRES_URL }),
      createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 }),
      openCredentialStore({ postgres: POSTGRES_URL }),
    ])
    try {
      const [applied] = await admin<{ n: number }[]>`select count(*)::int as n from tiercache_migrations`
      expect(applied?.n).toBe(journal.entries.length)
      const created = await store.create({ tenant: 'acme', roles: ['read'] })
      expect(await secondStore.verify(created.key)).toBeDefined()
    } finally {
      await Promise.all([store.close(), audit.close(), tier.close(), secondStore.close()])
    }
  })

  runCredentialSuite('postgres', () => ({
    open: (options) => openCredentialStore({ postgres: POSTGRES_URL }, options),
    dump: () => admin<RawRow[]>`select * from tiercache_api_keys`,
    async insertRaw(row) {
      await admin`insert into tiercache_api_keys (id, tenant, roles, hash, created_at) values (${row.id}, ${row.tenant}, ${row.roles}, ${row.hash}, 0)`
    },
  }))

  it('reports an unreachable server as TC_TIER_UNAVAILABLE', async () => {
    await expect(openCredentialStore({ postgres: 'postgres://postgres@127.0.0.1:1/test' })).rejects.toBeInstanceOf(TierUnavailableError)
  })
})

describe('redactKeys', () => {
  it('hides keys and bearer credentials, keeping the public id', () => {
    const key = `tc_tck_abcdefghijkl_${'x'.repeat(43)}`
    expect(redactKeys(`key ${key} used`)).toBe('key tc_tck_abcdefghijkl_[redacted] used')
    expect(redactKeys(`Authorization: Bearer ${key}`)).toBe('Authorization: Bearer [redacted]')
    expect(redactKeys('bearer abc.def')).toBe('bearer [redacted]')
    expect(redactKeys('tc_0123456789abcdef')).toBe('tc_[redacted]')
    expect(redactKeys('etc_0123456789abcdef and tck_abcdefghijkl')).toBe('etc_0123456789abcdef and tck_abcdefghijkl')
  })
})
