import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { encodeValue } from '../../src/core/codec.js'
import { CorruptEntryError, InvalidOptionsError, MigrationFailedError, TierUnavailableError } from '../../src/errors.js'
import { POSTGRES_MIGRATIONS_FOLDER, type PostgresTier, createPostgresTier } from '../../src/tiers/sql/postgres/index.js'
import { migratePostgres } from '../../src/sql/postgres/migrate.js'
import { RenewingPool, connectionFailure } from '../../src/tiers/sql/postgres/pool.js'
import { type PostgresQueries, prepareQueries } from '../../src/tiers/sql/postgres/queries.js'
import { crashWriterAfterAcks } from '../helpers/child-process.js'
import { dropTiercacheTables, openAdminClient, scratchDatabase } from '../helpers/postgres.js'
import { makeEntry, runTierConformance } from './conformance.js'

// A database of its own: this file drops tiercache's tables, which other files use meanwhile.
const scratch = await scratchDatabase('tiers')
const POSTGRES_URL = scratch.url
afterAll(() => scratch.drop())

let admin: Sql
beforeAll(async () => {
  admin = openAdminClient(POSTGRES_URL)
  // Start from nothing, so that the first tier of this file runs the migrations for real.
  await dropTiercacheTables(admin)
})
afterAll(async () => {
  await admin.end()
})

runTierConformance('postgres', async () => createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 }))

