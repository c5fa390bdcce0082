import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { decryptPayload, encryptPayload } from '../../../src/security/crypto/envelope.js'
import { KeyRing, keyRingFromEnv, parseKeyRing } from '../../../src/security/crypto/key-ring.js'
import { key1, key2, b64a, b64b, expectError, renderings, expectNoKeyMaterial } from './helpers.js'

describe('KeyRing.from', () => {
  it('keeps order and makes the last key current by default, or the one named', () => {
    const ring = KeyRing.from([
      { id: 'k1', key: key1 },
      { id: 'k2', key: key2 },
    ])
    expect(ring.ids).toEqual(['k1', 'k2'])
    expect(ring.currentId).toBe('k2')
    expect(ring.size).toBe(2)
    expect(ring.has('k1')).toBe(true)
    expect(ring.has('k3')).toBe(false)
    expect(KeyRing.from([{ id: 'k1', key: key1 }, { id: 'k2', key: key2 }], 'k1').currentId).toBe('k1')
  })

  it('copies the key bytes: later changes to the caller buffer do not reach the ring', () => {
    const bytes = Buffer.from(key1)
    const ring = KeyRing.from([{ id: 'k1', key: bytes }])
    const envelope = encryptPayload(ring, 't', Buffer.from('x'))
    bytes.fill(0)
    expect(Buffer.from(decryptPayload(KeyRing.from([{ id: 'k1', key: key1 }]), 't', envelope)).toString()).toBe('x')
  })

  it.each([
    ['no keys', () => KeyRing.from([])],
    ['a short key', () => KeyRing.from([{ id: 'k1', key: randomBytes(16) }])],
    ['a long key', () => KeyRing.from([{ id: 'k1', key: randomBytes(33) }])],
    ['a malformed id', () => KeyRing.from([{ id: 'k 1', key: key1 }])],
    ['an id too long', () => KeyRing.from([{ id: 'k'.repeat(33), key: key1 }])],
    ['a repeated id', () => KeyRing.from([{ id: 'k1', key: key1 }, { id: 'k1', key: key2 }])],
    ['an unknown current id', () => KeyRing.from([{ id: 'k1', key: key1 }], 'k2')],
  ])('refuses %s with TC_INVALID_OPTIONS', (_name, build) => {
    expectError(build, 'TC_INVALID_OPTIONS')
  })

  it('reveals no key material through inspect, JSON, String or own properties', () => {
    const ring = KeyRing.from([
      { id: 'k1', key: key1 },
      { id: 'k2', key: key2 },
    ])
    const text = renderings(ring)
    expectNoKeyMaterial(text, key1, key2)
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ current: 'k2', ids: ['k1', 'k2'] })
    expect(inspect(ring)).toBe('KeyRing { current: "k2", ids: ["k1","k2"] }')
    expect(Object.keys(ring)).toEqual([])
    expect(inspect({ nested: { ring } }, { depth: 10 })).not.toContain(b64a.slice(0, 20))
  })
})

describe('parseKeyRing (TIERCACHE_KEYS)', () => {
  it('reads id:base64 entries, the last being current', () => {
    const ring = parseKeyRing(`k1:${b64a},k2:${b64b}`)
    expect(ring.ids).toEqual(['k1', 'k2'])
    expect(ring.currentId).toBe('k2')
  })

  it('tolerates whitespace, newlines, a trailing comma, base64url and missing padding', () => {
    const ring = parseKeyRing(` old.key_1 : ${key1.toString('base64url')} ,\n  new-2:${b64b.replace(/=+$/, '')} ,\n`)
    expect(ring.ids).toEqual(['old.key_1', 'new-2'])
    expect(ring.currentId).toBe('new-2')
  })

  it('derives the same data keys as a ring built from the same bytes', () => {
    const envelope = encryptPayload(parseKeyRing(`k1:${b64a}`), 't', Buffer.from('same'))
    expect(Buffer.from(decryptPayload(KeyRing.from([{ id: 'k1', key: key1 }]), 't', envelope)).toString()).toBe('same')
  })

  it.each([
    ['empty', ''],
    ['only commas', ' , ,'],
    ['a key without id', b64a],
    ['a key used as id', `${b64a}:${b64b}`],
    ['an empty id', `:${b64a}`],
    ['a malformed id', `bad id!:${b64a}`],
    ['a repeated id', `k1:${b64a},k1:${b64b}`],
    ['a short key', `k1:${randomBytes(16).toString('base64')}`],
    ['a long key', `k1:${randomBytes(48).toString('base64')}`],
    ['a key with a stray character', `k1:${b64a.slice(0, 10)}*${b64a.slice(10)}`],
    ['a truncated key', `k1:${b64a.slice(0, 30)}`],
    ['a good entry then a bad one', `k1:${b64a},k2:${b64b.slice(1)}`],
  ])('refuses %s with TC_INVALID_OPTIONS, without echoing key text', (_name, text) => {
    const error = expectError(() => parseKeyRing(text), 'TC_INVALID_OPTIONS')
    expectNoKeyMaterial(`${error.message}\n${inspect(error)}`, key1, key2)
    expect(error.message).toContain('TIERCACHE_KEYS')
  })
})

describe('keyRingFromEnv', () => {
  it('returns undefined when the variable is unset or blank, and the ring when set', () => {
    expect(keyRingFromEnv({})).toBeUndefined()
    expect(keyRingFromEnv({ TIERCACHE_KEYS: '  ' })).toBeUndefined()
    expect(keyRingFromEnv({ TIERCACHE_KEYS: `a:${b64a},b:${b64b}` })?.currentId).toBe('b')
  })
})
