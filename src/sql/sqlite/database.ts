import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { TierUnavailableError } from '../../errors.js'
import { migrateSqlite } from './migrations.js'

/**
 * How long a statement waits for another connection's write lock before failing with SQLITE_BUSY,
 * in ms. better-sqlite3 is synchronous, so this is also the longest the event loop can stall on a
 * contended write.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000

/**
 * Opens a connection to the SQLite database at `path` (creating the file and its missing parent
 * folders if needed), as every user of the file does (the tier, the API keys, the audit log): WAL
 * mode, `synchronous = NORMAL`, a busy timeout of {@link SQLITE_BUSY_TIMEOUT_MS}, and the schema
 * migrated to the latest version (a no-op when another connection or process has done it). The
 * caller closes the connection.
 *
 * WAL lets readers never block the writer; with `synchronous = NORMAL` a write that has returned
 * survives a crash of the process (an OS crash or power loss may lose the last transactions).
 *
 * @param path - database file, or `':memory:'` for a private in-memory database
 * @throws TierUnavailableError when the file cannot be created or opened
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export function openSqliteDatabase(path: string): Database.Database {
  const db = openDatabase(path)
  try {
    migrateSqlite(db)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function openDatabase(path: string): Database.Database {
  let db: Database.Database | undefined
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS })
    // WAL persists in the file; setting it again is a no-op. In-memory databases stay in 'memory'.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    return db
  } catch (cause) {
    db?.close()
    throw new TierUnavailableError('cannot open the SQLite database', { cause })
  }
}
