import type Database from 'better-sqlite3'
import { z } from 'zod'
import { parseOptions } from '../../../core/options.js'
import { openSqliteDatabase } from '../../../sql/sqlite/database.js'
import type { TierCapabilities } from '../../tier.js'
import { cleanupOptionsShape } from '../common.js'
import { SqlTier } from '../core.js'
import { sqliteStatements } from './statements.js'

export { SQLITE_BUSY_TIMEOUT_MS, openSqliteDatabase } from '../../../sql/sqlite/database.js'

/** Options of the SQLite tier. */
export interface SqliteTierOptions {
  /**
   * Database file; missing parent folders are created. `':memory:'` gives a private in-memory
   * database (neither shared nor durable, for tests).
   */
  readonly path: string
  /** Period of the background deletion of expired rows, in ms; 0 disables it. @default 60_000 */
  readonly cleanupIntervalMs?: number
  /** Rows deleted per cleanup statement. @default 1000 */
  readonly cleanupBatchSize?: number
}

const optionsSchema = z.object({ path: z.string().min(1), ...cleanupOptionsShape })

/**
 * Durable tier (L3) on an embedded SQLite file, through better-sqlite3's synchronous API with
 * statements prepared once at open (see `statements.ts`; what both SQL tiers share is in `../core.ts`).
 *
 * The file is opened in WAL mode with `synchronous = NORMAL` (see `openSqliteDatabase`): readers
 * never block the writer, and a write that has returned survives a crash of the process. Several
 * processes may share one file. Expired rows are dropped when read and by a periodic cleanup; see
 * {@link SqlTier.cleanupExpired}.
 */
export class SqliteTier extends SqlTier {
  readonly kind = 'sqlite'
  /** Shared and durable, except for a `':memory:'` database, which is neither. */
  readonly capabilities: TierCapabilities

  /** Use {@link createSqliteTier}, which validates the options and opens the database. */
  constructor(
    private readonly db: Database.Database,
    options: Readonly<Required<SqliteTierOptions>>,
  ) {
    super(sqliteStatements(db), options)
    const onDisk = !db.memory
    this.capabilities = { shared: onDisk, durable: onDisk }
  }

  protected async release(): Promise<void> {
    this.db.close()
  }
}

/**
 * Opens (creating if needed) the SQLite database at `options.path` (see `openSqliteDatabase`:
 * WAL mode, `synchronous = NORMAL`, a busy timeout, the schema migrated) and starts the periodic
 * cleanup.
 *
 * @throws InvalidOptionsError when the options are invalid
 * @throws TierUnavailableError when the file cannot be created or opened
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export function createSqliteTier(options: SqliteTierOptions): SqliteTier {
  const parsed = parseOptions(optionsSchema, options, 'SQLite tier')
  return new SqliteTier(openSqliteDatabase(parsed.path), parsed)
}
