import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CorruptEntryError, InvalidOptionsError, MigrationFailedError, TierUnavailableError } from '../../src/errors.js'
import { type SqliteTier, createSqliteTier } from '../../src/tiers/sql/sqlite/index.js'
import { SQLITE_MIGRATIONS, migrateSqlite } from '../../src/sql/sqlite/migrations.js'
import { SQLITE_SQL } from '../../src/tiers/sql/sqlite/statements.js'
import { crashWriterAfterAcks } from '../helpers/child-process.js'
import { makeEntry, runTierConformance } from './conformance.js'

const root = mkdtempSync(join(tmpdir(), 'tiercache-sqlite-'))
let fileCounter = 0
/** A fresh database path under the test's temp folder, in a sub-folder that does not exist yet. */
function freshPath(): string {
  fileCounter++
  return join(root, `run-${fileCounter}`, 'cache.db')
}

afterAll(() => rmSync(root, { recursive: true, force: true }))

runTierConformance('sqlite', async () => createSqliteTier({ path: freshPath(), cleanupIntervalMs: 0 }))

/** Inspects a tier's file through a connection of its own, as another process would. */
function inspect(path: string): Database.Database {
  return new Database(path, { timeout: 5_000 })
}

function tagRows(db: Database.Database): { namespace: string; tag: string; key: string }[] {
  return db.prepare('SELECT namespace, tag, key FROM tiercache_entry_tags ORDER BY namespace, tag, key').all() as {
    namespace: string
    tag: string
    key: string
  }[]
}

function expiredEntry(namespace: string, key: string, tags: string[] = []) {
  const now = Date.now()
  return { ...makeEntry(namespace, key, key, { createdAt: now - 10_000, tags }), freshUntil: now - 5_000, staleUntil: now - 1 }
}

