/**
 * The read route's request checks without zod on the common path: zod's parse of the path
 * parameters and the query of every `GET /v1/entries/:namespace/:key` was about a fifth of the
 * server's time per cached read. A request that passes the same checks the library applies
 * (`NAMESPACE_PATTERN`, `assertKey`, no query) is accepted as it is; anything else goes to the zod
 * schema, which decides, and words the error, exactly as before.
 */
import type { FastifySchemaCompiler } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import { NAMESPACE_PATTERN, assertKey } from '../core/validate.js'

type Check = (data: unknown) => boolean

function entryParams(maxKeyLength: number): Check {
  return (data) => {
    const { namespace, key } = data as { namespace?: unknown; key?: unknown }
    if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) return false
    try {
      assertKey(key, maxKeyLength)
      return true
    } catch {
      return false
    }
  }
}

/** An empty query string: Fastify parses it to an object without keys. */
const noQuery: Check = (data) => {
  for (const _ in data as object) return false
  return true
}

/**
 * The validator compiler of `GET /v1/entries/:namespace/:key`: the fast checks above for its params and
 * query, zod (`validatorCompiler`) for whatever they do not accept, and for every other part.
 */
export function entryReadValidatorCompiler(maxKeyLength: number): FastifySchemaCompiler<unknown> {
  const params = entryParams(maxKeyLength)
  return (route) => {
    const zod = validatorCompiler(route as Parameters<typeof validatorCompiler>[0])
    const fast = route.httpPart === 'params' ? params : route.httpPart === 'querystring' ? noQuery : undefined
    if (fast === undefined) return zod
    return (data) => (fast(data) ? { value: data } : zod(data))
  }
}
