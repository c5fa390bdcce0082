import { InvalidOptionsError } from '../../errors.js'
import type { ParamSpec } from './schema.js'
import { shown } from './shown.js'

/** A decimal number as text (`'2'`, `'-1.5'`, `'1e3'`): query strings and command lines carry numbers so. */
const NUMBER_TEXT = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?$/i

function asNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw
  return typeof raw === 'string' && NUMBER_TEXT.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
}

/** `' Paris  Nord '` → `'paris nord'`: NFC, trimmed, whitespace runs as one space, lowercased (locale-independent). */
export function foldText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase()
}

/**
 * The value of a declared param as the key holds it: a `number` or `integer` given as text is that
 * number (`'2'` and `2` share a key), a `boolean` given as `'true'`/`'false'` that boolean, a folded
 * string folded; `json` params are kept as given (the canonical form checks them).
 * @param where - `<builder>.<param>`, for messages
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a value of another type than the param's
 */
export function paramValue(spec: ParamSpec, raw: unknown, where: string): unknown {
  switch (spec.type) {
    case 'json':
      return raw
    case 'string':
      if (typeof raw !== 'string') throw new InvalidOptionsError(`param ${where} is a string, not ${shown(raw)}`)
      return spec.fold ? foldText(raw) : raw
    case 'boolean':
      if (typeof raw === 'boolean') return raw
      if (raw === 'true' || raw === 'false') return raw === 'true'
      throw new InvalidOptionsError(`param ${where} is a boolean (true or false), not ${shown(raw)}`)
    case 'number':
    case 'integer': {
      const n = asNumber(raw)
      const integer = spec.type === 'integer'
      if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
        throw new InvalidOptionsError(`param ${where} is ${integer ? 'an integer' : 'a finite number'}, not ${shown(raw)}`)
      }
      return Object.is(n, -0) ? 0 : n
    }
  }
}
