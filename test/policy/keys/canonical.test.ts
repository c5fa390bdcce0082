import { describe, expect, it } from 'vitest'
import { isTiercacheError } from '../../../src/errors.js'
import { MAX_CANONICAL_DEPTH, canonicalJson } from '../../../src/policy/keys/canonical.js'

function refusal(value: unknown): string {
  try {
    canonicalJson(value, 'params')
  } catch (error) {
    expect(isTiercacheError(error, 'TC_INVALID_OPTIONS')).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected a refusal')
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    const a = { b: 1, a: { d: [{ y: 2, x: 1 }], c: 'z' } }
    const b = { a: { c: 'z', d: [{ x: 1, y: 2 }] }, b: 1 }
    expect(canonicalJson(a)).toBe('{"a":{"c":"z","d":[{"x":1,"y":2}]},"b":1}')
    expect(canonicalJson(b)).toBe(canonicalJson(a))
  })

  it('sorts by code units, the same whatever the locale', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, a: 4 })).toBe('{"Z":3,"a":4,"z":2,"é":1}')
  })

  it('drops undefined properties, and writes undefined array items as null', () => {
    expect(canonicalJson({ a: undefined, b: { c: undefined }, d: 1 })).toBe('{"b":{},"d":1}')
    expect(canonicalJson([1, undefined, 2])).toBe('[1,null,2]')
  })

  it('normalizes numbers: -0 is 0, 1.50 is 1.5, exponents in one form', () => {
    expect(canonicalJson({ n: -0 })).toBe('{"n":0}')
    expect(canonicalJson(1.5)).toBe(canonicalJson(Number('1.50')))
    expect(canonicalJson(1e21)).toBe(canonicalJson(1000000000000000000000))
    expect(canonicalJson(0.1 + 0.2)).toBe('0.30000000000000004')
  })

  it('writes a Date as its ISO string, and strings with JSON escapes', () => {
    expect(canonicalJson({ at: new Date(Date.UTC(2025, 5, 14)) })).toBe('{"at":"2025-06-14T00:00:00.000Z"}')
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"')
    expect(canonicalJson([null, true, false])).toBe('[null,true,false]')
  })

  it('refuses what JSON cannot hold the same way twice, naming where', () => {
    expect(refusal({ a: { b: Number.NaN } })).toMatch(/params\.a\.b: NaN/)
    expect(refusal({ a: Number.POSITIVE_INFINITY })).toMatch(/params\.a: Infinity/)
    expect(refusal({ a: [1, 10n] })).toMatch(/params\.a\[1\]: a bigint/)
    expect(refusal({ f: () => 1 })).toMatch(/a function/)
    expect(refusal({ m: new Map() })).toMatch(/params\.m: a Map/)
    expect(refusal({ s: new Set([1]) })).toMatch(/a Set/)
    expect(refusal({ d: new Date(Number.NaN) })).toMatch(/invalid Date/)
    class Point {
      x = 1
    }
    expect(refusal({ p: new Point() })).toMatch(/a Point/)
  })

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.b = 2
    bare.a = 1
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}')
  })

  it('refuses cycles and nesting past the bound, without overflowing the stack', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(refusal(cycle)).toMatch(/deeper than 32 levels \(or a cycle\)/)
    let fits: unknown = 1
    for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) fits = [fits]
    expect(canonicalJson(fits)).toBe('['.repeat(MAX_CANONICAL_DEPTH) + '1' + ']'.repeat(MAX_CANONICAL_DEPTH))
    expect(refusal([fits])).toMatch(/deeper/)
  })
})
