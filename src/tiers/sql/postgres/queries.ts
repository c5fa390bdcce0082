import { and, arrayOverlaps, asc, count, eq, gt, gte, lt, lte, sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { entries } from '../../../sql/postgres/schema.js'

// Every statement is built once and prepared (postgres.js then prepares it once per connection), so
// a call costs a parameter fill and a round trip, not a query build. Values come in as placeholders.
const namespace = sql.placeholder('namespace')
const key = sql.placeholder('key')
const keys = sql.placeholder('keys')
const tags = sql.placeholder('tags')
const now = sql.placeholder('now')
const limit = sql.placeholder('limit')
const after = sql.placeholder('after')

const entryColumns = {
  value: entries.value,
  tags: entries.tags,
  createdAt: entries.createdAt,
  freshUntil: entries.freshUntil,
  staleUntil: entries.staleUntil,
}

/**
 * The prepared statements of the PostgreSQL tier, built on `db`. Exported so that tests can read
 * their SQL (`.getQuery()`) and check the query plans.
 */
export function prepareQueries(db: PostgresJsDatabase) {
  const inNamespace = eq(entries.namespace, namespace)
  const inRange = and(gte(entries.namespace, sql.placeholder('start')), lt(entries.namespace, sql.placeholder('end')))
  const atAddress = and(inNamespace, eq(entries.key, key))
  const withAnyTag = arrayOverlaps(entries.tags, tags)
  return {
    get: db.select(entryColumns).from(entries).where(atAddress).prepare('tiercache_get'),
    getMany: db
      .select({ key: entries.key, ...entryColumns })
      .from(entries)
      .where(and(inNamespace, sql`${entries.key} = any(${keys})`))
      .prepare('tiercache_get_many'),
    // One statement: concurrent upserts of a key serialize on its row lock and cannot deadlock, and
    // value, times and tags are replaced together.
    upsert: db
      .insert(entries)
      .values({
        namespace,
        key,
        value: sql.placeholder('value'),
        tags,
        createdAt: sql.placeholder('createdAt'),
        freshUntil: sql.placeholder('freshUntil'),
        staleUntil: sql.placeholder('staleUntil'),
      })
      .onConflictDoUpdate({
        target: [entries.namespace, entries.key],
        set: {
          value: sql`excluded.value`,
          tags: sql`excluded.tags`,
          createdAt: sql`excluded.created_at`,
          freshUntil: sql`excluded.fresh_until`,
          staleUntil: sql`excluded.stale_until`,
        },
      })
      .prepare('tiercache_upsert'),
    delete: db.delete(entries).where(atAddress).prepare('tiercache_delete'),
    // Compare-and-set on the payload: a rewrite must not undo a newer write.
    rewrite: db
      .update(entries)
      .set({ value: sql`${sql.placeholder('payload')}` })
      .where(and(atAddress, eq(entries.value, sql.placeholder('expected'))))
      .returning({ key: entries.key })
      .prepare('tiercache_rewrite'),
    // The stale_until condition keeps a lazy delete from removing a fresh write that landed after the read.
    deleteExpired: db
      .delete(entries)
      .where(and(atAddress, lte(entries.staleUntil, now)))
      .prepare('tiercache_delete_expired'),
    deleteManyExpired: db
      .delete(entries)
      .where(and(inNamespace, sql`${entries.key} = any(${keys})`, lte(entries.staleUntil, now)))
      .prepare('tiercache_delete_many_expired'),
    deleteByTagsInNamespace: db
      .delete(entries)
      .where(and(inNamespace, withAnyTag))
      .prepare('tiercache_delete_by_tags_in_namespace'),
    deleteByTagsEverywhere: db.delete(entries).where(withAnyTag).prepare('tiercache_delete_by_tags_everywhere'),
    clearNamespace: db.delete(entries).where(inNamespace).prepare('tiercache_clear_namespace'),
    clearAll: db.delete(entries).prepare('tiercache_clear_all'),
    // [start, end): a range scan of the primary key index ("C" collation: code point order).
    clearRange: db.delete(entries).where(inRange).prepare('tiercache_clear_range'),
    namespacesInRange: db
      .selectDistinct({ namespace: entries.namespace })
      .from(entries)
      .where(inRange)
      .orderBy(asc(entries.namespace))
      .prepare('tiercache_namespaces_in_range'),
    // Pages of live keys: a range scan of the primary key index, whose order is byte order since the
    // columns' collation is "C" (schema.ts). `key > $after` and ORDER BY take that collation from the
    // column, so they match the index; the first page has its own statement, since a nullable cursor
    // (`$after IS NULL OR key > $after`) would keep the planner from bounding the scan.
    keysFirst: db
      .select({ key: entries.key })
      .from(entries)
      .where(and(inNamespace, gt(entries.staleUntil, now)))
      .orderBy(asc(entries.key))
      .limit(limit)
      .prepare('tiercache_keys_first'),
    keysAfter: db
      .select({ key: entries.key })
      .from(entries)
      .where(and(inNamespace, gt(entries.key, after), gt(entries.staleUntil, now)))
      .orderBy(asc(entries.key))
      .limit(limit)
      .prepare('tiercache_keys_after'),
    countNamespace: db.select({ count: count() }).from(entries).where(inNamespace).prepare('tiercache_count_namespace'),
    countAll: db.select({ count: count() }).from(entries).prepare('tiercache_count_all'),
    usage: db
      .select({ entries: count(), bytes: sql<string>`coalesce(sum(octet_length(${entries.value})), 0)` })
      .from(entries)
      .where(sql`${entries.namespace} = any(${sql.placeholder('namespaces')})`)
      .prepare('tiercache_usage'),
    // `ctid = any(array(...))` runs as a TID scan (unlike `ctid in (...)`, which may scan the table),
    // and there must be no other condition, lest the planner walk the stale_until index instead and
    // make each batch cost as much as all expired rows. The subquery locks the rows it picks (FOR
    // UPDATE), so none can be rewritten before the delete: a concurrent upsert waits, then inserts
    // anew. SKIP LOCKED lets cleanups in several processes, and writers, pass each other instead of
    // queueing; a skipped row goes in a later batch.
    cleanupBatch: db
      .delete(entries)
      .where(
        sql`ctid = any(array(${db
          .select({ ctid: sql`ctid` })
          .from(entries)
          .where(lte(entries.staleUntil, now))
          .limit(limit)
          .for('update', { skipLocked: true })}))`,
      )
      .prepare('tiercache_cleanup_batch'),
  }
}

/** The prepared statements of the PostgreSQL tier; see {@link prepareQueries}. */
export type PostgresQueries = ReturnType<typeof prepareQueries>
