import { z } from 'zod'

// STUB (helper "warm" replaces it).

/** The `warm` section of the policy configuration. */
export const warmSchema = z.object({}).loose()
