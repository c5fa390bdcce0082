import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { InvalidOptionsError, TierUnavailableError } from '../../../src/errors.js'
import { type AuditEvent, type AuditLog, type AuditQuery, MAX_TEXT_LENGTH, createAuditLog, openAuditLog } from '../../../src/security/audit/index.js'
import { SqliteAuditBackend } from '../../../src/security/audit/sqlite.js'
import { openSqliteDatabase } from '../../../src/sql/sqlite/database.js'
import { openAdminClient, TEST_POSTGRES_URL } from '../../helpers/postgres.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-audit-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A tenant of its own for each test: the audit log cannot be emptied between tests, by design. */
function freshTenant(): string {
  return `t-${randomUUID().slice(0, 8)}`
}

const KEY = `tc_tck_abcdefghijkl_${'S3cr3t'.repeat(7)}x`

interface Backend {
  /** Opens a log on the database (a new connection each call). */
  open(options?: { onError?: (error: Error) => void }): Promise<AuditLog>
  /** Every column of a tenant's rows of tiercache_audit, as stored. */
  dump(tenant: string): Promise<Record<string, unknown>[]>
  /** Runs a statement on a connection of the test's own, bypassing the log. */
  exec(statement: 'update' | 'delete' | 'delete all' | 'truncate', tenant: string): Promise<unknown>
}

