import { expect } from 'vitest'
import { type ErrorCode, isTiercacheError } from '../../src/errors.js'

/** The message of the error `run` throws, checked to carry `code`; fails the test when `run` returns. */
export function refusal(run: () => unknown, code: ErrorCode): string {
  try {
    run()
  } catch (error) {
    expect(isTiercacheError(error, code), String(error)).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected a refusal')
}
