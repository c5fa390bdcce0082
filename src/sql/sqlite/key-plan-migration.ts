/**
 * SQLite migration 3 (user_version 2 → 3): the rate-limit plan of each API key, the same column as
 * PostgreSQL's migration 0003. Shipped: never edit, append a new migration instead.
 *
 * - `tiercache_api_keys.plan`: the name of the key's rate-limit plan (`[A-Za-z0-9._-]{1,64}`, checked
 *   by the credential store); keys created before this migration get `'free'`, the default plan.
 *   ADD COLUMN with a constant default only rewrites the schema, not the rows.
 */
export const SQLITE_KEY_PLAN_MIGRATION = `
  ALTER TABLE tiercache_api_keys ADD COLUMN plan TEXT NOT NULL DEFAULT 'free' CHECK (length(plan) BETWEEN 1 AND 64);
`
