import { bigint, customType, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'

// drizzle-orm has no bytea column; postgres.js reads bytea as a Buffer and writes any Uint8Array.
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
})

// Text compared byte by byte (the "C" collation) rather than by the database's default collation:
// drizzle-orm has no collation option for columns, so the collation is part of the type name, which
// drizzle-kit writes as is (`SET DATA TYPE text COLLATE "C"`). See `entries` for why.
const textC = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
})

/**
 * The entries of the PostgreSQL tier: one row per (namespace, key). Times are epoch ms (`bigint`,
 * read as numbers: epoch ms stay far below 2^53). `tags` is a `text[]` with a GIN index, so that
 * `tags && $tags` finds tagged entries without scanning the table; `stale_until` is indexed for the
 * expiry cleanup.
 *
 * `namespace` and `key` use the "C" collation (migration 0001): keys are listed in byte order, the
 * same total order on every server whatever its locale, and the primary key index, built with the
 * columns' collation, serves the ordered range scan `namespace = $1 AND key > $2 ORDER BY key`.
 * Under a linguistic default collation the index order would not be the order of `ORDER BY key
 * COLLATE "C"`, and every page would sort the namespace. Equality is unchanged: deterministic
 * collations only call strings equal when their bytes are.
 *
 * Changing this table means running `npm run db:generate` and committing the new migration under
 * `drizzle/postgres/`.
 */
export const entries = pgTable(
  'tiercache_entries',
  {
    namespace: textC('namespace').notNull(),
    key: textC('key').notNull(),
    value: bytea('value').notNull(),
    tags: text('tags').array().notNull().default([]),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    freshUntil: bigint('fresh_until', { mode: 'number' }).notNull(),
    staleUntil: bigint('stale_until', { mode: 'number' }).notNull(),
  },
  (table) => [
    primaryKey({ name: 'tiercache_entries_pkey', columns: [table.namespace, table.key] }),
    index('tiercache_entries_tags_idx').using('gin', table.tags),
    index('tiercache_entries_stale_until_idx').on(table.staleUntil),
  ],
)
