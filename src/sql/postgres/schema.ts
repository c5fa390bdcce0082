import { sql } from 'drizzle-orm'
import { bigint, bigserial, check, customType, doublePrecision, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'

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

/**
 * API keys (migration 0002): one row per key, looked up by its public `id` (`tck_` and 12 base32
 * characters). `hash` is the SHA-256 of the key's secret, never the secret itself; `roles` is a JSON
 * array of role names. Times are epoch ms; `revoked_at` is null while the key is active, and
 * `last_used_at` is refreshed at most once a minute per key and process. `plan` (migration 0003,
 * `'free'` for keys made before it) names the key's rate-limit plan. See `src/security/credentials/`.
 */
export const apiKeys = pgTable(
  'tiercache_api_keys',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    roles: text('roles').notNull(),
    hash: bytea('hash').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    revokedAt: bigint('revoked_at', { mode: 'number' }),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
    plan: text('plan').notNull().default('free'),
  },
  (table) => [
    index('tiercache_api_keys_tenant_idx').on(table.tenant),
    check('tiercache_api_keys_hash_length', sql`octet_length(${table.hash}) = 32`),
  ],
)

/**
 * The audit log (migration 0002): who (`key_id`, `tenant`), what (`action`, `target`), from where
 * (`ip`, `user_agent`), `outcome` and when (`at`, epoch ms). Append-only: a trigger, written by hand
 * in the migration because drizzle-kit does not model triggers, rejects every UPDATE, DELETE and
 * TRUNCATE. Indexed by (tenant, at) for a tenant admin's reads. See `src/security/audit/`.
 */
export const auditLog = pgTable(
  'tiercache_audit',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: bigint('at', { mode: 'number' }).notNull(),
    keyId: text('key_id'),
    tenant: text('tenant'),
    action: text('action').notNull(),
    target: text('target'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    outcome: text('outcome').notNull(),
    detail: text('detail'),
  },
  (table) => [
    index('tiercache_audit_tenant_at_idx').on(table.tenant, table.at),
    check('tiercache_audit_outcome', sql`${table.outcome} in ('ok', 'denied', 'error')`),
  ],
)

/**
 * The stats history (migration 0004, `src/metrics/history/`): one row per (span, minute, instance,
 * metric, labels, le). `span` is the resolution in ms (a minute, 5 minutes, an hour, 6 hours: each
 * flush adds to one row of each); `minute` the start of the step, epoch ms; `instance` the writing
 * process's id; `metric` a family's name (a histogram as `_bucket` rows with `le` and `lower` their
 * bounds, `_sum` and `_count`; empty buckets are not stored); `labels` the series' labels as
 * canonical JSON, `point_labels` the same without namespace, tenant and operation (what a range's
 * points are summed by); `tenant` its tenant label (`''` without one). `kind` `counter`: what the
 * step added; `gauge`: the value at the end of the step. The primary key leads with (span, minute),
 * so that a range reads, and a prune deletes, only its own steps.
 */
export const metricRollups = pgTable(
  'tiercache_metric_rollups',
  {
    span: bigint('span', { mode: 'number' }).notNull(),
    minute: bigint('minute', { mode: 'number' }).notNull(),
    instance: text('instance').notNull(),
    metric: text('metric').notNull(),
    labels: text('labels').notNull(),
    pointLabels: text('point_labels').notNull(),
    le: text('le').notNull().default(''),
    lower: doublePrecision('lower'),
    tenant: text('tenant').notNull().default(''),
    kind: text('kind').notNull(),
    value: doublePrecision('value').notNull(),
  },
  (table) => [
    primaryKey({
      name: 'tiercache_metric_rollups_pkey',
      columns: [table.span, table.minute, table.instance, table.metric, table.labels, table.le],
    }),
    check('tiercache_metric_rollups_kind', sql`${table.kind} in ('counter', 'gauge')`),
  ],
)
