import type { z } from 'zod'
import { InvalidOptionsError } from '../errors.js'

/**
 * Parses `input` with `schema` once, at construction, and freezes the result.
 * @throws InvalidOptionsError naming the offending fields (never their values, which may be secrets)
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): Readonly<z.output<S>> {
  const result = schema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    throw new InvalidOptionsError(`invalid ${what} options: ${problems.join('; ')}`)
  }
  return Object.freeze(result.data)
}
