import type { Database, Statement } from 'better-sqlite3'
import type { CredentialBackend, KeyRow } from './store.js'

interface SqliteKeyRow {
  readonly id: string
  readonly tenant: string
  readonly roles: string
  readonly plan: string
  readonly hash: Buffer
  readonly created_at: number
  readonly revoked_at: number | null
  readonly last_used_at: number | null
}

const COLUMNS = 'id, tenant, roles, plan, hash, created_at, revoked_at, last_used_at'

/**
 * {@link CredentialBackend} on `tiercache_api_keys` in an SQLite database, through statements
 * prepared once. better-sqlite3 is synchronous: each call completes before its promise is returned.
 */
export class SqliteCredentialBackend implements CredentialBackend {
  private readonly statements: {
    readonly insert: Statement<[string, string, string, string, Uint8Array, number]>
    readonly find: Statement<[string], SqliteKeyRow>
    readonly listAll: Statement<[], SqliteKeyRow>
    readonly listTenant: Statement<[string], SqliteKeyRow>
    readonly revoke: Statement<[number, string]>
    readonly touch: Statement<[number, string, number]>
  }

  /**
   * @param db - a migrated connection (see `openSqliteDatabase`)
   * @param ownsDb - close `db` on {@link close}
   */
  constructor(
    private readonly db: Database,
    private readonly ownsDb: boolean,
  ) {
    this.statements = {
      insert: db.prepare(`INSERT INTO tiercache_api_keys (id, tenant, roles, plan, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO NOTHING`),
      find: db.prepare(`SELECT ${COLUMNS} FROM tiercache_api_keys WHERE id = ?`),
      listAll: db.prepare(`SELECT ${COLUMNS} FROM tiercache_api_keys ORDER BY created_at, id`),
      listTenant: db.prepare(`SELECT ${COLUMNS} FROM tiercache_api_keys WHERE tenant = ? ORDER BY created_at, id`),
      revoke: db.prepare(`UPDATE tiercache_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
      touch: db.prepare(`UPDATE tiercache_api_keys SET last_used_at = ?
        WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),
    }
  }

  async insert(row: Omit<KeyRow, 'revokedAt' | 'lastUsedAt'>): Promise<boolean> {
    return this.statements.insert.run(row.id, row.tenant, row.roles, row.plan, row.hash, row.createdAt).changes > 0
  }

  async find(id: string): Promise<KeyRow | undefined> {
    const row = this.statements.find.get(id)
    return row === undefined ? undefined : toKeyRow(row)
  }

  async list(tenant: string | undefined): Promise<KeyRow[]> {
    const rows = tenant === undefined ? this.statements.listAll.all() : this.statements.listTenant.all(tenant)
    return rows.map(toKeyRow)
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.statements.revoke.run(at, id).changes > 0
  }

  async touch(id: string, at: number, olderThan: number): Promise<void> {
    this.statements.touch.run(at, id, olderThan)
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close()
  }
}

function toKeyRow(row: SqliteKeyRow): KeyRow {
  return {
    id: row.id,
    tenant: row.tenant,
    roles: row.roles,
    plan: row.plan,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  }
}
