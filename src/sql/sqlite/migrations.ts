import type { Database } from 'better-sqlite3'
import { MigrationFailedError } from '../../errors.js'
import { SQLITE_KEY_PLAN_MIGRATION } from './key-plan-migration.js'
import { SQLITE_METRICS_MIGRATION } from './metrics-migration.js'
import { SQLITE_SECURITY_MIGRATION } from './security-migration.js'

/**
 * The SQLite schema, as an ordered list of migrations. Migration `i` brings the database from
 * `PRAGMA user_version = i` to `i + 1`. Append only: never edit a migration that has shipped.
 *
 * Version 1:
 * - `tiercache_entries`: one row per entry, primary key (namespace, key); `tags` is a JSON array of
 *   strings (read back with the row, so a hit needs no join); times are epoch ms.
 * - `tiercache_entry_tags`: one row per (namespace, tag, key), so that deleting by tag walks only
 *   the tagged entries: its primary key serves lookups by (namespace, tag), the second index lookups
 *   by tag across namespaces.
 * - Triggers keep the tag rows in step with every insert, tag change and delete of an entry, inside
 *   the same statement, whoever issues it (this tier, its cleanup, or an operator's ad hoc DELETE).
 *
 * Version 2: `tiercache_api_keys` and the append-only `tiercache_audit`; see `security-migration.ts`.
 *
 * Version 3: `tiercache_api_keys.plan`, each key's rate-limit plan; see `key-plan-migration.ts`.
 *
 * Version 4: `tiercache_metric_rollups`, the per-minute stats history; see `metrics-migration.ts`.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tiercache_entries (
    namespace   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       BLOB    NOT NULL,
    -- the tag triggers read this with json_each: a malformed list would make the row undeletable
    tags        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    created_at  INTEGER NOT NULL,
    fresh_until INTEGER NOT NULL,
    stale_until INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
  );
  CREATE INDEX tiercache_entries_stale_until_idx ON tiercache_entries (stale_until);

  CREATE TABLE tiercache_entry_tags (
    namespace TEXT NOT NULL,
    tag       TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (namespace, tag, key)
  ) WITHOUT ROWID;
  CREATE INDEX tiercache_entry_tags_tag_idx ON tiercache_entry_tags (tag);

  CREATE TRIGGER tiercache_entries_tags_after_insert AFTER INSERT ON tiercache_entries
  WHEN new.tags <> '[]'
  BEGIN
    INSERT INTO tiercache_entry_tags (namespace, tag, key)
      SELECT DISTINCT new.namespace, value, new.key FROM json_each(new.tags);
  END;

  CREATE TRIGGER tiercache_entries_tags_after_update AFTER UPDATE OF tags ON tiercache_entries
  WHEN old.tags IS NOT new.tags
  BEGIN
    DELETE FROM tiercache_entry_tags
      WHERE namespace = old.namespace AND key = old.key AND tag IN (SELECT value FROM json_each(old.tags));
    INSERT INTO tiercache_entry_tags (namespace, tag, key)
      SELECT DISTINCT new.namespace, value, new.key FROM json_each(new.tags);
  END;

  CREATE TRIGGER tiercache_entries_tags_after_delete AFTER DELETE ON tiercache_entries
  WHEN old.tags <> '[]'
  BEGIN
    DELETE FROM tiercache_entry_tags
      WHERE namespace = old.namespace AND key = old.key AND tag IN (SELECT value FROM json_each(old.tags));
  END;
  `,
  SQLITE_SECURITY_MIGRATION,
  SQLITE_KEY_PLAN_MIGRATION,
  SQLITE_METRICS_MIGRATION,
]

/**
 * Brings the schema to the latest version, in one `BEGIN IMMEDIATE` transaction: the write lock is
 * taken before `user_version` is read, so processes opening a new file at once migrate it once and
 * the others see the result (waiting up to the busy timeout).
 *
 * @throws MigrationFailedError when a migration fails (nothing is applied), or when the file was
 *   written by a newer tiercache whose schema this version does not know
 */
export function migrateSqlite(db: Database, migrations: readonly string[] = SQLITE_MIGRATIONS): void {
  const latest = migrations.length
  const migrate = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true })
    if (typeof current !== 'number' || current > latest) {
      throw new MigrationFailedError(`SQLite schema version ${String(current)} is newer than this tiercache supports (${latest})`)
    }
    for (const migration of migrations.slice(current)) db.exec(migration)
    // PRAGMA takes no bound parameters; `latest` is a number we computed.
    if (current < latest) db.pragma(`user_version = ${latest}`)
  })
  try {
    migrate.immediate()
  } catch (cause) {
    if (cause instanceof MigrationFailedError) throw cause
    throw new MigrationFailedError('SQLite schema migration failed', { cause })
  }
}
