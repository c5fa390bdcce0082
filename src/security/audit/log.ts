import { z } from 'zod'
import { TierUnavailableError, isTiercacheError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'
import { tenantSchema } from '../credentials/roles.js'
import { type AuditEvent, type AuditRecord, type AuditRow, auditEventSchema } from './event.js'

/** What {@link AuditLog.query} takes. */
export interface AuditQuery {
  /** The tenant whose events to read: required, there is no query across tenants. */
  readonly tenant: string
  /** Only events at or after this time, epoch ms. */
  readonly since?: number
  /** Most events returned, 1 to {@link MAX_AUDIT_QUERY_LIMIT}. @default 100 */
  readonly limit?: number
}

/** Most events one {@link AuditLog.query} returns. */
export const MAX_AUDIT_QUERY_LIMIT = 1000

/**
 * The append-only audit log in the SQL tier's database: who (key id, tenant), what (action, target),
 * from where (ip, user agent), outcome and when. The database itself rejects every change to a
 * recorded event (triggers). No values or secrets: see {@link AuditEvent}.
 */
export interface AuditLog {
  /**
   * Records `event`. Safe to fire and forget: the promise never rejects and nothing is thrown; an
   * invalid event (InvalidOptionsError) or a failed write (TierUnavailableError, the database's
   * error as `cause`) is reported to the `onError` option instead, and the event is lost. Await it
   * where the event must be written before going on (a command about to exit).
   */
  record(event: AuditEvent): Promise<void>
  /**
   * A tenant's events, newest first (by time, then by id). For a tenant's admin: the caller checks
   * that the reader is an admin of `query.tenant`.
   * @throws InvalidOptionsError when the tenant is missing or malformed, or since/limit are invalid
   * @throws TierUnavailableError when the database fails
   */
  query(query: AuditQuery): Promise<AuditRecord[]>
  /** Waits for the events being written, then closes the log's own connection. Idempotent. */
  close(): Promise<void>
}

/** The storage under an {@link AuditLog}: `tiercache_audit` in SQLite or PostgreSQL. */
export interface AuditBackend {
  insert(row: AuditRow): Promise<void>
  /** A tenant's rows with `at >= since`, newest first (at, then id, descending), at most `limit`. */
  select(tenant: string, since: number, limit: number): Promise<AuditRecord[]>
  close(): Promise<void>
}

/** Options of an audit log. */
export interface AuditLogOptions {
  /**
   * Told of each event that could not be recorded. Its error's message holds no event text; it must
   * not throw (what it throws is ignored). @default ignore
   */
  readonly onError?: (error: Error) => void
  /** Clock, epoch ms (tests). @default Date.now */
  readonly now?: () => number
}

const querySchema = z.object({
  tenant: tenantSchema,
  since: z.number().int().nonnegative().default(0),
  limit: z.number().int().min(1).max(MAX_AUDIT_QUERY_LIMIT).default(100),
})

/** The {@link AuditLog} over `backend`, which it owns (closes on close). */
export function createAuditLog(backend: AuditBackend, options: AuditLogOptions = {}): AuditLog {
  const now = options.now ?? Date.now
  const pending = new Set<Promise<void>>()
  let closed = false
  let closing: Promise<void> | undefined

  const report = (error: unknown): void => {
    const reported = isTiercacheError(error) ? error : new TierUnavailableError('cannot write to the audit log', { cause: error })
    try {
      options.onError?.(reported)
    } catch {
      // onError must not throw; if it does, recording still must not.
    }
  }

  return {
    record(event) {
      if (closed) {
        report(new TierUnavailableError('cannot write to the audit log: it is closed'))
        return Promise.resolve()
      }
      let row: AuditRow
      try {
        const parsed = parseOptions(auditEventSchema, event, 'audit event')
        row = { ...parsed, at: parsed.at ?? now() }
      } catch (error) {
        report(error)
        return Promise.resolve()
      }
      const write = Promise.resolve()
        .then(() => backend.insert(row))
        .catch(report)
        .finally(() => pending.delete(write))
      pending.add(write)
      return write
    },

    async query(query) {
      const { tenant, since, limit } = parseOptions(querySchema, query, 'audit query')
      try {
        return await backend.select(tenant, since, limit)
      } catch (cause) {
        throw new TierUnavailableError('cannot read the audit log', { cause })
      }
    },

    async close() {
      closed = true
      closing ??= Promise.all(pending).then(() => backend.close())
      return closing
    },
  }
}
