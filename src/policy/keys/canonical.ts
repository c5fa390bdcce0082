import { InvalidOptionsError } from '../../errors.js'

/** Most levels of arrays and objects one inside another in a canonical value: deeper input (or a cycle) is refused rather than risking the stack. */
export const MAX_CANONICAL_DEPTH = 32

/**
 * The canonical JSON text of `value`, so that two requests that mean the same thing hash the same:
 * object keys sorted (by UTF-16 code units) at every depth, no whitespace, properties whose value is
 * `undefined` dropped (inside arrays `undefined` is `null`, as in JSON, so that positions keep their
 * meaning), `-0` written `0`, other numbers in ECMAScript's shortest round-trip form (`1.50` and `1.5`
 * are one number), a `Date` as its ISO 8601 string.
 *
 * Only JSON data is accepted: plain objects, arrays, strings, finite numbers, booleans and `null`.
 * @param path - where `value` sits, for messages (`params.filters`)
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) naming the path of a value JSON cannot hold the
 *   same way twice: `NaN`, `±Infinity`, a bigint, a function, a symbol, a `Map`, a `Set` or another
 *   class instance, a cycle, or nesting deeper than {@link MAX_CANONICAL_DEPTH}
 */
export function canonicalJson(value: unknown, path = 'value'): string {
  return write(value, path, 0)
}

function write(value: unknown, path: string, depth: number): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidOptionsError(`${path}: ${String(value)} has no JSON form; give a finite number`)
      // JSON.stringify writes -0 as "0" already; Object.is keeps the intent visible.
      return Object.is(value, -0) ? '0' : JSON.stringify(value)
    case 'object':
      break
    default:
      throw new InvalidOptionsError(`${path}: a ${typeof value} is not JSON data; give a string, a number, a boolean, null, an array or a plain object`)
  }
  if (depth >= MAX_CANONICAL_DEPTH) throw new InvalidOptionsError(`${path}: nested deeper than ${MAX_CANONICAL_DEPTH} levels (or a cycle)`)
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidOptionsError(`${path}: an invalid Date`)
    return JSON.stringify(value.toISOString())
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => (item === undefined ? 'null' : write(item, `${path}[${index}]`, depth + 1))).join(',')}]`
  }
  const prototype: unknown = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) {
    const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'class instance'
    throw new InvalidOptionsError(`${path}: a ${kind} is not JSON data; give a plain object or an array`)
  }
  const record = value as Record<string, unknown>
  const parts: string[] = []
  // Default sort compares UTF-16 code units: the same order on every machine, whatever its locale.
  for (const key of Object.keys(record).sort()) {
    const item = record[key]
    if (item === undefined) continue
    parts.push(`${JSON.stringify(key)}:${write(item, `${path}.${key}`, depth + 1)}`)
  }
  return `{${parts.join(',')}}`
}
