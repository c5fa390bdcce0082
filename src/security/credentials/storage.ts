import type { Database } from 'better-sqlite3'
import type { Sql } from 'postgres'
// Only these connections name the drivers' types: the location (location.ts) is in the public
// types, which must compile without the optional peers.

/**
 * A connection of its own to the SQLite tier's database file, migrated (see `openSqliteDatabase`).
 * @throws TierUnavailableError when the file cannot be opened
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function openSqliteStorage(path: string): Promise<Database> {
  const { openSqliteDatabase } = await import('../../sql/sqlite/database.js')
  return openSqliteDatabase(path)
}

/**
 * A postgres.js pool on the tier's database, once its migrations are applied (`migratePostgres`:
 * serialized across processes by an advisory lock, and a no-op once done). postgres.js and drizzle
 * are optional dependencies, loaded only here.
 *
 * @param applicationName - shown in `pg_stat_activity`
 * @param maxConnections - size of the pool
 * @throws TierUnavailableError when PostgreSQL cannot be reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function connectPostgresStorage(url: string, applicationName: string, maxConnections: number): Promise<Sql> {
  const [{ migratePostgres }, { default: postgres }] = await Promise.all([import('../../sql/postgres/migrate.js'), import('postgres')])
  await migratePostgres(url)
  return postgres(url, { max: maxConnections, onnotice: () => {}, connection: { application_name: applicationName } })
}
