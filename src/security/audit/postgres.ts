import { and, desc, eq, gte } from 'drizzle-orm'
import { type PostgresJsDatabase, drizzle } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { auditLog } from '../../sql/postgres/schema.js'
import type { AuditAction, AuditOutcome, AuditRecord, AuditRow } from './event.js'
import type { AuditBackend } from './log.js'

/** {@link AuditBackend} on `tiercache_audit` in PostgreSQL, through drizzle on a postgres.js pool. */
export class PostgresAuditBackend implements AuditBackend {
  private readonly db: PostgresJsDatabase

  /**
   * @param client - a pool on a migrated database (see `migratePostgres`)
   * @param ownsClient - end `client` on {@link close}
   */
  constructor(
    private readonly client: Sql,
    private readonly ownsClient: boolean,
  ) {
    this.db = drizzle({ client })
  }

  async insert(row: AuditRow): Promise<void> {
    await this.db.insert(auditLog).values(row)
  }

  async select(tenant: string, since: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenant, tenant), gte(auditLog.at, since)))
      .orderBy(desc(auditLog.at), desc(auditLog.id))
      .limit(limit)
    // The table's CHECK keeps outcome to the three values; action is whatever this version wrote.
    return rows.map((row) => ({ ...row, action: row.action as AuditAction, outcome: row.outcome as AuditOutcome }))
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.end({ timeout: 5 })
  }
}
