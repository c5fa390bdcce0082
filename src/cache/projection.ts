import { InvalidOptionsError } from '../errors.js'

/**
 * The declared public fields of `value`, for anonymous callers: a copy holding only the listed
 * fields of a plain object, where a field may be a dotted path (`'author.name'`) into nested plain
 * objects; arrays are projected element by element. Fields the value lacks are left out. Anything
 * that is not a plain object or an array (a string, a number, a Date, a Map) has no fields, so it
 * projects to `null`: a value that cannot be vetted field by field is not shown to anonymous callers.
 *
 * @example
 * project({ id: 7, name: 'Ada', email: 'ada@example.com', org: { name: 'X', iban: '...' } }, ['id', 'name', 'org.name'])
 * // → { id: 7, name: 'Ada', org: { name: 'X' } }
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `fields` is not a non-empty list of non-empty names
 */
export function project(value: unknown, fields: readonly string[]): unknown {
  assertFields(fields)
  return pick(value, fields.map((field) => field.split('.')))
}

/** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) unless `fields` is a non-empty list of non-empty names or dotted paths */
export function assertFields(fields: readonly string[]): void {
  if (!Array.isArray(fields) || fields.length === 0 || fields.some((field) => typeof field !== 'string' || field === '' || field.split('.').includes(''))) {
    throw new InvalidOptionsError('publicFields must be a non-empty list of field names or dotted paths')
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function pick(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => pick(item, paths))
  if (!isPlainObject(value)) return null
  const out: Record<string, unknown> = {}
  const nested = new Map<string, string[][]>()
  for (const [head, ...rest] of paths) {
    if (head === undefined || !Object.hasOwn(value, head)) continue
    if (rest.length === 0) {
      out[head] = value[head]
      nested.delete(head)
    } else if (!Object.hasOwn(out, head)) {
      const list = nested.get(head) ?? []
      list.push(rest)
      nested.set(head, list)
    }
  }
  for (const [head, rests] of nested) out[head] = pick(value[head], rests)
  return out
}
