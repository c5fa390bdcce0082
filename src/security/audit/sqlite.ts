import type { Database, Statement } from 'better-sqlite3'
import type { AuditAction, AuditOutcome, AuditRecord, AuditRow } from './event.js'
import type { AuditBackend } from './log.js'

interface SqliteAuditRow {
  readonly id: number
  readonly at: number
  readonly key_id: string | null
  readonly tenant: string | null
  readonly action: string
  readonly target: string | null
  readonly ip: string | null
  readonly user_agent: string | null
  readonly outcome: string
  readonly detail: string | null
}

type InsertParams = [number, string | null, string | null, string, string | null, string | null, string | null, string, string | null]

/**
 * {@link AuditBackend} on `tiercache_audit` in an SQLite database, through statements prepared once.
 * The (tenant, at) index, which carries the rowid, serves the tenant's reads in order.
 */
export class SqliteAuditBackend implements AuditBackend {
  private readonly insertStatement: Statement<InsertParams>
  private readonly selectStatement: Statement<[string, number, number], SqliteAuditRow>

  /**
   * @param db - a migrated connection (see `openSqliteDatabase`)
   * @param ownsDb - close `db` on {@link close}
   */
  constructor(
    private readonly db: Database,
    private readonly ownsDb: boolean,
  ) {
    this.insertStatement = db.prepare(`INSERT INTO tiercache_audit (at, key_id, tenant, action, target, ip, user_agent, outcome, detail)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    this.selectStatement = db.prepare(`SELECT id, at, key_id, tenant, action, target, ip, user_agent, outcome, detail
      FROM tiercache_audit WHERE tenant = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?`)
  }

  async insert(row: AuditRow): Promise<void> {
    this.insertStatement.run(row.at, row.keyId, row.tenant, row.action, row.target, row.ip, row.userAgent, row.outcome, row.detail)
  }

  async select(tenant: string, since: number, limit: number): Promise<AuditRecord[]> {
    return this.selectStatement.all(tenant, since, limit).map((row) => ({
      id: row.id,
      at: row.at,
      // The table's CHECK keeps outcome to the three values; action is whatever this version wrote.
      action: row.action as AuditAction,
      outcome: row.outcome as AuditOutcome,
      keyId: row.key_id,
      tenant: row.tenant,
      target: row.target,
      ip: row.ip,
      userAgent: row.user_agent,
      detail: row.detail,
    }))
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close()
  }
}
