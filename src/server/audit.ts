/**
 * What the server writes to the audit log: who (key id, tenant), what (action, target), from where
 * (ip, user agent), outcome and when, for authentication failures, refusals (403), rate-limit
 * refusals, purges, invalidations, erasures and exports. Never a value, a request body, a secret or a
 * subject's user id (erasures and exports name users by their storage hash): the fields below
 * are all there is, and the audit log redacts anything shaped like a key in free text anyway.
 */
import type { FastifyRequest } from 'fastify'
import type { AuditAction, AuditEvent, AuditLog, AuditOutcome } from '../security/audit/index.js'

/** Longest an answer waits for its audit event to be written, in ms; a slower write carries on alone. */
export const AUDIT_WAIT_MS = 1_000

/**
 * Refusals (401, 403, 429) of one client are recorded at most once per this many ms: a client
 * hammering the server must not turn the append-only log into its disk-filling tool. The record
 * after a quiet spell says how many refusals went unrecorded before it.
 */
export const REFUSAL_RECORD_INTERVAL_MS = 60_000

/** Most (client, action) pairs whose refusals are being thinned out at once; the oldest go first. */
const MAX_THROTTLED = 10_000

/** An event as a route states it; the recorder adds where it came from. */
export interface ServerAuditEvent {
  readonly action: AuditAction
  readonly outcome: AuditOutcome
  readonly keyId?: string
  readonly tenant?: string
  readonly target?: string
  readonly detail?: string
}

/** Records the server's audit events; see {@link createServerAudit}. */
export interface ServerAudit {
  /**
   * Records `event` with the request's ip and user agent. Resolves once it is written, or after
   * {@link AUDIT_WAIT_MS}; never rejects (a failed write goes to the audit log's `onError`).
   */
  record(request: FastifyRequest, event: ServerAuditEvent): Promise<void>
  /**
   * Like {@link record}, for refusals: at most one record per `client` and action every
   * {@link REFUSAL_RECORD_INTERVAL_MS}; the others are counted into the next record's detail.
   * @param client - who is refused: a key id, or the ip and the claimed key id
   */
  refusal(request: FastifyRequest, client: string, event: ServerAuditEvent): Promise<void>
}

interface Throttled {
  /** When the last record was written, epoch ms. */
  at: number
  /** Refusals since then not recorded. */
  skipped: number
}

/**
 * The server's audit recorder over `log`; without a log, nothing is recorded.
 * @param now - clock, epoch ms (tests)
 */
export function createServerAudit(log: AuditLog | undefined, now: () => number = Date.now): ServerAudit {
  const throttled = new Map<string, Throttled>()

  const write = async (request: FastifyRequest, event: ServerAuditEvent): Promise<void> => {
    if (log === undefined) return
    const userAgent = request.headers['user-agent']
    const full: AuditEvent = { ...event, ip: request.ip, ...(typeof userAgent === 'string' ? { userAgent } : {}) }
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, AUDIT_WAIT_MS)
      timer.unref()
    })
    await Promise.race([log.record(full), waited])
    clearTimeout(timer)
  }

  return {
    record: write,

    refusal(request, client, event) {
      const key = `${event.action}\u0000${client}`
      const at = now()
      const last = throttled.get(key)
      if (last !== undefined && at - last.at < REFUSAL_RECORD_INTERVAL_MS) {
        last.skipped++
        return Promise.resolve()
      }
      const skipped = last?.skipped ?? 0
      throttled.delete(key)
      if (throttled.size >= MAX_THROTTLED) {
        const oldest = throttled.keys().next().value
        if (oldest !== undefined) throttled.delete(oldest)
      }
      throttled.set(key, { at, skipped: 0 })
      const note = skipped > 0 ? `${skipped} similar refusal(s) before this one were not recorded one by one` : undefined
      const detail = [event.detail, note].filter((part) => part !== undefined).join('; ')
      return write(request, { ...event, ...(detail === '' ? {} : { detail }) })
    },
  }
}
