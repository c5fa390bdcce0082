import { createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isTiercacheError } from '../../../src/errors.js'
import {
  DERIVED_KEY_CACHE_SIZE,
  decryptPayload,
  encryptPayload,
  envelopeKeyId,
  needsReencryption,
  reencryptPayload,
} from '../../../src/security/crypto/envelope.js'
import { KeyRing } from '../../../src/security/crypto/key-ring.js'

const k1 = randomBytes(32)
const k2 = randomBytes(32)
const ringK1 = KeyRing.from([{ id: 'k1', key: k1 }])
const ringK1K2 = KeyRing.from([
  { id: 'k1', key: k1 },
  { id: 'k2', key: k2 },
])
const ringK2 = KeyRing.from([{ id: 'k2', key: k2 }])

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return isTiercacheError(error) ? error.code : `not a TiercacheError: ${String(error)}`
  }
  return undefined
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0
}

describe('encryptPayload / decryptPayload', () => {
  it.each([0, 1, 15, 16, 17, 200, 4096, 65_537, 1024 * 1024])('round-trips %d bytes', (size) => {
    const plaintext = randomBytes(size)
    const envelope = encryptPayload(ringK1, 'tenant-a', plaintext, 'ns:key')
    expect(envelope.byteLength).toBe(size + 2 + 'k1'.length + 12 + 16)
    expect(Buffer.from(decryptPayload(ringK1, 'tenant-a', envelope, 'ns:key')).equals(plaintext)).toBe(true)
  })

  it('round-trips without aad, and treats a missing aad as the empty string', () => {
    const envelope = encryptPayload(ringK1, 'tenant-a', Buffer.from('hello'))
    expect(Buffer.from(decryptPayload(ringK1, 'tenant-a', envelope)).toString()).toBe('hello')
    expect(Buffer.from(decryptPayload(ringK1, 'tenant-a', envelope, '')).toString()).toBe('hello')
  })

  it('accepts a Uint8Array view at an offset into a larger buffer', () => {
    const backing = new Uint8Array(64).map((_, i) => i)
    const view = backing.subarray(10, 42)
    const envelope = encryptPayload(ringK1, 't', view)
    const stored = new Uint8Array(envelope.byteLength + 7)
    stored.set(envelope, 7)
    expect([...decryptPayload(ringK1, 't', stored.subarray(7))]).toEqual([...view])
  })

  it('never lets a distinctive plaintext marker appear in the envelope', () => {
    const marker = Buffer.from('SECRET-MARKER-7f3a9c-do-not-leak')
    const plaintext = Buffer.concat([marker, randomBytes(100), marker, marker])
    const envelope = encryptPayload(ringK1, 'tenant-a', plaintext, 'ns:key')
    expect(contains(envelope, marker)).toBe(false)
    expect(contains(envelope, marker.subarray(0, 12))).toBe(false)
  })

  it('gives two different envelopes for the same plaintext (random IV)', () => {
    const plaintext = Buffer.from('same plaintext')
    const a = Buffer.from(encryptPayload(ringK1, 't', plaintext))
    const b = Buffer.from(encryptPayload(ringK1, 't', plaintext))
    expect(a.equals(b)).toBe(false)
    expect(a.subarray(4, 16).equals(b.subarray(4, 16))).toBe(false) // the IVs themselves differ
  })

  it('writes the documented format and derivation (checked with an independent decryption)', () => {
    const plaintext = Buffer.from('{"v":42}')
    const envelope = Buffer.from(encryptPayload(ringK1, 'tenant-a', plaintext, 'ns:key'))
    expect(envelope[0]).toBe(1)
    expect(envelope[1]).toBe(2)
    expect(envelope.subarray(2, 4).toString('latin1')).toBe('k1')
    const iv = envelope.subarray(4, 16)
    const ciphertext = envelope.subarray(16, envelope.byteLength - 16)
    const tag = envelope.subarray(envelope.byteLength - 16)
    const info = Buffer.concat([Buffer.from('tiercache/envelope/v1/data-key\0'), Buffer.from('tenant-a')])
    const dataKey = Buffer.from(hkdfSync('sha256', k1, Buffer.alloc(0), info, 32))
    const scope = Buffer.from('tenant-a')
    const aad = Buffer.from('ns:key')
    const u32 = (n: number) => Buffer.from([0, 0, 0, n])
    const additional = Buffer.concat([envelope.subarray(0, 4), u32(scope.length), scope, u32(aad.length), aad])
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 })
    decipher.setAAD(additional)
    decipher.setAuthTag(tag)
    expect(Buffer.concat([decipher.update(ciphertext), decipher.final()]).equals(plaintext)).toBe(true)
  })

  describe('tampering', () => {
    const plaintext = Buffer.from('a payload of some length, for tampering tests')
    const envelope = Buffer.from(encryptPayload(ringK1K2, 'tenant-a', plaintext, 'ns:key'))
    // 2 (version, id length) + 2 (id "k2") + 12 (IV), then ciphertext, then 16 (tag)
    const regions: Array<[string, number]> = [
      ['version', 0],
      ['key id length', 1],
      ['key id', 2],
      ['key id', 3],
      ['IV', 4],
      ['IV', 15],
      ['ciphertext', 16],
      ['ciphertext', 16 + plaintext.length - 1],
      ['tag', envelope.byteLength - 16],
      ['tag', envelope.byteLength - 1],
    ]

    it.each(regions)('flipping a bit of the %s (byte %d) fails with TC_CORRUPT_ENTRY', (_region, index) => {
      const altered = Buffer.from(envelope)
      altered[index] = (altered[index] ?? 0) ^ 0x01
      expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', altered, 'ns:key'))).toBe('TC_CORRUPT_ENTRY')
    })

    it('fails with TC_CORRUPT_ENTRY for every single-byte change, anywhere', () => {
      for (let index = 0; index < envelope.byteLength; index++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const altered = Buffer.from(envelope)
          altered[index] = (altered[index] ?? 0) ^ mask
          expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', altered, 'ns:key')), `byte ${index}`).toBe('TC_CORRUPT_ENTRY')
        }
      }
    })

    it('fails when the key id is rewritten to another key the ring holds', () => {
      const altered = Buffer.from(envelope)
      altered.write('k1', 2, 'latin1') // sealed with k2 (current); the header and key no longer match
      expect(envelopeKeyId(altered)).toBe('k1')
      expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', altered, 'ns:key'))).toBe('TC_CORRUPT_ENTRY')
    })

    it('fails on truncation, extension and empty input', () => {
      for (const length of [0, 1, 3, 16, 30, envelope.byteLength - 1]) {
        expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', envelope.subarray(0, length), 'ns:key'))).toBe('TC_CORRUPT_ENTRY')
      }
      const extended = Buffer.concat([envelope, Buffer.from([0])])
      expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', extended, 'ns:key'))).toBe('TC_CORRUPT_ENTRY')
    })

    it('fails when IV and tag are swapped between two envelopes of the same plaintext', () => {
      const other = Buffer.from(encryptPayload(ringK1K2, 'tenant-a', plaintext, 'ns:key'))
      const mixed = Buffer.concat([envelope.subarray(0, 16), other.subarray(16)])
      expect(codeOf(() => decryptPayload(ringK1K2, 'tenant-a', mixed, 'ns:key'))).toBe('TC_CORRUPT_ENTRY')
    })
  })

  describe('binding to scope and address', () => {
    const envelope = encryptPayload(ringK1, 'tenant-a', Buffer.from('row A'), 'users:alice')

    it('fails with another scope', () => {
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-b', envelope, 'users:alice'))).toBe('TC_CORRUPT_ENTRY')
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-a ', envelope, 'users:alice'))).toBe('TC_CORRUPT_ENTRY')
    })

    it('fails with another aad, or none', () => {
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-a', envelope, 'users:bob'))).toBe('TC_CORRUPT_ENTRY')
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-a', envelope))).toBe('TC_CORRUPT_ENTRY')
    })

    it('detects two rows swapped between keys', () => {
      const rowB = encryptPayload(ringK1, 'tenant-a', Buffer.from('row B'), 'users:bob')
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-a', rowB, 'users:alice'))).toBe('TC_CORRUPT_ENTRY')
      expect(codeOf(() => decryptPayload(ringK1, 'tenant-a', envelope, 'users:bob'))).toBe('TC_CORRUPT_ENTRY')
    })

    it('rejects an empty scope and ill-formed strings with TC_INVALID_OPTIONS', () => {
      expect(codeOf(() => encryptPayload(ringK1, '', Buffer.from('x')))).toBe('TC_INVALID_OPTIONS')
      expect(codeOf(() => encryptPayload(ringK1, 't\uD800', Buffer.from('x')))).toBe('TC_INVALID_OPTIONS')
      expect(codeOf(() => encryptPayload(ringK1, 't', Buffer.from('x'), 'k\uDC00'))).toBe('TC_INVALID_OPTIONS')
      expect(codeOf(() => decryptPayload(ringK1, '', envelope, 'users:alice'))).toBe('TC_INVALID_OPTIONS')
    })
  })

  it('keeps working past the derived-key cache bound (eviction)', () => {
    const scopes = Array.from({ length: DERIVED_KEY_CACHE_SIZE + 50 }, (_, i) => `tenant-${i}`)
    const envelopes = scopes.map((scope) => encryptPayload(ringK1, scope, Buffer.from(scope)))
    scopes.forEach((scope, i) => {
      expect(Buffer.from(decryptPayload(ringK1, scope, envelopes[i] ?? new Uint8Array())).toString()).toBe(scope)
    })
  })

  it('does not confuse two rings that use the same id for different keys', () => {
    const other = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
    const envelope = encryptPayload(ringK1, 't', Buffer.from('x'))
    expect(codeOf(() => decryptPayload(other, 't', envelope))).toBe('TC_CORRUPT_ENTRY')
  })
})