function runAuditSuite(name: string, backend: () => Backend): void {
  describe(`audit log (${name})`, () => {
    let log: AuditLog
    const errors: Error[] = []
    beforeEach(async () => {
      errors.length = 0
      log = await backend().open({ onError: (error) => errors.push(error) })
    })
    afterEach(async () => {
      await log.close()
    })

    it("records events and returns a tenant's own, newest first, with what was not given as null", async () => {
      const tenant = freshTenant()
      const other = freshTenant()
      await log.record({ action: 'key.create', outcome: 'ok', tenant, target: 'tck_abcdefghijkl', detail: 'roles=read', at: 1_000 })
      await log.record({
        action: 'auth.failure',
        outcome: 'denied',
        tenant,
        keyId: 'tck_abcdefghijkl',
        ip: '203.0.113.7',
        userAgent: 'curl/8.5.0',
        at: 2_000,
      })
      await log.record({ action: 'cache.purge', outcome: 'ok', tenant: other, at: 1_500 })
      await log.record({ action: 'auth.failure', outcome: 'denied', at: 1_700 })
      const events = await log.query({ tenant })
      expect(events.map(({ id: _id, ...event }) => event)).toEqual([
        { at: 2_000, action: 'auth.failure', outcome: 'denied', keyId: 'tck_abcdefghijkl', tenant, target: null, ip: '203.0.113.7', userAgent: 'curl/8.5.0', detail: null },
        { at: 1_000, action: 'key.create', outcome: 'ok', keyId: null, tenant, target: 'tck_abcdefghijkl', ip: null, userAgent: null, detail: 'roles=read' },
      ])
      expect(typeof events[0]?.id).toBe('number')
      expect((await log.query({ tenant: other })).map((event) => event.action)).toEqual(['cache.purge'])
      expect(errors).toEqual([])
    })

    it('stamps events with the current time unless told, and orders ties by insertion', async () => {
      const tenant = freshTenant()
      const before = Date.now()
      await log.record({ action: 'cache.invalidate', outcome: 'ok', tenant, target: 'tags=a' })
      await log.record({ action: 'cache.invalidate', outcome: 'ok', tenant, target: 'tags=b', at: 5 })
      await log.record({ action: 'cache.invalidate', outcome: 'ok', tenant, target: 'tags=c', at: 5 })
      const events = await log.query({ tenant })
      expect(events[0]?.at).toBeGreaterThanOrEqual(before)
      expect(events.map((event) => event.target)).toEqual(['tags=a', 'tags=c', 'tags=b'])
    })

    it('filters by since and caps by limit', async () => {
      const tenant = freshTenant()
      for (let at = 1; at <= 10; at++) await log.record({ action: 'subject.export', outcome: 'ok', tenant, target: `user:${at}`, at: at * 100 })
      expect((await log.query({ tenant, since: 800 })).map((event) => event.at)).toEqual([1000, 900, 800])
      expect((await log.query({ tenant, limit: 2 })).map((event) => event.at)).toEqual([1000, 900])
      expect(await log.query({ tenant, since: 1001 })).toEqual([])
    })

    it('requires a valid tenant to query: there is no cross-tenant read', async () => {
      await log.record({ action: 'cache.purge', outcome: 'ok', tenant: freshTenant() })
      const invalid: unknown[] = [{}, { tenant: undefined }, { tenant: '' }, { tenant: '%' }, { tenant: 'a b' }, { tenant: 'ok', limit: 0 }, { tenant: 'ok', limit: 1001 }, { tenant: 'ok', since: -1 }]
      for (const query of invalid) await expect(log.query(query as AuditQuery), JSON.stringify(query)).rejects.toBeInstanceOf(InvalidOptionsError)
    })

    it('stores no value or secret: unknown fields are dropped, keys and bearer tokens redacted', async () => {
      const tenant = freshTenant()
      const event = {
        action: 'subject.erase',
        outcome: 'ok',
        tenant,
        target: `user:42 ${KEY}`,
        userAgent: `agent Bearer ${KEY}`,
        detail: `failed for Authorization: Bearer ${KEY}, then ${KEY}`,
        value: 'the cached value',
        key: KEY,
        secret: 'hunter2',
        body: { password: 'hunter2' },
      }
      await log.record(event as AuditEvent)
      const [stored] = await log.query({ tenant })
      expect(stored?.target).toBe('user:42 tc_tck_abcdefghijkl_[redacted]')
      expect(stored?.userAgent).toBe('agent Bearer [redacted]')
      expect(stored?.detail).toBe('failed for Authorization: Bearer [redacted] then tc_tck_abcdefghijkl_[redacted]')
      const raw = JSON.stringify(await backend().dump(tenant))
      for (const secret of ['S3cr3t', 'hunter2', 'the cached value']) expect(raw).not.toContain(secret)
      expect(errors).toEqual([])
    })

    it('cleans free text: control characters become spaces, long text is cut to 256 characters', async () => {
      const tenant = freshTenant()
      await log.record({
        action: 'cache.invalidate',
        outcome: 'ok',
        tenant,
        target: 'tags=a\nFAKE line\r\u0000\u2028x',
        detail: '🙂'.repeat(300),
        userAgent: 'u'.repeat(1000),
        ip: '1'.repeat(100),
        keyId: 'not-an-id\n' + 'z'.repeat(100),
      })
      const [stored] = await log.query({ tenant })
      expect(stored?.target).toBe('tags=a FAKE line   x')
      expect(stored?.detail).toBe('🙂'.repeat(MAX_TEXT_LENGTH))
      expect(stored?.userAgent).toHaveLength(MAX_TEXT_LENGTH)
      expect(stored?.ip).toHaveLength(64)
      expect(stored?.keyId).toBe(('not-an-id ' + 'z'.repeat(100)).slice(0, 64))
    })

    it('never throws into the caller: invalid events and failures go to onError', async () => {
      const invalid: unknown[] = [
        { action: 'key.steal', outcome: 'ok' },
        { action: 'key.create', outcome: 'maybe' },
        { action: 'key.create', outcome: 'ok', tenant: 'a b' },
        { action: 'key.create', outcome: 'ok', at: -5 },
        null,
        'key.create',
      ]
      for (const event of invalid) await expect(log.record(event as AuditEvent)).resolves.toBeUndefined()
      expect(errors).toHaveLength(invalid.length)
      for (const error of errors) expect(error).toBeInstanceOf(InvalidOptionsError)
      // An onError that throws is contained too.
      const throwing = await backend().open({
        onError: () => {
          throw new Error('boom')
        },
      })
      await expect(throwing.record({ action: 'key.steal' } as unknown as AuditEvent)).resolves.toBeUndefined()
      await throwing.close()
      await expect(throwing.record({ action: 'cache.purge', outcome: 'ok' })).resolves.toBeUndefined()
    })

    it('waits on close for the events being written, then refuses new ones through onError', async () => {
      const tenant = freshTenant()
      const closing = await backend().open({ onError: (error) => errors.push(error) })
      for (let i = 0; i < 20; i++) void closing.record({ action: 'cache.invalidate', outcome: 'ok', tenant, target: `tags=${i}` })
      await closing.close()
      expect(await log.query({ tenant, limit: 100 })).toHaveLength(20)
      await closing.record({ action: 'cache.invalidate', outcome: 'ok', tenant })
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(TierUnavailableError)
    })

    it('is append-only at the database level: UPDATE and DELETE are rejected, the rows stay', async () => {
      const tenant = freshTenant()
      await log.record({ action: 'key.revoke', outcome: 'ok', tenant, target: 'tck_abcdefghijkl' })
      const before = await backend().dump(tenant)
      for (const statement of ['update', 'delete', 'delete all'] as const) {
        await expect(backend().exec(statement, tenant), statement).rejects.toThrow(/tiercache_audit is append-only/)
      }
      expect(await backend().dump(tenant)).toEqual(before)
      // Appending still works.
      await log.record({ action: 'key.revoke', outcome: 'ok', tenant, target: 'tck_bbbbbbbbbbbb' })
      expect(await log.query({ tenant })).toHaveLength(2)
    })
  })
}

