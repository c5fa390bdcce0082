import type { Database } from 'better-sqlite3'
import type { Sql } from 'postgres'
import { z } from 'zod'
import { parseOptions } from '../../core/options.js'

/**
 * Where API keys and the audit log live: the database of the SQL tier (L3) of `tiercache serve`,
 * named as `CacheOptions['l3']` names it: an SQLite file path (`':memory:'` for a private, throwaway
 * database) or a PostgreSQL URL. The tables are created by the migrations of `src/sql/`, which the
 * tier, the API keys and the audit log share, whichever of them opens the database first.
 */
export type StorageLocation = { readonly sqlite: string } | { readonly postgres: string }

const locationSchema = z.union([
  z.object({ sqlite: z.string().min(1) }).strict(),
  z.object({ postgres: z.string().regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// or postgresql:// URL') }).strict(),
])

/**
 * Checks a location. Messages name the field, never its value (a URL may hold a password).
 * @throws InvalidOptionsError when it is neither `{ sqlite: path }` nor `{ postgres: url }`
 */
export function parseStorageLocation(location: StorageLocation, what: string): StorageLocation {
  return parseOptions(locationSchema, location, what)
}

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
