/**
 * How answers become JSON. Every route's answer goes through its zod response schema
 * (fastify-type-provider-zod), except the hottest, a read's `Served`: checking the cache's own
 * output against a schema on every read cost about 5 % of the server's time under load, so it is
 * written field by field instead, the same bytes the schema would give.
 */
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js'
import { createSerializerCompiler } from 'fastify-type-provider-zod'
import type { Served } from '../core/entry.js'

/**
 * JSON has no bigint, yet the library can store one: it is sent as a decimal string rather than failing
 * the whole answer with a 500.
 */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/** The serializer of every route's zod response schemas. */
export const zodSerializerCompiler = createSerializerCompiler({ replacer })

/** JSON of a value; the replacer (a call per property) only for values that need it. */
function valueJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch (error) {
    if (error instanceof TypeError && /BigInt/i.test(error.message)) return JSON.stringify(value, replacer)
    throw error
  }
}

/** `{ value, source, stale, ageMs, freshUntil }`, in the order of `servedSchema`, nothing else. */
export function serializeServed(served: Served<unknown>): string {
  return (
    `{"value":${valueJson(served.value)},"source":${JSON.stringify(served.source)},"stale":${served.stale ? 'true' : 'false'},` +
    `"ageMs":${JSON.stringify(served.ageMs)},"freshUntil":${JSON.stringify(served.freshUntil)}}`
  )
}

/** A route's serializer compiler: {@link serializeServed} for its 200, the zod schemas for the rest. */
export function servedSerializerCompiler<S>(route: FastifyRouteSchemaDef<S>): (data: unknown) => string {
  if (route.httpStatus === '200') return (data) => serializeServed(data as Served<unknown>)
  // The route's other schemas are zod's, as on every route.
  return zodSerializerCompiler(route as unknown as Parameters<typeof zodSerializerCompiler>[0])
}
