/**
 * SQLite migration 2 (user_version 1 → 2): the API keys and the audit log of `src/security/`, the
 * same tables as PostgreSQL's migration 0002. Shipped: never edit, append a new migration instead.
 *
 * - `tiercache_api_keys`: one row per key, looked up by its public `id` (`tck_` and 12 base32
 *   characters); `hash` is the SHA-256 of the key's secret (32 bytes), never the secret; `roles` a
 *   JSON array of role names; times in epoch ms, `revoked_at` null while the key is active.
 * - `tiercache_audit`: who (`key_id`, `tenant`), what (`action`, `target`), from where (`ip`,
 *   `user_agent`), `outcome`, when (`at`, epoch ms). `id` is the rowid (INTEGER PRIMARY KEY
 *   AUTOINCREMENT: never reused, even after the last row is gone), so the (tenant, at) index also
 *   orders ties by id. Append-only: BEFORE UPDATE and BEFORE DELETE triggers abort the statement,
 *   whoever issues it. (A DELETE with a trigger never takes SQLite's truncate shortcut, so
 *   `DELETE FROM tiercache_audit` is caught too.) Pruning old events is a deliberate operator act:
 *   drop the trigger, delete, re-create it, in one transaction.
 */
export const SQLITE_SECURITY_MIGRATION = `
  CREATE TABLE tiercache_api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    roles        TEXT    NOT NULL CHECK (json_valid(roles) AND json_type(roles) = 'array'),
    hash         BLOB    NOT NULL CHECK (typeof(hash) = 'blob' AND length(hash) = 32),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );
  CREATE INDEX tiercache_api_keys_tenant_idx ON tiercache_api_keys (tenant);

  CREATE TABLE tiercache_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    key_id     TEXT,
    tenant     TEXT,
    action     TEXT    NOT NULL,
    target     TEXT,
    ip         TEXT,
    user_agent TEXT,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
    detail     TEXT
  );
  CREATE INDEX tiercache_audit_tenant_at_idx ON tiercache_audit (tenant, at);

  CREATE TRIGGER tiercache_audit_no_update BEFORE UPDATE ON tiercache_audit
  BEGIN
    SELECT RAISE(ABORT, 'tiercache_audit is append-only: UPDATE is not allowed');
  END;

  CREATE TRIGGER tiercache_audit_no_delete BEFORE DELETE ON tiercache_audit
  BEGIN
    SELECT RAISE(ABORT, 'tiercache_audit is append-only: DELETE is not allowed');
  END;
`
