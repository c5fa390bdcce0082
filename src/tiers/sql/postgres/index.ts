import { z } from 'zod'
import { parseOptions } from '../../../core/options.js'
import { migratePostgres } from '../../../sql/postgres/migrate.js'
import type { TierCapabilities } from '../../tier.js'
import { cleanupOptionsShape } from '../common.js'
import { type SqlStatements, SqlTier } from '../core.js'
import { RenewingPool } from './pool.js'
import { postgresStatements } from './statements.js'

export { POSTGRES_MIGRATIONS_FOLDER } from '../../../sql/postgres/migrate.js'

/** Options of the PostgreSQL tier. */
export interface PostgresTierOptions {
  /** Connection URL, `postgres://user:password@host:port/database?...`. Never logged or echoed. */
  readonly url: string
  /** Period of the background deletion of expired rows, in ms; 0 disables it. @default 60_000 */
  readonly cleanupIntervalMs?: number
  /** Rows deleted per cleanup statement. @default 1000 */
  readonly cleanupBatchSize?: number
  /** Most connections in the pool. @default 10 */
  readonly maxConnections?: number
  /**
   * A statement unanswered for this long, in ms, while no other statement settles either, means the
   * pool's connections are dead (PostgreSQL restarted, a network path dropped without a word): the
   * pool is replaced by a new one. A pool that is only busy keeps settling statements. Keep it at
   * least the cache's `tierTimeout`, which the stack already bounds each call with. @default 2_000
   */
  readonly stallTimeoutMs?: number
}

const optionsSchema = z.object({
  url: z.string().regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  ...cleanupOptionsShape,
  maxConnections: z.number().int().min(1).max(1000).default(10),
  stallTimeoutMs: z.number().int().min(100).max(600_000).default(2_000),
})

/**
 * Durable, shared tier (L3) on PostgreSQL, through a postgres.js pool and statements prepared once
 * (see `queries.ts`; what both SQL tiers share is in `../core.ts`). Entries live in
 * `tiercache_entries`, tags in a GIN-indexed `text[]` column. A write resolves once committed.
 * Expired rows are dropped when read and by a periodic cleanup; see {@link SqlTier.cleanupExpired}.
 *
 * The pool is replaced as soon as a connection is found dead or a statement stalls (see
 * {@link RenewingPool}), so that after PostgreSQL restarts no call waits on a connection to the old
 * server.
 */
export class PostgresTier extends SqlTier {
  readonly kind = 'postgres'
  readonly capabilities: TierCapabilities = { shared: true, durable: true }

  /**
   * Use {@link createPostgresTier}, which validates the options and migrates the schema first.
   * Takes the statements and the pool's end rather than the pool itself, so that the public types
   * do not name drizzle's (whose own declarations do not compile under `skipLibCheck: false`).
   * @param statements - the tier's statements over the pool it owns
   * @param endPool - ends that pool; called once, on {@link close}
   */
  constructor(
    statements: SqlStatements,
    private readonly endPool: () => Promise<void>,
    options: Readonly<Required<PostgresTierOptions>>,
  ) {
    super(statements, options)
  }

  /** Lets statements in flight finish (up to 5 s), then ends the pool. */
  protected release(): Promise<void> {
    return this.endPool()
  }
}

/**
 * Validates the options, applies pending schema migrations (serialized across processes by an
 * advisory lock), opens the pool and starts the periodic cleanup.
 *
 * @throws InvalidOptionsError when the options are invalid
 * @throws TierUnavailableError when PostgreSQL cannot be reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function createPostgresTier(options: PostgresTierOptions): Promise<PostgresTier> {
  const parsed = parseOptions(optionsSchema, options, 'PostgreSQL tier')
  await migratePostgres(parsed.url)
  const pool = new RenewingPool(parsed)
  return new PostgresTier(postgresStatements(pool), () => pool.end(), parsed)
}
