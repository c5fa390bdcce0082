import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { MigrationFailedError, TierUnavailableError } from '../../errors.js'

/**
 * Folder of the drizzle-kit migrations, at `drizzle/postgres/` in the package root. The module sits
 * three levels down both in the sources (`src/sql/postgres/`) and in the build
 * (`dist/sql/postgres/`), so one relative URL serves both.
 */
export const POSTGRES_MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle/postgres', import.meta.url))

/**
 * Journal of applied migrations. Our own table rather than drizzle's default
 * `drizzle.__drizzle_migrations`: an application that also uses drizzle would share that journal,
 * and drizzle applies only migrations newer than the newest recorded, so one would skip the other's.
 */
export const POSTGRES_MIGRATIONS_TABLE = { migrationsSchema: 'public', migrationsTable: 'tiercache_migrations' } as const

// Key of the session advisory lock that serializes migrations across processes; an arbitrary
// constant ('tiercach' in ASCII) that no other application is likely to pick.
const MIGRATION_LOCK_KEY = '8388347322922263400'

/**
 * Applies the pending migrations of `folder`, holding a session advisory lock so that processes
 * starting at once migrate one after another (the later ones find nothing to do). Uses a
 * connection of its own, closed before returning; the server drops the lock should this process die.
 *
 * @throws TierUnavailableError when PostgreSQL cannot be reached (the `cause` says why)
 * @throws MigrationFailedError when a migration fails; its transaction is rolled back
 */
export async function migratePostgres(url: string, folder: string = POSTGRES_MIGRATIONS_FOLDER): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'tiercache-migrate' } })
  let locked = false
  try {
    try {
      await client.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
      locked = true
    } catch (cause) {
      throw new TierUnavailableError('cannot connect to PostgreSQL to migrate the schema', { cause })
    }
    try {
      await migrate(drizzle({ client }), { migrationsFolder: folder, ...POSTGRES_MIGRATIONS_TABLE })
    } catch (cause) {
      throw new MigrationFailedError('PostgreSQL schema migration failed', { cause })
    }
  } finally {
    // Closing the session releases the lock in any case; the explicit unlock just does it sooner.
    if (locked) await client.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => undefined)
    await client.end({ timeout: 5 })
  }
}
