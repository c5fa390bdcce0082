import { z } from 'zod'

/**
 * What an API key may do, within its tenant:
 *
 * - `read`: read entries (get, list, stats of its own tenant);
 * - `write`: write, delete and invalidate entries;
 * - `admin`: manage the tenant: erase and export subjects, purge, read the tenant's audit log.
 *
 * `service` is a modifier for trusted back ends, not a permission of its own: it lets the key act on
 * behalf of other tenants (the server then takes the tenant from the request), with the rights its
 * other roles give. A key's roles must therefore include at least one of read, write or admin.
 */
export const ROLES = ['read', 'write', 'admin', 'service'] as const

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number]

/** Tenant ids: 1 to 64 of `A-Z a-z 0-9 . _ -`, safe in keys, paths, logs and metric-free labels. */
export const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

/** A tenant id, as {@link TENANT_PATTERN} says. */
export const tenantSchema = z.string().regex(TENANT_PATTERN, "must be 1 to 64 letters, digits, '.', '_' or '-'")

/**
 * A non-empty list of roles, read back deduplicated in the canonical order of {@link ROLES}, with at
 * least one of read, write or admin (see `service`).
 */
export const rolesSchema = z
  .array(z.enum(ROLES))
  .min(1, 'must name at least one role')
  .transform((roles) => ROLES.filter((role) => roles.includes(role)))
  .refine((roles) => roles.some((role) => role !== 'service'), 'must include read, write or admin (service only widens their reach)')

/**
 * Splits a comma-separated role list (`'read, write'`) into trimmed, non-empty names, unvalidated:
 * parse the result with {@link rolesSchema}.
 */
export function splitRoles(text: string): string[] {
  return text
    .split(',')
    .map((role) => role.trim())
    .filter((role) => role !== '')
}

/** The rate-limit plan of a key created without one. */
export const DEFAULT_KEY_PLAN = 'free'

/**
 * The name of a key's rate-limit plan: 1 to 64 of `A-Z a-z 0-9 . _ -`, like tenant ids. Whether the
 * server knows a plan of that name is the server's business: the key only names it.
 */
export const planNameSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1 to 64 letters, digits, '.', '_' or '-'")
