/**
 * The audit log: an append-only table in the SQL tier's database recording key management, erasure,
 * export, purge, invalidation, authentication failures and rate-limit refusals; readable by a
 * tenant's admin for its own tenant only. No values or secrets in it.
 */
import { type StorageLocation, parseStorageLocation } from '../credentials/location.js'
import { connectPostgresStorage, openSqliteStorage } from '../credentials/storage.js'
import { type AuditLog, type AuditLogOptions, createAuditLog } from './log.js'

export {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  type AuditAction,
  type AuditEvent,
  type AuditOutcome,
  type AuditRecord,
  type AuditRow,
  MAX_TEXT_LENGTH,
  sanitizeText,
} from './event.js'
export { type AuditBackend, type AuditLog, type AuditLogOptions, type AuditQuery, MAX_AUDIT_QUERY_LIMIT, createAuditLog } from './log.js'

/** Options of {@link openAuditLog}. */
export interface OpenAuditLogOptions extends AuditLogOptions {
  /** Pool size, PostgreSQL only. @default 2 */
  readonly maxConnections?: number
}

/**
 * Opens the audit log in the database at `location`, the same database as the SQL tier's (the table
 * is created by the tier's migrations, run here if no one has yet), on a connection of its own that
 * {@link AuditLog.close} closes.
 *
 * @throws InvalidOptionsError when `location` is malformed
 * @throws TierUnavailableError when the database cannot be opened or reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function openAuditLog(location: StorageLocation, options: OpenAuditLogOptions = {}): Promise<AuditLog> {
  const parsed = parseStorageLocation(location, 'audit log storage')
  if ('sqlite' in parsed) {
    const [db, { SqliteAuditBackend }] = await Promise.all([openSqliteStorage(parsed.sqlite), import('./sqlite.js')])
    return createAuditLog(new SqliteAuditBackend(db, true), options)
  }
  const [client, { PostgresAuditBackend }] = await Promise.all([
    connectPostgresStorage(parsed.postgres, 'tiercache-audit', options.maxConnections ?? 2),
    import('./postgres.js'),
  ])
  return createAuditLog(new PostgresAuditBackend(client, true), options)
}
