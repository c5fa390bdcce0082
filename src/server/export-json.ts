/**
 * How `GET /v1/export` writes entries as JSON. The cache stores values with msgpack, which keeps types
 * that JSON has no notation for (Date, Map, Set, BigInt, binary, typed arrays, cycles, NaN); each is
 * converted by one fixed rule, so that the same value always exports to the same text:
 *
 * | stored value | exported as |
 * |---|---|
 * | `null`, boolean, string, finite number | itself (`-0` as `0`) |
 * | `NaN`, `Infinity`, `-Infinity` | the strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | bigint | its decimal digits as a string: `10n ** 20n` → `"100000000000000000000"` |
 * | Date | ISO 8601 string in UTC (`toISOString()`); an invalid Date → `null` |
 * | Map | an object of its entries when every key is a string, else an array of `[key, value]` pairs; in insertion order |
 * | Set | an array of its members, in insertion order |
 * | Uint8Array, Buffer, Uint8ClampedArray, ArrayBuffer, DataView | `{ "$base64": "<bytes in base64, RFC 4648 §4, padded>" }` |
 * | other typed arrays | an array of their numbers (BigInt64Array's as decimal strings) |
 * | RegExp | the string `"/source/flags"` |
 * | Error | `{ "name": ..., "message": ... }` |
 * | `undefined` | left out of objects, `null` in arrays |
 * | a reference to an object that contains it (a cycle) | `{ "$circular": true }` |
 * | any other object | an object of its own enumerable string-keyed properties, converted |
 *
 * The conversion is one way, for people and programs reading an export: a stored object whose only
 * key is `$base64` exports like binary, a Map with string keys like an object.
 */
import type { ExportedEntry } from '../cache/cache.js'

/** A value JSON can represent exactly. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** The key of the object that stands for binary data in an export. */
export const BASE64_MARKER = '$base64'

/** The key of the object that stands for a reference back to an enclosing object. */
export const CIRCULAR_MARKER = '$circular'

/** One line of an export, before it is written as JSON. */
export interface ExportLine {
  readonly scope: ExportedEntry['scope']
  readonly namespace: string
  readonly key: string
  readonly value: JsonValue
  readonly createdAt: number
  readonly freshUntil: number
  readonly stale: boolean
}

/**
 * `value` converted for JSON by the rules above; `JSON.stringify` of the result is lossless. Never
 * throws for a value the cache can store (a value nested deeper than the call stack allows aside).
 */
export function toExportJson(value: unknown): JsonValue {
  return convert(value, new Set())
}

/**
 * One entry as one line of NDJSON: `{ scope, namespace, key, value, createdAt, freshUntil, stale }`
 * (times in epoch ms), ending with `\n`. JSON escapes line breaks inside strings, so an entry is
 * always exactly one line.
 */
export function exportLine(entry: ExportedEntry): string {
  const line: ExportLine = {
    scope: entry.scope,
    namespace: entry.namespace,
    key: entry.key,
    value: toExportJson(entry.value),
    createdAt: entry.createdAt,
    freshUntil: entry.freshUntil,
    stale: entry.stale,
  }
  return `${JSON.stringify(line)}\n`
}

/** An object with no prototype, so that a key such as `__proto__` is just a key. */
function record(): Record<string, JsonValue> {
  return Object.create(null) as Record<string, JsonValue>
}

function bytes(view: ArrayBufferView | ArrayBufferLike): JsonValue {
  const buffer = ArrayBuffer.isView(view) ? Buffer.from(view.buffer, view.byteOffset, view.byteLength) : Buffer.from(view)
  const marked = record()
  marked[BASE64_MARKER] = buffer.toString('base64')
  return marked
}

function number(value: number): JsonValue {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return 'Infinity'
  if (value === -Infinity) return '-Infinity'
  return Object.is(value, -0) ? 0 : value
}

/**
 * @param ancestors - the objects enclosing `value`, to tell a cycle from an object that merely
 *   appears twice (which is converted twice, as JSON would write it)
 */
function convert(value: unknown, ancestors: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return number(value)
    case 'bigint':
      return value.toString()
    case 'undefined':
    case 'function':
    case 'symbol':
      return null
  }
  if (value === null || typeof value !== 'object') return null
  if (ancestors.has(value)) {
    const marked = record()
    marked[CIRCULAR_MARKER] = true
    return marked
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (value instanceof RegExp) return String(value)
  if (value instanceof Uint8Array || value instanceof Uint8ClampedArray || value instanceof DataView) return bytes(value)
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) return bytes(value)
  if (ArrayBuffer.isView(value)) {
    // The remaining views are typed arrays of numbers or bigints.
    return Array.from(value as unknown as ArrayLike<number | bigint>, (item) => convert(item, ancestors))
  }

  ancestors.add(value)
  try {
    if (Array.isArray(value)) return value.map((item: unknown) => convert(item, ancestors))
    if (value instanceof Set) return [...value].map((item: unknown) => convert(item, ancestors))
    if (value instanceof Map) {
      const entries = [...(value as Map<unknown, unknown>)]
      if (entries.every(([key]) => typeof key === 'string')) {
        const object = record()
        for (const [key, item] of entries) {
          if (item !== undefined) object[key as string] = convert(item, ancestors)
        }
        return object
      }
      return entries.map(([key, item]) => [convert(key, ancestors), convert(item, ancestors)])
    }
    if (value instanceof Error) {
      const object = record()
      object.name = value.name
      object.message = value.message
      return object
    }
    const object = record()
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key]
      // As JSON.stringify: a property holding nothing JSON can show is left out.
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue
      object[key] = convert(item, ancestors)
    }
    return object
  } finally {
    ancestors.delete(value)
  }
}