describe('sqlite tier', () => {
  let path: string
  let tier: SqliteTier
  let db: Database.Database

  beforeEach(() => {
    path = freshPath()
    tier = createSqliteTier({ path, cleanupIntervalMs: 0, cleanupBatchSize: 10 })
    db = inspect(path)
  })
  afterEach(async () => {
    db.close()
    await tier.close()
  })

  describe('opening', () => {
    it('creates parent folders, uses WAL and records the schema version', () => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length)
      expect(tier.capabilities).toEqual({ shared: true, durable: true })
      expect(tier.kind).toBe('sqlite')
    })

    it('keeps data across reopening, without migrating again', async () => {
      await tier.set(makeEntry('ns', 'k', 'kept', { tags: ['t'] }))
      await tier.close()
      tier = createSqliteTier({ path, cleanupIntervalMs: 0 })
      expect((await tier.get('ns', 'k'))?.value).toBe('kept')
      expect(await tier.deleteByTags(['t'])).toBe(1)
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length)
    })

    it('shares the file between connections, as between processes', async () => {
      const other = createSqliteTier({ path, cleanupIntervalMs: 0 })
      try {
        await tier.set(makeEntry('ns', 'k', 'from the first', { tags: ['t'] }))
        expect((await other.get('ns', 'k'))?.value).toBe('from the first')
        expect(await other.deleteByTags(['t'], 'ns')).toBe(1)
        expect(await tier.get('ns', 'k')).toBeUndefined()
      } finally {
        await other.close()
      }
    })

    it('opens an in-memory database, which is neither shared nor durable', async () => {
      const memory = createSqliteTier({ path: ':memory:' })
      try {
        await memory.set(makeEntry('ns', 'k', 1))
        expect((await memory.get('ns', 'k'))?.value).toBe(1)
        expect(memory.capabilities).toEqual({ shared: false, durable: false })
      } finally {
        await memory.close()
      }
    })

    it('rejects invalid options', () => {
      expect(() => createSqliteTier({ path: '' })).toThrow(InvalidOptionsError)
      expect(() => createSqliteTier({ path: freshPath(), cleanupIntervalMs: -1 })).toThrow(InvalidOptionsError)
      expect(() => createSqliteTier({ path: freshPath(), cleanupIntervalMs: 2 ** 31 })).toThrow(InvalidOptionsError)
      expect(() => createSqliteTier({ path: freshPath(), cleanupBatchSize: 0 })).toThrow(InvalidOptionsError)
      expect(() => createSqliteTier({ path: freshPath(), cleanupBatchSize: 1.5 })).toThrow(/cleanupBatchSize/)
    })

    it('reports a file it cannot open as unavailable', () => {
      const notAFolder = join(root, 'plain-file')
      writeFileSync(notAFolder, 'x')
      const error = captureError(() => createSqliteTier({ path: join(notAFolder, 'cache.db') }))
      expect(error).toBeInstanceOf(TierUnavailableError)
      expect((error as TierUnavailableError).cause).toBeDefined()
    })

    it('refuses a file written by a newer schema', async () => {
      const newer = freshPath()
      await createSqliteTier({ path: newer }).close()
      const raw = inspect(newer)
      raw.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`)
      raw.close()
      expect(() => createSqliteTier({ path: newer })).toThrow(MigrationFailedError)
    })

    it('applies migrations all or nothing, reporting a failure with its cause', () => {
      const raw = new Database(':memory:')
      const error = captureError(() => migrateSqlite(raw, ['CREATE TABLE first (x)', 'CREATE TABLE broken (']))
      expect(error).toBeInstanceOf(MigrationFailedError)
      expect((error as MigrationFailedError).cause).toBeInstanceOf(Error)
      expect(raw.pragma('user_version', { simple: true })).toBe(0)
      expect(raw.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'first'").pluck().get()).toBe(0)
      migrateSqlite(raw, ['CREATE TABLE first (x)'])
      migrateSqlite(raw, ['CREATE TABLE first (x)', 'CREATE TABLE second (y)'])
      expect(raw.pragma('user_version', { simple: true })).toBe(2)
      raw.close()
    })
  })

  describe('tag index', () => {
    it('follows every write, replacement and removal of an entry', async () => {
      await tier.set(makeEntry('ns', 'a', 1, { tags: ['x', 'y'] }))
      await tier.set(makeEntry('ns', 'b', 2, { tags: ['y'] }))
      await tier.set(makeEntry('other', 'a', 3, { tags: ['x'] }))
      expect(tagRows(db)).toEqual([
        { namespace: 'ns', tag: 'x', key: 'a' },
        { namespace: 'ns', tag: 'y', key: 'a' },
        { namespace: 'ns', tag: 'y', key: 'b' },
        { namespace: 'other', tag: 'x', key: 'a' },
      ])
      await tier.set(makeEntry('ns', 'a', 1, { tags: ['z'] }))
      await tier.set(makeEntry('ns', 'b', 2))
      expect(tagRows(db)).toEqual([
        { namespace: 'ns', tag: 'z', key: 'a' },
        { namespace: 'other', tag: 'x', key: 'a' },
      ])
      await tier.delete('ns', 'a')
      expect(tagRows(db)).toEqual([{ namespace: 'other', tag: 'x', key: 'a' }])
      await tier.clear('other')
      expect(tagRows(db)).toEqual([])
    })

    it('stores a repeated tag once', async () => {
      await tier.set({ ...makeEntry('ns', 'k', 1), tags: ['t', 't'] })
      expect(tagRows(db)).toEqual([{ namespace: 'ns', tag: 't', key: 'k' }])
      expect(await tier.deleteByTags(['t', 't'])).toBe(1)
    })

    it('drops the tags of entries removed by tag, by expiry and by cleanup', async () => {
      await tier.set(makeEntry('ns', 'tagged', 1, { tags: ['t', 'u'] }))
      await tier.set(expiredEntry('ns', 'lazy', ['t']))
      await tier.set(expiredEntry('ns', 'swept', ['u']))
      expect(await tier.get('ns', 'lazy')).toBeUndefined()
      expect(await tier.cleanupExpired()).toBe(1)
      expect(await tier.deleteByTags(['t'])).toBe(1)
      expect(tagRows(db)).toEqual([])
    })

    it('serves deletes by tag from the indexes, never scanning the entries (EXPLAIN QUERY PLAN)', () => {
      for (const statement of ['deleteByTagsInNamespace', 'deleteByTagsEverywhere'] as const) {
        const plan = queryPlan(db, SQLITE_SQL[statement])
        expect(plan, statement).toMatch(/SEARCH t USING COVERING INDEX (tiercache_entry_tags_tag_idx|sqlite_autoindex_tiercache_entry_tags_1) \(tag=\?/)
        expect(plan, statement).toContain('SEARCH e USING COVERING INDEX sqlite_autoindex_tiercache_entries_1 (namespace=? AND key=?)')
        expect(plan, statement).toContain('SEARCH tiercache_entries USING INTEGER PRIMARY KEY (rowid=?)')
        expectOnlyJsonListsScanned(plan)
      }
    })

    it('lists keys by a range scan of the primary key index, in its order, with no sort (EXPLAIN QUERY PLAN)', () => {
      expect(queryPlan(db, SQLITE_SQL.keysFirst)).toBe('SEARCH tiercache_entries USING INDEX sqlite_autoindex_tiercache_entries_1 (namespace=?)')
      expect(queryPlan(db, SQLITE_SQL.keysAfter)).toBe(
        'SEARCH tiercache_entries USING INDEX sqlite_autoindex_tiercache_entries_1 (namespace=? AND key>?)',
      )
    })

    it('lists keys in UTF-8 byte order (BINARY collation)', async () => {
      const keys = ['b', 'B', 'a', 'é', 'e\u0301', '🙂', '\ue000', '\uffef', '中文', ' k', 'k:1', 'ß', 'ss']
      for (const key of keys) await tier.set(makeEntry('ns', key, key))
      const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
      expect(await tier.keys('ns', { limit: 100 })).toEqual(byBytes)
      // in bytes U+E000 (EE 80 80) comes before 🙂 (F0 9F ...); in UTF-16 🙂 (D83D ...) would come first
      expect(await tier.keys('ns', { after: '\ue000', limit: 100 })).toEqual(['\uffef', '🙂'])
    })

    it('serves reads, lazy deletes and the cleanup from indexes too', () => {
      const statements = ['get', 'getMany', 'delete', 'deleteExpired', 'deleteManyExpired', 'cleanupBatch', 'countNamespace', 'keysFirst', 'keysAfter'] as const
      for (const statement of statements) expectOnlyJsonListsScanned(queryPlan(db, SQLITE_SQL[statement]))
      expect(queryPlan(db, SQLITE_SQL.cleanupBatch)).toContain('USING COVERING INDEX tiercache_entries_stale_until_idx')
    })
  })

  describe('expiry', () => {
    it('deletes an expired entry when get meets it', async () => {
      await tier.set(expiredEntry('ns', 'gone'))
      expect(await tier.count('ns')).toBe(1)
      expect(await tier.get('ns', 'gone')).toBeUndefined()
      expect(await tier.count('ns')).toBe(0)
    })

    it('spares, in its lazy delete, an entry rewritten since the read that found it expired', async () => {
      const readAt = Date.now()
      await tier.set(makeEntry('ns', 'k', 'fresh again'))
      expect(db.prepare(SQLITE_SQL.deleteExpired).run('ns', 'k', readAt).changes).toBe(0)
      expect(db.prepare(SQLITE_SQL.deleteManyExpired).run('ns', '["k"]', readAt).changes).toBe(0)
      expect((await tier.get('ns', 'k'))?.value).toBe('fresh again')
    })

    it('deletes the expired entries getMany meets, in one go, keeping live ones', async () => {
      await tier.set(expiredEntry('ns', 'gone1'))
      await tier.set(expiredEntry('ns', 'gone2'))
      await tier.set(makeEntry('ns', 'live', 'live'))
      const got = await tier.getMany('ns', ['gone1', 'live', 'gone2', 'live'])
      expect(got.map((entry) => entry?.value)).toEqual([undefined, 'live', undefined, 'live'])
      expect(await tier.count('ns')).toBe(1)
    })

    it('cleans up expired entries in batches and reports how many went', async () => {
      for (let i = 0; i < 25; i++) await tier.set(expiredEntry(i % 2 === 0 ? 'a' : 'b', `old${i}`, [`t${i}`]))
      for (let i = 0; i < 5; i++) await tier.set(makeEntry('a', `new${i}`, i, { tags: ['t0'] }))
      expect(await tier.cleanupExpired()).toBe(25)
      expect(await tier.count()).toBe(5)
      expect(await tier.cleanupExpired()).toBe(0)
      expect(tagRows(db)).toHaveLength(5)
    })

    it('runs the cleanup periodically on its own', async () => {
      const periodic = createSqliteTier({ path, cleanupIntervalMs: 20 })
      try {
        for (let i = 0; i < 3; i++) await periodic.set(expiredEntry('ns', `old${i}`))
        await periodic.set(makeEntry('ns', 'live', 1))
        await expect.poll(() => periodic.count('ns'), { timeout: 2_000, interval: 20 }).toBe(1)
      } finally {
        await periodic.close()
      }
    })
  })

  describe('bad data and closing', () => {
    it('throws CorruptEntryError for an undecodable payload or tag list', async () => {
      await tier.set(makeEntry('ns', 'bad-value', 1))
      await tier.set(makeEntry('ns', 'bad-tags', 2, { tags: ['t'] }))
      // a msgpack array announcing two items but holding one
      db.prepare("UPDATE tiercache_entries SET value = x'9201' WHERE key = 'bad-value'").run()
      db.prepare("UPDATE tiercache_entries SET tags = '[1]' WHERE key = 'bad-tags'").run()
      await expect(tier.get('ns', 'bad-value')).rejects.toBeInstanceOf(CorruptEntryError)
      await expect(tier.getMany('ns', ['bad-value'])).rejects.toBeInstanceOf(CorruptEntryError)
      await expect(tier.get('ns', 'bad-tags')).rejects.toBeInstanceOf(CorruptEntryError)
      // corrupt entries can still be removed
      expect(await tier.delete('ns', 'bad-value')).toBe(true)
      expect(await tier.delete('ns', 'bad-tags')).toBe(true)
    })

    it('refuses to store a tag list that is not a JSON array', async () => {
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      for (const tags of ['not json', '{"t":1}', 'null']) {
        expect(() => db.prepare('UPDATE tiercache_entries SET tags = ? WHERE key = ?').run(tags, 'k'), tags).toThrow()
      }
      expect((await tier.get('ns', 'k'))?.tags).toEqual(['t'])
    })

    it('closes idempotently, after which calls fail', async () => {
      await Promise.all([tier.close(), tier.close()])
      await tier.close()
      await expect(tier.get('ns', 'k')).rejects.toThrow()
      expect(await tier.cleanupExpired()).toBe(0)
    })

  })

  describe('durability', () => {
    it('keeps every acknowledged write when the writing process is killed', async () => {
      const acked = await crashWriterAfterAcks('sqlite', path, 200)
      const reopened = createSqliteTier({ path, cleanupIntervalMs: 0 })
      try {
        const got = await reopened.getMany(
          'crash',
          acked.map((i) => `k${i}`),
        )
        expect(got.map((entry) => (entry?.value as { i: number } | undefined)?.i)).toEqual(acked)
        const stored = await reopened.count('crash')
        expect(stored).toBeGreaterThanOrEqual(acked.length)
        // the tag rows were committed with their entries
        expect(await reopened.deleteByTags(['tag0', 'tag1', 'tag2'], 'crash')).toBe(stored)
      } finally {
        await reopened.close()
      }
    }, 30_000)
  })
})

function captureError(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

function queryPlan(db: Database.Database, sql: string): string {
  const parameters = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null)
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]
  return rows.map((row) => row.detail).join('\n')
}

/** The only full scans allowed are of the bound JSON lists (keys or tags), never of a table. */
function expectOnlyJsonListsScanned(plan: string): void {
  const scans = plan.split('\n').filter((line) => line.startsWith('SCAN '))
  for (const scan of scans) expect(scan).toMatch(/^SCAN json_each VIRTUAL TABLE/)
}
