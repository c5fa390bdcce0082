import { bigint, customType, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'

// drizzle-orm has no bytea column; postgres.js reads bytea as a Buffer and writes any Uint8Array.
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
})

/**
 * The entries of the PostgreSQL tier: one row per (namespace, key). Times are epoch ms (`bigint`,
 * read as numbers: epoch ms stay far below 2^53). `tags` is a `text[]` with a GIN index, so that
 * `tags && $tags` finds tagged entries without scanning the table; `stale_until` is indexed for the
 * expiry cleanup.
 *
 * Changing this table means running `npm run db:generate` and committing the new migration under
 * `drizzle/postgres/`.
 */
export const entries = pgTable(
  'tiercache_entries',
  {
    namespace: text('namespace').notNull(),
    key: text('key').notNull(),
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
