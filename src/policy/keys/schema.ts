import { z } from 'zod'

// STUB (helper "keys" replaces it).

/** The `keys` section of the policy configuration. */
export const keysSchema = z.object({}).loose()
