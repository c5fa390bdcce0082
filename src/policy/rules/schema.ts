import { z } from 'zod'

// STUB (helper "rules" replaces it).

/** The `rules` section of the policy configuration. */
export const rulesSchema = z.object({}).loose()
