/**
 * Security scopes: every entry belongs to the public scope, to a tenant, or to a user within a
 * tenant. The scope is folded into the namespace that tiers store (the storage namespace), so it is
 * part of the storage key in every tier, and everything of a tenant or a user sits under one prefix
 * that erasure and export address:
 *
 * | scope  | storage namespace              | example            |
 * |--------|--------------------------------|--------------------|
 * | public | `<ns>`                         | `flights`          |
 * | tenant | `~<tenant>~<ns>`               | `~acme~flights`    |
 * | user   | `~<tenant>~<user hash>~<ns>`   | `~acme~Xk…9Q~cart` |
 *
 * Namespaces and tenant ids are `[A-Za-z0-9._-]`, so `~` cannot occur in them and the encoding is
 * unambiguous: no namespace, tenant or crafted key of one scope spells another scope's storage
 * namespace. A user id may be any string (an email, a UUID); it is stored as the first 128 bits of its
 * SHA-256 in base64url (22 characters), which keeps storage namespaces short and keeps user ids out of
 * storage (though not out of reach of whoever can guess them: the hash is unkeyed).
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { InvalidContextError } from '../errors.js'

/** Who is asking: an anonymous caller, an authenticated user of a tenant, or a trusted back end. */
export type ContextRole = 'anon' | 'authenticated' | 'service'

/**
 * The security context of a caller, given to `cache.withContext(ctx)`.
 *
 * - `anon`: public entries only; `tenantId` and `userId` must be absent.
 * - `authenticated`: `tenantId` required; `userId` optional (without it there is no user scope).
 * - `service`: a trusted back end; `tenantId` optional (without it, public entries only) and `userId`
 *   optional, so that it can act on any tenant's or user's entries on their behalf.
 */
export interface SecurityContext {
  readonly role: ContextRole
  /** `[A-Za-z0-9._-]{1,64}`. */
  readonly tenantId?: string
  /** Any well-formed string of 1 to 256 characters. */
  readonly userId?: string
}

/** Where an entry belongs. */
export type ScopeLevel = 'public' | 'tenant' | 'user'

/** A resolved scope: its level, its owner, and the storage namespace prefix of its entries. */
export interface Scope {
  readonly level: ScopeLevel
  /** The role of the context it was made from; none for a cache used without a context. */
  readonly role?: ContextRole
  readonly tenantId?: string
  readonly userId?: string
  /** Prepended to a namespace to make its storage namespace: `''`, `~<tenant>~` or `~<tenant>~<user hash>~`. */
  readonly prefix: string
}

/** The scope of a cache used without a context. */
export const PUBLIC_SCOPE: Scope = Object.freeze({ level: 'public', prefix: '' })

const SEPARATOR = '~'
const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
/** Length of a user hash: 128 bits in base64url. */
const USER_HASH_LENGTH = 22

const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed()

const contextSchema = z
  .object({
    role: z.enum(['anon', 'authenticated', 'service']),
    tenantId: z.string().regex(TENANT_PATTERN, "must be 1 to 64 letters, digits, '.', '_' or '-'").optional(),
    userId: z.string().min(1).max(256).refine(wellFormed, 'must be a well-formed string').optional(),
  })
  .strict()
  .superRefine((ctx, issues) => {
    if (ctx.role === 'anon' && (ctx.tenantId !== undefined || ctx.userId !== undefined)) {
      issues.addIssue({ code: 'custom', message: 'an anon context has no tenantId or userId' })
    }
    if (ctx.role === 'authenticated' && ctx.tenantId === undefined) {
      issues.addIssue({ code: 'custom', path: ['tenantId'], message: 'an authenticated context needs a tenantId' })
    }
    if (ctx.userId !== undefined && ctx.tenantId === undefined) {
      issues.addIssue({ code: 'custom', path: ['tenantId'], message: 'a userId needs a tenantId' })
    }
  })

/** `~<tenant>~`: the prefix of every storage namespace of the tenant, its users' included. */
export function tenantPrefix(tenantId: string): string {
  return `${SEPARATOR}${tenantId}${SEPARATOR}`
}

/** `~<tenant>~<user hash>~`: the prefix of every storage namespace of the user. */
export function userPrefix(tenantId: string, userId: string): string {
  const hash = createHash('sha256').update(userId, 'utf8').digest('base64url').slice(0, USER_HASH_LENGTH)
  return `${tenantPrefix(tenantId)}${hash}${SEPARATOR}`
}

/**
 * The scope a context reaches at `level`, by default the narrowest it has: user when it names a
 * user, else tenant when it names a tenant, else public. A context reaches the levels above its own:
 * a user's context may read and write its tenant's and public entries.
 * @throws InvalidContextError (`TC_INVALID_CONTEXT`) when the context is malformed (see
 *   {@link SecurityContext}) or does not reach `level`
 */
export function scopeFor(context: SecurityContext, level?: ScopeLevel): Scope {
  const parsed = contextSchema.safeParse(context)
  if (!parsed.success) throw new InvalidContextError(`invalid security context: ${z.prettifyError(parsed.error)}`)
  const { role, tenantId, userId } = parsed.data
  const wanted = level ?? (userId !== undefined ? 'user' : tenantId !== undefined ? 'tenant' : 'public')
  switch (wanted) {
    case 'public':
      return Object.freeze({ level: 'public', role, prefix: '' })
    case 'tenant':
      if (tenantId === undefined) throw new InvalidContextError('the tenant scope needs a context with a tenantId')
      return Object.freeze({ level: 'tenant', role, tenantId, prefix: tenantPrefix(tenantId) })
    case 'user':
      if (tenantId === undefined || userId === undefined) throw new InvalidContextError('the user scope needs a context with a tenantId and a userId')
      return Object.freeze({ level: 'user', role, tenantId, userId, prefix: userPrefix(tenantId, userId) })
    default:
      throw new InvalidContextError("scope must be 'public', 'tenant' or 'user'")
  }
}

/**
 * The level of a storage namespace, from its shape alone (no allocation: it runs on every write).
 */
export function levelOf(storageNamespace: string): ScopeLevel {
  if (storageNamespace.charCodeAt(0) !== 126) return 'public'
  const second = storageNamespace.indexOf(SEPARATOR, 1)
  return storageNamespace.indexOf(SEPARATOR, second + 1) === -1 ? 'tenant' : 'user'
}

/** The tenant of a storage namespace, or undefined for a public one. */
export function tenantOf(storageNamespace: string): string | undefined {
  if (storageNamespace.charCodeAt(0) !== 126) return undefined
  const end = storageNamespace.indexOf(SEPARATOR, 1)
  return end === -1 ? undefined : storageNamespace.slice(1, end)
}

/** The user hash of a user storage namespace (`~<tenant>~<hash>~<ns>`), else undefined. */
export function userHashOf(storageNamespace: string): string | undefined {
  if (levelOf(storageNamespace) !== 'user') return undefined
  const start = storageNamespace.indexOf(SEPARATOR, 1) + 1
  return storageNamespace.slice(start, storageNamespace.indexOf(SEPARATOR, start))
}

/** The namespace as its scope's callers name it: the storage namespace without its scope prefix. */
export function namespaceOf(storageNamespace: string): string {
  return storageNamespace.slice(storageNamespace.lastIndexOf(SEPARATOR) + 1)
}

