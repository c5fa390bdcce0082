import { z } from 'zod'
import { CorruptEntryError, TierUnavailableError, isTiercacheError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'
import { formatKey, generateKeyId, generateSecret, hashSecret, parseKey, secretMatches } from './key.js'
import { DEFAULT_KEY_PLAN, type Role, planNameSchema, rolesSchema, tenantSchema } from './roles.js'

/** What {@link CredentialStore.create} takes. */
export interface NewKeyInput {
  /** The tenant the key acts for, `[A-Za-z0-9._-]{1,64}`. */
  readonly tenant: string
  /** Its roles: at least one of read, write, admin, plus `service` for cross-tenant keys; see `ROLES`. */
  readonly roles: readonly string[]
  /**
   * The name of its rate-limit plan, `[A-Za-z0-9._-]{1,64}`: the server limits the key's requests by
   * the plan of that name in its configuration (see `src/server/rate-limits.ts`). @default 'free'
   */
  readonly plan?: string
}

/** A newly created key, the only time its secret is ever available. */
export interface CreatedKey {
  /** Public id, `tck_` and 12 base32 characters. */
  readonly id: string
  /** The key to hand to the client, `tc_<id>_<secret>`: shown once, never stored. */
  readonly key: string
  readonly tenant: string
  /** Deduplicated, in the order of `ROLES`. */
  readonly roles: readonly Role[]
  /** Name of its rate-limit plan. */
  readonly plan: string
  /** Epoch ms. */
  readonly createdAt: number
}

/** Who a verified key speaks for. */
export interface Principal {
  /** The key's public id (for the audit log). */
  readonly id: string
  readonly tenant: string
  readonly roles: readonly Role[]
  /** Name of the key's rate-limit plan (`'free'` unless it was created with another). */
  readonly plan: string
}

/** What {@link CredentialStore.list} and {@link CredentialStore.get} show of a key: never its hash or secret. */
export interface KeyInfo extends Principal {
  /** Epoch ms. */
  readonly createdAt: number
  /** Epoch ms; null while the key is active. */
  readonly revokedAt: number | null
  /** Epoch ms, to the minute ({@link LAST_USED_RESOLUTION_MS}); null if never verified. */
  readonly lastUsedAt: number | null
}

/**
 * The API keys: created with a random secret shown once, stored only as its SHA-256, each bound to a
 * tenant and roles.
 *
 * Errors: invalid input throws InvalidOptionsError (`TC_INVALID_OPTIONS`); a storage failure throws
 * TierUnavailableError (`TC_TIER_UNAVAILABLE`, the database's error as `cause`); a row that cannot
 * be read back throws CorruptEntryError. No message contains a key or secret.
 */
export interface CredentialStore {
  /**
   * Creates a key for `input.tenant` with `input.roles` and `input.plan` (default `'free'`). The
   * returned `key` is the only copy of the secret: hand it over, do not keep it.
   */
  create(input: NewKeyInput): Promise<CreatedKey>
  /**
   * The principal of a presented key (the `Authorization: Bearer` token), or undefined when the key
   * is malformed, unknown, revoked, or its secret does not match. The secret is compared by hash in
   * constant time. Which of these it was is not said: the caller answers 401 in every case.
   */
  verify(presentedKey: string): Promise<Principal | undefined>
  /** The key with this id, active or revoked; undefined if there is none (or `id` is malformed). */
  get(id: string): Promise<KeyInfo | undefined>
  /** Every key, or a tenant's, active and revoked, oldest first. */
  list(tenant?: string): Promise<KeyInfo[]>
  /**
   * Revokes the key: it no longer verifies, in any process, from the next request. False when there
   * is no active key with this id (unknown, malformed, or revoked already).
   */
  revoke(id: string): Promise<boolean>
  /** Closes the store's own connection. Idempotent. */
  close(): Promise<void>
}

/** A stored key row, as a backend reads it. */
export interface KeyRow {
  readonly id: string
  readonly tenant: string
  /** JSON array of role names. */
  readonly roles: string
  /** Name of the rate-limit plan. */
  readonly plan: string
  /** SHA-256 of the secret, 32 bytes. */
  readonly hash: Uint8Array
  readonly createdAt: number
  readonly revokedAt: number | null
  readonly lastUsedAt: number | null
}

/**
 * The storage under a {@link CredentialStore}: rows of `tiercache_api_keys` in SQLite or PostgreSQL.
 * It never sees a secret, only its hash.
 */
export interface CredentialBackend {
  /** Inserts a new row; false (and nothing written) when the id exists already. */
  insert(row: Omit<KeyRow, 'revokedAt' | 'lastUsedAt'>): Promise<boolean>
  find(id: string): Promise<KeyRow | undefined>
  /** Every row, or a tenant's, ordered by (created_at, id). */
  list(tenant: string | undefined): Promise<KeyRow[]>
  /** Sets `revoked_at = at` on the row if it is not revoked yet; true when it did. */
  revoke(id: string, at: number): Promise<boolean>
  /** Sets `last_used_at = at` on the row if it is null or older than `olderThan`. */
  touch(id: string, at: number, olderThan: number): Promise<void>
  close(): Promise<void>
}

/** Options of a credential store. */
export interface CredentialStoreOptions {
  /** Clock, epoch ms (tests). @default Date.now */
  readonly now?: () => number
}

/**
 * How stale `last_used_at` may get: a verification writes it only when it is older than this, so that
 * a busy key costs one write a minute per process, not one per request. In ms.
 */
export const LAST_USED_RESOLUTION_MS = 60_000

// An id collision among 2^60 ids is unlikely enough that a second one in a row means a bug.
const CREATE_ATTEMPTS = 3

const newKeySchema = z.object({ tenant: tenantSchema, roles: rolesSchema, plan: planNameSchema.default(DEFAULT_KEY_PLAN) })
const listSchema = z.object({ tenant: tenantSchema })

/**
 * The {@link CredentialStore} over `backend`, which it owns (closes on close): key generation,
 * hashing, validation and verification, the same for every database.
 */
export function createCredentialStore(backend: CredentialBackend, options: CredentialStoreOptions = {}): CredentialStore {
  const now = options.now ?? Date.now
  let closing: Promise<void> | undefined

  const store: CredentialStore = {
    async create(input) {
      const { tenant, roles, plan } = parseOptions(newKeySchema, input, 'API key')
      for (let attempt = 1; ; attempt++) {
        const id = generateKeyId()
        const secret = generateSecret()
        const createdAt = now()
        const inserted = await guard('create an API key', () =>
          backend.insert({ id, tenant, roles: JSON.stringify(roles), plan, hash: hashSecret(secret), createdAt }),
        )
        if (inserted) return { id, key: formatKey(id, secret), tenant, roles, plan, createdAt }
        if (attempt >= CREATE_ATTEMPTS) throw new TierUnavailableError('cannot create an API key: every generated id was taken')
      }
    },

    async verify(presentedKey) {
      const parsed = typeof presentedKey === 'string' ? parseKey(presentedKey) : undefined
      if (parsed === undefined) return undefined
      const row = await guard('verify an API key', () => backend.find(parsed.id))
      if (row === undefined) return undefined
      // Compared before the revocation is looked at, so a revoked key takes as long as a live one.
      if (!secretMatches(parsed.secret, row.hash) || row.revokedAt !== null) return undefined
      const principal: Principal = { id: row.id, tenant: row.tenant, roles: readRoles(row), plan: row.plan }
      const at = now()
      if (row.lastUsedAt === null || row.lastUsedAt < at - LAST_USED_RESOLUTION_MS) {
        // Best effort: losing a last-used stamp must not fail an authentication.
        backend.touch(row.id, at, at - LAST_USED_RESOLUTION_MS).catch(() => undefined)
      }
      return principal
    },

    async get(id) {
      if (typeof id !== 'string') return undefined
      const row = await guard('read an API key', () => backend.find(id))
      return row === undefined ? undefined : toInfo(row)
    },

    async list(tenant) {
      const checked = tenant === undefined ? undefined : parseOptions(listSchema, { tenant }, 'API key list').tenant
      const rows = await guard('list API keys', () => backend.list(checked))
      return rows.map(toInfo)
    },

    async revoke(id) {
      if (typeof id !== 'string') return false
      return guard('revoke an API key', () => backend.revoke(id, now()))
    },

    async close() {
      closing ??= backend.close()
      return closing
    },
  }
  return store
}

function toInfo(row: KeyRow): KeyInfo {
  return {
    id: row.id,
    tenant: row.tenant,
    roles: readRoles(row),
    plan: row.plan,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  }
}

/** @throws CorruptEntryError when the stored roles are not a valid role list */
function readRoles(row: KeyRow): Role[] {
  let stored: unknown
  try {
    stored = JSON.parse(row.roles)
  } catch (cause) {
    throw new CorruptEntryError(`stored roles of API key ${row.id} cannot be decoded`, { cause })
  }
  const result = rolesSchema.safeParse(stored)
  if (!result.success) throw new CorruptEntryError(`stored roles of API key ${row.id} are not a valid role list`)
  return result.data
}

/** Runs a backend call, reporting a database failure as TierUnavailableError with the failure as cause. */
async function guard<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (cause) {
    if (isTiercacheError(cause)) throw cause
    throw new TierUnavailableError(`cannot ${what}: the key storage failed`, { cause })
  }
}
