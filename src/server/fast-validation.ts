/**
 * The read route's request checks, made by its handler rather than by Fastify: zod's parse of the
 * path parameters and the query of every `GET /v1/entries/:namespace/:key` was about a fifth of the
 * server's time per cached read, and Fastify's validation steps around it a few percent more. A
 * request that passes the same checks the library applies (`NAMESPACE_PATTERN`, `assertKey`, no
 * query) is accepted as it is; anything else goes to the route's zod schemas, which decide, and word
 * the error, exactly as Fastify's validation of them does. The schemas stay on the route for the
 * OpenAPI document; the route's validator compiler leaves those two parts to {@link EntryReadChecks.read}.
 */
import type { FastifySchemaCompiler } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import type { ZodType } from 'zod'
import { NAMESPACE_PATTERN, assertKey } from '../core/validate.js'
import type { TiercacheError } from '../errors.js'
import { toTiercacheError } from './errors.js'

/** What a read asks for, checked. */
export interface EntryRead {
  readonly namespace: string
  readonly key: string
  /** `?allowStale=true`. */
  readonly allowStale: boolean
  /** `?explain=true`: the key's explanation instead of its value (docs/explain.md). */
  readonly explain: boolean
}

/** The read route's checks: its validator compiler, and the check its handler makes. */
export interface EntryReadChecks {
  /** The route's `validatorCompiler`: nothing for the params and the query, zod for any other part. */
  readonly compiler: FastifySchemaCompiler<unknown>
  /**
   * The request's params and query, checked as the route's schemas check them.
   * @throws the catalogue error Fastify's validation would have answered (`TC_INVALID_NAMESPACE`,
   *   `TC_INVALID_KEY`, `TC_BAD_REQUEST` naming the field)
   */
  read(params: unknown, query: unknown): EntryRead
}

type ZodValidator = (data: unknown) => { value?: unknown; error?: unknown }

function fastParams(data: unknown, maxKeyLength: number): data is { namespace: string; key: string } {
  const { namespace, key } = data as { namespace?: unknown; key?: unknown }
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) return false
  try {
    assertKey(key, maxKeyLength)
    return true
  } catch {
    return false
  }
}

/** An empty query string: Fastify parses it to an object without keys. */
function noQuery(data: unknown): boolean {
  for (const _ in data as object) return false
  return true
}

/** `validator`'s value for `data`; its issues as Fastify's validation answers them (see errors.ts). */
function parsed(validator: ZodValidator, data: unknown, part: 'params' | 'querystring'): unknown {
  const result = validator(data)
  if (result.error !== undefined) throw validationError(result.error, part)
  return result.value
}

function validationError(issues: unknown, part: 'params' | 'querystring'): TiercacheError {
  return toTiercacheError({ validation: issues, validationContext: part })
}

/**
 * The checks of `GET /v1/entries/:namespace/:key`, whose params and query schemas are `params` and
 * `query` (see schemas.ts), for keys of at most `maxKeyLength`.
 */
export function entryReadChecks(maxKeyLength: number, params: ZodType, query: ZodType): EntryReadChecks {
  const route = { method: 'GET', url: '/v1/entries/:namespace/:key' }
  // fastify-type-provider-zod's validators answer { value } or { error }, never a boolean or a promise.
  const zodParams = validatorCompiler({ ...route, schema: params, httpPart: 'params' }) as ZodValidator
  const zodQuery = validatorCompiler({ ...route, schema: query, httpPart: 'querystring' }) as ZodValidator
  return {
    compiler: (route) => {
      // Fastify skips a part whose validator is undefined: the handler checks these two.
      if (route.httpPart === 'params' || route.httpPart === 'querystring') return undefined as never
      return validatorCompiler(route as Parameters<typeof validatorCompiler>[0])
    },
    read(rawParams, rawQuery) {
      // In Fastify's order: the params first, then the query.
      const { namespace, key } = fastParams(rawParams, maxKeyLength) ? rawParams : (parsed(zodParams, rawParams, 'params') as { namespace: string; key: string })
      if (noQuery(rawQuery)) return { namespace, key, allowStale: false, explain: false }
      const { allowStale, explain } = parsed(zodQuery, rawQuery, 'querystring') as { allowStale?: boolean; explain?: boolean }
      return { namespace, key, allowStale: allowStale === true, explain: explain === true }
    },
  }
}
