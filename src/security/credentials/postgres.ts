import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm'
import { type PostgresJsDatabase, drizzle } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { apiKeys } from '../../sql/postgres/schema.js'
import type { CredentialBackend, KeyRow } from './store.js'

const keyColumns = {
  id: apiKeys.id,
  tenant: apiKeys.tenant,
  roles: apiKeys.roles,
  plan: apiKeys.plan,
  hash: apiKeys.hash,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
  lastUsedAt: apiKeys.lastUsedAt,
}

// Verification runs on every request: prepared once (postgres.js then prepares it once per connection).
function prepareFind(db: PostgresJsDatabase) {
  return db.select(keyColumns).from(apiKeys).where(eq(apiKeys.id, sql.placeholder('id'))).prepare('tiercache_api_key_find')
}

/** {@link CredentialBackend} on `tiercache_api_keys` in PostgreSQL, through drizzle on a postgres.js pool. */
export class PostgresCredentialBackend implements CredentialBackend {
  private readonly db: PostgresJsDatabase
  private readonly findStatement: ReturnType<typeof prepareFind>

  /**
   * @param client - a pool on a migrated database (see `migratePostgres`)
   * @param ownsClient - end `client` on {@link close}
   */
  constructor(
    private readonly client: Sql,
    private readonly ownsClient: boolean,
  ) {
    this.db = drizzle({ client })
    this.findStatement = prepareFind(this.db)
  }

  async insert(row: Omit<KeyRow, 'revokedAt' | 'lastUsedAt'>): Promise<boolean> {
    const inserted = await this.db.insert(apiKeys).values(row).onConflictDoNothing({ target: apiKeys.id }).returning({ id: apiKeys.id })
    return inserted.length > 0
  }

  async find(id: string): Promise<KeyRow | undefined> {
    const [row] = await this.findStatement.execute({ id })
    return row
  }

  async list(tenant: string | undefined): Promise<KeyRow[]> {
    return this.db
      .select(keyColumns)
      .from(apiKeys)
      .where(tenant === undefined ? undefined : eq(apiKeys.tenant, tenant))
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const revoked = await this.db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id })
    return revoked.length > 0
  }

  async touch(id: string, at: number, olderThan: number): Promise<void> {
    await this.db
      .update(apiKeys)
      .set({ lastUsedAt: at })
      .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, olderThan))))
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.end({ timeout: 5 })
  }
}
