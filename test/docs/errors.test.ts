/**
 * docs/errors.md and the catalogue (src/errors.ts) in step, as Fastify keeps its errors page: every
 * code the catalogue defines is documented with the HTTP status its class carries, every documented
 * code exists, and every code of the `ErrorCode` union has a class.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as catalogue from '../../src/errors.js'
import { TiercacheError } from '../../src/errors.js'

const root = new URL('../../', import.meta.url)

/** `code -> status` of every class of the catalogue, by constructing one. */
function catalogueStatuses(): Map<string, number> {
  const statuses = new Map<string, number>()
  for (const value of Object.values(catalogue)) {
    if (typeof value !== 'function' || !(value.prototype instanceof TiercacheError)) continue
    // Every class takes (message, ...); the extra argument is RateLimitedError's retryAfterMs.
    const error = new (value as new (message: string, extra: number) => TiercacheError)('probe', 0)
    expect(statuses.has(error.code), `${error.code} is defined twice`).toBe(false)
    statuses.set(error.code, error.statusCode)
  }
  return statuses
}

/** `code -> status` of the table of docs/errors.md: rows `| \`TC_...\` | 400 | ... |`. */
function documentedStatuses(): Map<string, number> {
  const text = readFileSync(new URL('docs/errors.md', root), 'utf8')
  const statuses = new Map<string, number>()
  for (const match of text.matchAll(/^\|\s*`(TC_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|/gm)) {
    const [, code = '', status = ''] = match
    expect(statuses.has(code), `${code} is documented twice`).toBe(false)
    statuses.set(code, Number(status))
  }
  return statuses
}

/** The members of the `ErrorCode` union, read from the source. */
function unionCodes(): string[] {
  const text = readFileSync(new URL('src/errors.ts', root), 'utf8')
  const union = /export type ErrorCode =([^;]*?)\n\n/s.exec(text)?.[1] ?? ''
  return [...union.matchAll(/'(TC_[A-Z0-9_]+)'/g)].map((match) => match[1] ?? '')
}

describe('docs/errors.md', () => {
  const defined = catalogueStatuses()
  const documented = documentedStatuses()

  it('reads a catalogue and a table (the parsers found them)', () => {
    expect(defined.size).toBeGreaterThan(20)
    expect(documented.size).toBeGreaterThan(20)
  })

  it('documents every code of the catalogue with the status its class answers', () => {
    const expected = Object.fromEntries([...defined].sort())
    const actual = Object.fromEntries([...defined.keys()].sort().map((code) => [code, documented.get(code)]))
    expect(actual).toEqual(expected)
  })

  it('documents no code that the catalogue lacks', () => {
    expect([...documented.keys()].filter((code) => !defined.has(code))).toEqual([])
  })

  it('has a class for every member of the ErrorCode union, and no class outside it', () => {
    expect(unionCodes().sort()).toEqual([...defined.keys()].sort())
  })
})