/** The drizzle-kit journal of the shipped migrations. */
interface Journal {
  readonly entries: readonly { readonly idx: number; readonly tag: string }[]
}
const journal = JSON.parse(readFileSync(join(POSTGRES_MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as Journal

/**
 * A migrations folder holding the first `count` shipped migrations only, as an older tiercache
 * shipped them. Remove it after use.
 */
function olderMigrationsFolder(count: number): string {
  const folder = mkdtempSync(join(tmpdir(), 'tiercache-migrations-'))
  mkdirSync(join(folder, 'meta'))
  const entries = journal.entries.slice(0, count)
  for (const entry of entries) {
    copyFileSync(join(POSTGRES_MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`))
    const snapshot = `${String(entry.idx).padStart(4, '0')}_snapshot.json`
    copyFileSync(join(POSTGRES_MIGRATIONS_FOLDER, 'meta', snapshot), join(folder, 'meta', snapshot))
  }
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }))
  return folder
}

/** The collation of each of the entries table's text key columns (null: the database default). */
async function keyCollations(): Promise<Record<string, string | null>> {
  const rows = await admin<{ column_name: string; collation_name: string | null }[]>`
    select column_name, collation_name from information_schema.columns
    where table_name = 'tiercache_entries' and column_name in ('namespace', 'key')`
  return Object.fromEntries(rows.map((row) => [row.column_name, row.collation_name]))
}

/** Orders strings by the bytes of their UTF-8 encoding, as the "C" collation does in a UTF-8 database. */
function byUtf8Bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The messages of an error and of its causes, one per line. */
function causeChain(error: unknown): string {
  const messages: string[] = []
  for (let link = error; link instanceof Error; link = link.cause) messages.push(link.message)
  return messages.join('\n')
}

function expiredEntry(namespace: string, key: string, tags: string[] = []) {
  const now = Date.now()
  return { ...makeEntry(namespace, key, key, { createdAt: now - 10_000, tags }), freshUntil: now - 5_000, staleUntil: now - 1 }
}

async function rowCount(namespace: string): Promise<number> {
  const [row] = await admin<{ n: number }[]>`select count(*)::int as n from tiercache_entries where namespace = ${namespace}`
  return row?.n ?? -1
}

describe('postgres tier', () => {
  let tier: PostgresTier
  beforeEach(async () => {
    tier = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0, cleanupBatchSize: 10 })
    await tier.clear()
  })
  afterEach(async () => {
    await tier.close()
  })

  describe('start and migrations', () => {
    it('finds its migrations next to the package, from src and from dist alike', () => {
      expect(existsSync(join(POSTGRES_MIGRATIONS_FOLDER, 'meta', '_journal.json'))).toBe(true)
      for (const build of ['src', 'dist']) {
        const moduleUrl = new URL(`../../${build}/sql/postgres/migrate.js`, import.meta.url)
        expect(new URL('../../../drizzle/postgres', moduleUrl).href).toBe(new URL('../../drizzle/postgres', import.meta.url).href)
      }
    })

    it('migrates once when many processes start at once on an empty database', async () => {
      await tier.close()
      await dropTiercacheTables(admin)
      const starts = await Promise.allSettled(Array.from({ length: 8 }, () => createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 })))
      const tiers = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []))
      try {
        expect(starts.filter((start) => start.status === 'rejected')).toEqual([])
        const [applied] = await admin<{ n: number }[]>`select count(*)::int as n from tiercache_migrations`
        expect(applied?.n).toBe(journal.entries.length)
        const first = tiers[0]
        const last = tiers[tiers.length - 1]
        await first?.set(makeEntry('ns', 'k', 'works'))
        expect((await last?.get('ns', 'k'))?.value).toBe('works')
      } finally {
        await Promise.all(tiers.map((started) => started.close()))
      }
      tier = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 })
    })

    it('reports a failed migration as MigrationFailedError with its cause', async () => {
      await tier.close()
      await dropTiercacheTables(admin)
      await admin`create table tiercache_entries (unrelated integer)`
      try {
        const error = await createPostgresTier({ url: POSTGRES_URL }).catch((error: unknown) => error)
        expect(error).toBeInstanceOf(MigrationFailedError)
        expect(causeChain(error)).toMatch(/relation "tiercache_entries" already exists/)
        // the failed migration left no trace in the journal, so the next start retries it
        const [applied] = await admin<{ n: number }[]>`select count(*)::int as n from tiercache_migrations`
        expect(applied?.n).toBe(0)
      } finally {
        await dropTiercacheTables(admin)
      }
      tier = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 })
    })

    it('brings a table with data from 0000 to byte-order keys (0001), keeping every row, without a table rewrite', async () => {
      await tier.close()
      await dropTiercacheTables(admin)
      const older = olderMigrationsFolder(1)
      try {
        await migratePostgres(POSTGRES_URL, older)
      } finally {
        rmSync(older, { recursive: true, force: true })
      }
      expect(await keyCollations()).toEqual({ namespace: null, key: null })
      // Rows as tiercache 0000 stored them: in bulk with tags, and keys that a linguistic collation
      // would order differently from bytes (case, accents, combining marks, astral, CJK, spaces).
      await admin`insert into tiercache_entries (namespace, key, value, tags, created_at, fresh_until, stale_until)
        select 'bulk', 'k' || i, ${encodeValue('bulk')}, array['t' || (i % 10)], 0, 9e15, 9e15 from generate_series(1, 3000) i`
      const special = ['B', 'a', 'é', 'e\u0301', 'z', '🙂', '\ue000', '中文', 'k:1', 'K 1', 'ß', 'ss']
      for (const [i, key] of special.entries()) {
        await admin`insert into tiercache_entries (namespace, key, value, tags, created_at, fresh_until, stale_until)
          values ('special', ${key}, ${encodeValue(i)}, ${admin.array(['special'])}, 0, 9e15, 9e15)`
      }
      const filenode = async () =>
        (await admin<{ n: string }[]>`select pg_relation_filenode('tiercache_entries')::text as n`)[0]?.n
      const before = await filenode()

      tier = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0 })

      const [applied] = await admin<{ n: number }[]>`select count(*)::int as n from tiercache_migrations`
      expect(applied?.n).toBe(journal.entries.length)
      expect(await keyCollations()).toEqual({ namespace: 'C', key: 'C' })
      // same type, new collation: the rows stay where they are; only the primary key is rebuilt
      expect(await filenode()).toBe(before)
      const [pkey] = await admin<{ valid: boolean; primary: boolean }[]>`
        select indisvalid as valid, indisprimary as primary from pg_index where indexrelid = 'tiercache_entries_pkey'::regclass`
      expect(pkey).toEqual({ valid: true, primary: true })
      expect(await tier.count('bulk')).toBe(3000)
      expect(await tier.deleteByTags(['t3'], 'bulk')).toBe(300)
      expect((await tier.getMany('special', special)).map((entry) => entry?.value)).toEqual(special.map((_, i) => i))
      expect(await tier.keys('special', { limit: 100 })).toEqual([...special].sort(byUtf8Bytes))
    })

    it('reports an unreachable server as TierUnavailableError', async () => {
      const error = await createPostgresTier({ url: 'postgres://postgres@127.0.0.1:1/test' }).catch((error: unknown) => error)
      expect(error).toBeInstanceOf(TierUnavailableError)
      expect((error as TierUnavailableError).cause).toBeDefined()
    })

    it('rejects invalid options without echoing the url', async () => {
      const error = await createPostgresTier({ url: 'mysql://user:s3cret@host/db' }).catch((error: unknown) => error)
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as Error).message).toMatch(/url/)
      expect((error as Error).message).not.toMatch(/s3cret/)
      await expect(createPostgresTier({ url: POSTGRES_URL, maxConnections: 0 })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: -5 })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(createPostgresTier({ url: POSTGRES_URL, cleanupBatchSize: 0 })).rejects.toBeInstanceOf(InvalidOptionsError)
    })
  })

  describe('query plans (EXPLAIN)', () => {
    let queries: PostgresQueries
    beforeAll(() => {
      queries = prepareQueries(drizzle({ client: admin }))
    })
    afterEach(async () => {
      await admin`reset enable_seqscan`
    })

    async function plan(query: { getQuery(): { sql: string } }, parameters: unknown[]): Promise<string> {
      const rows = await admin.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query.getQuery().sql}`, parameters as never[])
      return rows.map((row) => row['QUERY PLAN']).join('\n')
    }

    it('finds tagged entries through the GIN index, in one namespace or all', async () => {
      // Enough rows, with statistics, for the planner to weigh the GIN index against the primary key.
      await admin`insert into tiercache_entries (namespace, key, value, tags, created_at, fresh_until, stale_until)
        select 'big', 'k' || i, '\\x00'::bytea, array['tag' || i, 'common'], 0, 9e15, 9e15 from generate_series(1, 5000) i`
      await admin`analyze tiercache_entries`
      await admin`set enable_seqscan = off`
      const everywhere = await plan(queries.deleteByTagsEverywhere, [['tag7', 'tag8']])
      const inNamespace = await plan(queries.deleteByTagsInNamespace, ['big', ['tag7', 'tag8']])
      expect(everywhere).toMatch(/Bitmap Index Scan on tiercache_entries_tags_idx/)
      expect(inNamespace).toMatch(/Bitmap Index Scan on tiercache_entries_tags_idx/)
      expect(`${everywhere}\n${inNamespace}`).not.toMatch(/Seq Scan/)
    })

    it('lists keys by a range scan of the primary key, in its order, without sorting', async () => {
      // Four namespaces of 5,000 rows, with statistics, and the planner left free (no enable_*
      // switches). A page of the default size, with the namespace's first page's last key as the
      // cursor (as a caller pages), must come from the primary key index in its order. (Near the end
      // of a namespace the planner may rather fetch the few remaining rows by a bitmap scan of the
      // same index and sort them: a cost it bounds by those rows.)
      await admin`insert into tiercache_entries (namespace, key, value, tags, created_at, fresh_until, stale_until)
        select 'ns' || (i % 4), 'k' || i, '\\x00'::bytea, '{}', 0, 9e15, 9e15 from generate_series(1, 20000) i`
      await admin`analyze tiercache_entries`
      const now = Date.now()
      const firstPage = await queries.keysFirst.execute({ namespace: 'ns1', now, limit: 500 })
      const cursor = firstPage[firstPage.length - 1]?.key ?? ''
      const first = await plan(queries.keysFirst, ['ns1', now, 500])
      const after = await plan(queries.keysAfter, ['ns1', cursor, now, 500])
      for (const page of [first, after]) {
        expect(page).toMatch(/^Limit/)
        expect(page).toMatch(/Index Scan using tiercache_entries_pkey on tiercache_entries/)
        expect(page).not.toMatch(/Sort|Seq Scan/)
      }
      expect(first).toMatch(/Index Cond: \(namespace = 'ns1'::text\)/)
      expect(after).toContain(`Index Cond: ((namespace = 'ns1'::text) AND (key > '${cursor}'::text))`)
    })

    it('reads by primary key and cleans up through a TID scan on the stale_until index', async () => {
      await admin`set enable_seqscan = off`
      expect(await plan(queries.get, ['ns', 'k'])).toMatch(/tiercache_entries_pkey/)
      expect(await plan(queries.getMany, ['ns', ['a', 'b']])).toMatch(/tiercache_entries_pkey/)
      const cleanup = await plan(queries.cleanupBatch, [Date.now(), 10])
      expect(cleanup).toMatch(/Tid Scan on tiercache_entries/)
      expect(cleanup).toMatch(/tiercache_entries_stale_until_idx/)
    })
  })

  describe('key listing', () => {
    it('lists keys in UTF-8 byte order, the order of the "C" collation of the key columns', async () => {
      expect(await keyCollations()).toEqual({ namespace: 'C', key: 'C' })
      const keys = ['b', 'B', 'a', 'A', 'é', 'e\u0301', 'f', '🙂', '\ue000', '\uffef', '中文', ' k', 'k', 'k:1', 'K1', 'ß', 'ss', '12', '١٢']
      for (const key of keys) await tier.set(makeEntry('ns', key, key))
      const sorted = [...keys].sort(byUtf8Bytes)
      expect(await tier.keys('ns', { limit: 100 })).toEqual(sorted)
      // the cursor follows the same order: in UTF-8 bytes U+E000 (EE 80 80) sorts before 🙂 (F0 9F ...),
      // where UTF-16 (JS `<`) puts 🙂 (D83D ...) first
      const cursor = '\ue000'
      expect(await tier.keys('ns', { after: cursor, limit: 100 })).toEqual(sorted.filter((key) => byUtf8Bytes(key, cursor) > 0))
    })
  })

  describe('expiry', () => {
    it('deletes an expired entry when get meets it, in the background', async () => {
      await tier.set(expiredEntry('ns', 'gone'))
      await tier.set(expiredEntry('ns', 'gone2'))
      expect(await tier.get('ns', 'gone')).toBeUndefined()
      expect((await tier.getMany('ns', ['gone2'])).map((entry) => entry?.value)).toEqual([undefined])
      await expect.poll(() => rowCount('ns'), { timeout: 2_000, interval: 20 }).toBe(0)
    })

    it('spares, in its lazy delete, an entry rewritten since the read that found it expired', async () => {
      const queries = prepareQueries(drizzle({ client: admin }))
      const readAt = Date.now()
      await tier.set(makeEntry('ns', 'k', 'fresh again'))
      expect((await queries.deleteExpired.execute({ namespace: 'ns', key: 'k', now: readAt })).count).toBe(0)
      expect((await queries.deleteManyExpired.execute({ namespace: 'ns', keys: ['k'], now: readAt })).count).toBe(0)
      expect((await tier.get('ns', 'k'))?.value).toBe('fresh again')
    })

    it('does not leave a failed background delete unhandled', async () => {
      await tier.set(expiredEntry('ns', 'gone'))
      const read = tier.get('ns', 'gone')
      await tier.close()
      expect(await read).toBeUndefined()
      await tier.close()
    })

    it('cleans up expired entries in batches and reports how many went', async () => {
      for (let i = 0; i < 25; i++) await tier.set(expiredEntry(i % 2 === 0 ? 'a' : 'b', `old${i}`, [`t${i}`]))
      for (let i = 0; i < 5; i++) await tier.set(makeEntry('a', `new${i}`, i))
      expect(await tier.cleanupExpired()).toBe(25)
      expect(await tier.count()).toBe(5)
      expect(await tier.cleanupExpired()).toBe(0)
    })

    it('runs the cleanup periodically on its own', async () => {
      const periodic = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 20 })
      try {
        for (let i = 0; i < 3; i++) await periodic.set(expiredEntry('ns', `old${i}`))
        await periodic.set(makeEntry('ns', 'live', 1))
        await expect.poll(() => rowCount('ns'), { timeout: 2_000, interval: 20 }).toBe(1)
      } finally {
        await periodic.close()
      }
    })
  })

  describe('bad data, concurrency and closing', () => {
    it('throws CorruptEntryError for an undecodable payload', async () => {
      await tier.set(makeEntry('ns', 'bad', 1))
      // a msgpack array announcing two items but holding one
      await admin`update tiercache_entries set value = '\\x9201'::bytea where key = 'bad'`
      await expect(tier.get('ns', 'bad')).rejects.toBeInstanceOf(CorruptEntryError)
      await expect(tier.getMany('ns', ['bad'])).rejects.toBeInstanceOf(CorruptEntryError)
      expect(await tier.delete('ns', 'bad')).toBe(true)
    })

    it('takes a storm of mixed operations on a small pool without deadlock', async () => {
      const small = await createPostgresTier({ url: POSTGRES_URL, cleanupIntervalMs: 0, maxConnections: 3 })
      try {
        const operations = Array.from({ length: 300 }, (_, i) => {
          const key = `k${i % 7}`
          switch (i % 5) {
            case 0:
              return small.deleteByTags([`t${i % 3}`, `t${(i + 1) % 3}`], 'ns')
            case 1:
              return small.getMany('ns', ['k0', 'k1', 'k2', key])
            case 2:
              return small.cleanupExpired()
            default:
              return small.set(i % 4 === 0 ? expiredEntry('ns', key, [`t${i % 3}`]) : makeEntry('ns', key, i, { tags: [`t${i % 3}`, 'all'] }))
          }
        })
        await Promise.all(operations)
        // Which storm writes survive depends on how the pool interleaved them with the tag deletes
        // (a delete sent before a set may still run after it), possibly none; one written now is live.
        await small.set(makeEntry('ns', 'k0', 'after', { tags: ['t0', 'all'] }))
        // Lazy deletes of expired rows may still be landing, so count only what must hold: every live
        // entry is removed by its tags, and nothing of the namespace is left after.
        const keys = Array.from({ length: 7 }, (_, i) => `k${i}`)
        const live = (await small.getMany('ns', keys)).filter((entry) => entry !== undefined).length
        expect(live).toBeGreaterThan(0)
        expect(await small.deleteByTags(['all', 't0', 't1', 't2'], 'ns')).toBeGreaterThanOrEqual(live)
        expect(await small.count('ns')).toBe(0)
      } finally {
        await small.close()
      }
    })

    it('closes idempotently, after which calls fail', async () => {
      await Promise.all([tier.close(), tier.close()])
      await tier.close()
      await expect(tier.get('ns', 'k')).rejects.toThrow()
    })

  })

  describe('durability', () => {
    it('keeps every acknowledged write when the writing process is killed', async () => {
      const acked = await crashWriterAfterAcks('postgres', POSTGRES_URL, 200)
      const got = await tier.getMany(
        'crash',
        acked.map((i) => `k${i}`),
      )
      expect(got.map((entry) => (entry?.value as { i: number } | undefined)?.i)).toEqual(acked)
      await tier.clear('crash')
    }, 30_000)
  })

  describe('connections that die', () => {
    it('classifies the errors of a lost connection, a refused one, and of a statement', () => {
      expect(connectionFailure(Object.assign(new Error('drizzle'), { cause: { code: '57P01' } }))).toBe('lost')
      expect(connectionFailure({ code: 'CONNECTION_CLOSED' })).toBe('lost')
      expect(connectionFailure({ code: 'ECONNREFUSED' })).toBe('unreachable')
      expect(connectionFailure({ code: '57P03' })).toBe('unreachable')
      expect(connectionFailure({ code: '08006' })).toBe('unreachable')
      expect(connectionFailure({ code: '23505' })).toBeUndefined()
      expect(connectionFailure(new Error('no code'))).toBeUndefined()
    })

    it('replaces a pool whose statement stalls, failing it at once, and serves on the new one', async () => {
      const pool = new RenewingPool({ url: POSTGRES_URL, maxConnections: 2, stallTimeoutMs: 200 })
      try {
        const stalled = pool.client
        const started = performance.now()
        const error = await pool.run(() => stalled`select pg_sleep(10)`, false).catch((caught: unknown) => caught)
        expect(connectionFailure(error)).toBe('lost')
        expect(performance.now() - started).toBeLessThan(5_000)
        expect(pool.client).not.toBe(stalled)
        const [row] = await pool.run((queries) => queries.countAll.execute(), true)
        expect(typeof row?.count).toBe('number')
      } finally {
        await pool.end()
      }
    })
  })
})