describe('rotation', () => {
  const old = encryptPayload(ringK1, 'tenant-a', Buffer.from('written before rotation'), 'ns:k')

  it('a ring with a new current key reads old envelopes and writes new ones with the new key', () => {
    expect(Buffer.from(decryptPayload(ringK1K2, 'tenant-a', old, 'ns:k')).toString()).toBe('written before rotation')
    const fresh = encryptPayload(ringK1K2, 'tenant-a', Buffer.from('after'), 'ns:k')
    expect(envelopeKeyId(old)).toBe('k1')
    expect(envelopeKeyId(fresh)).toBe('k2')
    expect(needsReencryption(ringK1K2, old)).toBe(true)
    expect(needsReencryption(ringK1K2, fresh)).toBe(false)
    expect(needsReencryption(ringK1, old)).toBe(false)
  })

  it('a ring without the old key cannot decrypt old envelopes (TC_CORRUPT_ENTRY, naming the key id)', () => {
    let error: unknown
    try {
      decryptPayload(ringK2, 'tenant-a', old, 'ns:k')
    } catch (caught) {
      error = caught
    }
    expect(isTiercacheError(error, 'TC_CORRUPT_ENTRY')).toBe(true)
    expect((error as Error).message).toContain('"k1"')
  })

  it('reencryptPayload moves an envelope to the current key, readable without the old one', () => {
    const moved = reencryptPayload(ringK1K2, 'tenant-a', old, 'ns:k')
    expect(envelopeKeyId(moved)).toBe('k2')
    expect(needsReencryption(ringK1K2, moved)).toBe(false)
    expect(Buffer.from(decryptPayload(ringK2, 'tenant-a', moved, 'ns:k')).toString()).toBe('written before rotation')
  })

  it('envelopeKeyId and needsReencryption reject malformed headers with TC_CORRUPT_ENTRY', () => {
    expect(codeOf(() => envelopeKeyId(new Uint8Array(5)))).toBe('TC_CORRUPT_ENTRY')
    const badVersion = Buffer.from(old)
    badVersion[0] = 9
    expect(codeOf(() => needsReencryption(ringK1K2, badVersion))).toBe('TC_CORRUPT_ENTRY')
    const badId = Buffer.from(old)
    badId[2] = 0x3a // ':' is not allowed in key ids
    expect(codeOf(() => envelopeKeyId(badId))).toBe('TC_CORRUPT_ENTRY')
  })
})
