import { z } from 'zod'
import { KEY_ID_PATTERN, redactKeys } from '../credentials/key.js'
import { tenantSchema } from '../credentials/roles.js'

/**
 * What an audit event records:
 *
 * - `key.create`, `key.revoke`: an API key was created or revoked (`target`: the key's id);
 * - `subject.erase`, `subject.export`: a subject's (user's or tenant's) entries were erased or
 *   exported (`target`: the subject, e.g. `user:42`);
 * - `cache.invalidate`: entries were purged by tag (`target`: the namespace and tags);
 * - `cache.clear`: a namespace was cleared (`target`: the namespace);
 * - `cache.purge`: a namespace was cleared, as servers before `POST /v1/clear` recorded it (read only);
 * - `auth.failure`: a request presented a missing, malformed, unknown, revoked or wrong key, or one
 *   without the role it needed (`key_id`: the claimed id, when there was one);
 * - `rate_limit.refusal`: a request was refused by a rate limit.
 */
export const AUDIT_ACTIONS = [
  'key.create',
  'key.revoke',
  'subject.erase',
  'subject.export',
  'cache.purge',
  'cache.invalidate',
  'cache.clear',
  'auth.failure',
  'rate_limit.refusal',
] as const

/** One of {@link AUDIT_ACTIONS}. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/** How the action ended: done, refused (authentication, authorization, rate limit), or failed. */
export const AUDIT_OUTCOMES = ['ok', 'denied', 'error'] as const

/** One of {@link AUDIT_OUTCOMES}. */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]

/**
 * An event to record. There is deliberately no field for a cache value, a key's secret or a request
 * body; unknown fields are dropped, not stored. Free text is cleaned before it is stored: control
 * characters become spaces, anything shaped like an API key or a bearer credential is redacted, and
 * it is cut to {@link MAX_TEXT_LENGTH} characters (`ip` to 64).
 */
export interface AuditEvent {
  readonly action: AuditAction
  readonly outcome: AuditOutcome
  /** When, epoch ms. @default now */
  readonly at?: number
  /** Who: the id of the API key that acted (`tck_...`), if any. */
  readonly keyId?: string
  /**
   * Whose: the tenant the action concerns, whose admins may read the event; `[A-Za-z0-9._-]{1,64}`.
   * Events without a tenant (an unknown key's failed authentication) are for operators only.
   */
  readonly tenant?: string
  /** What it acted on: a key id, a subject, a namespace, tags. */
  readonly target?: string
  /** From where: the client's address. */
  readonly ip?: string
  /** From where: the client's `User-Agent`. */
  readonly userAgent?: string
  /** A short note, e.g. `roles=read,write` or why access was denied. Never a value or a secret. */
  readonly detail?: string
}

/** A recorded event, as {@link AuditEvent} with its id, and null for what was not given. */
export interface AuditRecord {
  /** Increasing with the order of insertion in the database. */
  readonly id: number
  /** Epoch ms. */
  readonly at: number
  readonly action: AuditAction
  readonly outcome: AuditOutcome
  readonly keyId: string | null
  readonly tenant: string | null
  readonly target: string | null
  readonly ip: string | null
  readonly userAgent: string | null
  readonly detail: string | null
}

/** A row to insert: an event once validated and cleaned. */
export type AuditRow = Omit<AuditRecord, 'id'>

/** Longest `target`, `userAgent` and `detail` stored, in characters (code points); longer text is cut. */
export const MAX_TEXT_LENGTH = 256

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators would let free text
// forge extra lines in a log or a terminal that shows the audit log.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * Free text made safe to store and show: control characters become spaces, API keys and bearer
 * credentials are redacted (see `redactKeys`), and the result is cut to `maxLength` code points.
 * Empty text becomes null.
 */
export function sanitizeText(text: string, maxLength: number = MAX_TEXT_LENGTH): string | null {
  const cleaned = redactKeys(text.replace(CONTROL, ' ')).trim()
  if (cleaned === '') return null
  const chars = Array.from(cleaned)
  return chars.length <= maxLength ? cleaned : chars.slice(0, maxLength).join('')
}

const freeText = (maxLength: number) =>
  z
    .string()
    .optional()
    .transform((text) => (text === undefined ? null : sanitizeText(text, maxLength)))

/** Parses an {@link AuditEvent} into the row to store; unknown fields are stripped. */
export const auditEventSchema = z.object({
  action: z.enum(AUDIT_ACTIONS),
  outcome: z.enum(AUDIT_OUTCOMES),
  at: z.number().int().nonnegative().optional(),
  // A claimed id that is not shaped like one (garbage in a failed authentication) is kept as cleaned
  // text rather than dropping the event: the failure is what matters.
  keyId: z
    .string()
    .optional()
    .transform((id) => (id === undefined ? null : KEY_ID_PATTERN.test(id) ? id : sanitizeText(id, 64))),
  tenant: tenantSchema.optional().transform((tenant) => tenant ?? null),
  target: freeText(MAX_TEXT_LENGTH),
  ip: freeText(64),
  userAgent: freeText(MAX_TEXT_LENGTH),
  detail: freeText(MAX_TEXT_LENGTH),
})