describe('sqlite', () => {
  const path = join(dir, 'audit/cache.db')
  runAuditSuite('sqlite', () => ({
    open: (options) => openAuditLog({ sqlite: path }, options),
    async dump(tenant) {
      const db = new Database(path, { readonly: true })
      try {
        return db.prepare('SELECT * FROM tiercache_audit WHERE tenant = ? ORDER BY id').all(tenant) as Record<string, unknown>[]
      } finally {
        db.close()
      }
    },
    async exec(statement, tenant) {
      const db = new Database(path)
      try {
        if (statement === 'update') return db.prepare("UPDATE tiercache_audit SET outcome = 'error' WHERE tenant = ?").run(tenant)
        if (statement === 'delete') return db.prepare('DELETE FROM tiercache_audit WHERE tenant = ?').run(tenant)
        return db.prepare('DELETE FROM tiercache_audit').run()
      } finally {
        db.close()
      }
    },
  }))

  it('reports a failed write to onError as TC_TIER_UNAVAILABLE, and a failed read by throwing it', async () => {
    const db = openSqliteDatabase(join(dir, 'failing/cache.db'))
    const errors: Error[] = []
    const log = createAuditLog(new SqliteAuditBackend(db, true), { onError: (error) => errors.push(error) })
    db.close()
    await expect(log.record({ action: 'cache.purge', outcome: 'ok', tenant: 'acme' })).resolves.toBeUndefined()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TierUnavailableError)
    await expect(log.query({ tenant: 'acme' })).rejects.toBeInstanceOf(TierUnavailableError)
    await log.close()
  })
})

describe('postgres', () => {
  let admin: Sql
  beforeAll(() => {
    admin = openAdminClient()
  })
  afterAll(async () => {
    await admin.end()
  })

  runAuditSuite('postgres', () => ({
    open: (options) => openAuditLog({ postgres: TEST_POSTGRES_URL }, options),
    dump: (tenant) => admin<Record<string, unknown>[]>`select * from tiercache_audit where tenant = ${tenant} order by id`,
    async exec(statement, tenant) {
      if (statement === 'update') return admin`update tiercache_audit set outcome = 'error' where tenant = ${tenant}`
      if (statement === 'delete') return admin`delete from tiercache_audit where tenant = ${tenant}`
      return admin`delete from tiercache_audit`
    },
  }))

  it('rejects TRUNCATE of the audit log too', async () => {
    const log = await openAuditLog({ postgres: TEST_POSTGRES_URL })
    const tenant = freshTenant()
    try {
      await log.record({ action: 'cache.purge', outcome: 'ok', tenant })
      await expect(admin`truncate tiercache_audit`).rejects.toThrow(/tiercache_audit is append-only: TRUNCATE/)
      expect(await log.query({ tenant })).toHaveLength(1)
    } finally {
      await log.close()
    }
  })
})
