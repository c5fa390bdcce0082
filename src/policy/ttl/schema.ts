import { z } from 'zod'

// STUB (helper "ttl" replaces it): the sections of the policy configuration that decide ttls.

/** The `policies`, `multipliers` and `seasons` sections of the policy configuration. */
export const ttlSections = {
  policies: z.record(z.string(), z.object({}).loose()).default({}),
  multipliers: z.object({}).loose().optional(),
  seasons: z.record(z.string(), z.object({}).loose()).optional(),
}
