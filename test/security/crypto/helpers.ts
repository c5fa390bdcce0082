import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { expect } from 'vitest'
import { isTiercacheError } from '../../../src/errors.js'

// Shared by the key ring and key file tests: two random keys, and checks that errors never show them.
export const key1 = randomBytes(32)
export const key2 = randomBytes(32)
export const b64a = key1.toString('base64')
export const b64b = key2.toString('base64')

/** Runs `fn`, expects a TiercacheError with `code`, and returns it. */
export function expectError(fn: () => unknown, code: string): Error {
  try {
    fn()
  } catch (error) {
    expect(isTiercacheError(error) ? error.code : String(error)).toBe(code)
    return error as Error
  }
  throw new Error(`expected ${code}, nothing was thrown`)
}

/** Every rendering of `value` that could end up in a log, joined. */
export function renderings(value: unknown): string {
  return [inspect(value), inspect(value, { showHidden: true, depth: 10 }), JSON.stringify(value), String(value), `${value}`].join('\n')
}

export function expectNoKeyMaterial(text: string, ...keys: Buffer[]): void {
  for (const key of keys) {
    expect(text).not.toContain(key.toString('base64').slice(0, 20))
    expect(text).not.toContain(key.toString('base64url').slice(0, 20))
    expect(text).not.toContain(key.toString('hex').slice(0, 20))
  }
}
