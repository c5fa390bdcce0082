/**
 * How answers become JSON. Every route's answer goes through its zod response schema
 * (fastify-type-provider-zod), except the hottest, a read's `Served`: checking the cache's own
 * output against a schema on every read cost about 5 % of the server's time under load, so the read
 * route sends it as text, written field by field, the same bytes the schema would give.
 */
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
function toJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch (error) {
    if (error instanceof TypeError && /BigInt/i.test(error.message)) return JSON.stringify(value, replacer)
    throw error
  }
}

// The JSON of each object value served, by the value itself. L1 serves one value object per entry, by
// reference, until the entry is replaced (a new object): a hot key is written once, not on every read,
// which was a fifth of a cached GET. Values served are not to be mutated (see `Cache`); one that is
// anyway is answered here as it was when first served. Weak: an evicted value takes its JSON with it.
const jsonOf = new WeakMap<object, string>()

/** JSON of a served value, from {@link jsonOf} when it is an object served before. */
function valueJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return toJson(value)
  let json = jsonOf.get(value)
  if (json === undefined) {
    json = toJson(value)
    jsonOf.set(value, json)
  }
  return json
}

/** A number as JSON: `null` for one that is not finite, as `JSON.stringify` writes it. */
function numberJson(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null'
}

/** `{ value, source, stale, ageMs, freshUntil }`, in the order of `servedSchema`, nothing else. */
export function serializeServed(served: Served<unknown>): string {
  return (
    `{"value":${valueJson(served.value)},"source":"${served.source}","stale":${served.stale ? 'true' : 'false'},` +
    `"ageMs":${numberJson(served.ageMs)},"freshUntil":${numberJson(served.freshUntil)}}`
  )
}
