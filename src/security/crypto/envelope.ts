/**
 * Encryption envelopes for entries at rest in L2 and L3: AES-256-GCM with per-scope data keys.
 *
 * ## Envelope format (version 1)
 *
 * ```
 * offset  size      field
 * 0       1         version, 0x01
 * 1       1         key id length n, 1..32
 * 2       n         key id, ASCII [A-Za-z0-9._-]
 * 2+n     12        IV (nonce), random
 * 14+n    m         ciphertext, m = plaintext length
 * 14+n+m  16        GCM authentication tag
 * ```
 *
 * Overhead: 30 bytes + key id length (e.g. 32 bytes with id `k1`).
 *
 * ## Data keys
 *
 * Each (master key, scope) pair has its own AES-256 data key:
 *
 * ```
 * dataKey = HKDF-SHA256(ikm = master key, salt = empty, info = "tiercache/envelope/v1/data-key\0" || UTF-8(scope), L = 32)
 * ```
 *
 * so tenants never share a data key, and one tenant's data key (e.g. leaked from a process dump) reveals
 * nothing about another tenant's key or the master key (HKDF output is one-way in its input).
 *
 * ## Additional authenticated data
 *
 * GCM authenticates, besides the ciphertext:
 *
 * ```
 * AAD = header (version, key id length, key id) || u32be(len S) || S || u32be(len A) || A
 *       where S = UTF-8(scope), A = UTF-8(aad ?? "")
 * ```
 *
 * The header is bound so that no byte of the envelope can be altered; the scope and the caller's `aad`
 * (typically the storage address, `namespace:key`) are bound so that an envelope copied to another
 * tenant or another row fails authentication instead of decrypting there. Lengths are prefixed so that
 * no two (scope, aad) pairs encode alike.
 *
 * @see NIST SP 800-38D (GCM): §5.2.1.1 96-bit IVs, §8.2.2 random IVs, §8.3 invocation limit
 * @see RFC 5869 (HKDF)
 * @module
 */
import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from 'node:crypto'
import { CorruptEntryError, InvalidOptionsError } from '../../errors.js'
import { KEY_ID_PATTERN, type KeyRing } from './key-ring.js'

/** Version byte of the envelopes this module writes. */
export const ENVELOPE_VERSION = 1

/** IV length, in bytes: 96 bits, the length GCM is designed for (NIST SP 800-38D §5.2.1.1). */
export const IV_BYTES = 12

/** Authentication tag length, in bytes: the full 128 bits (NIST SP 800-38D §5.2.1.2). */
export const TAG_BYTES = 16

/**
 * Most derived data keys kept per ring (least recently used evicted first). A derivation costs one
 * HKDF (a few microseconds); the cache spares it on every read and write of a busy tenant.
 */
export const DERIVED_KEY_CACHE_SIZE = 1024

const CIPHER = 'aes-256-gcm'
const DATA_KEY_LABEL = Buffer.from('tiercache/envelope/v1/data-key\0', 'utf8')
// version + id length + shortest id + IV + empty ciphertext + tag
const MIN_ENVELOPE_BYTES = 2 + 1 + IV_BYTES + TAG_BYTES

// Per ring, so that two rings reusing an id (e.g. "k1") for different keys never share entries, and a
// ring that is dropped after a rotation takes its derived keys with it.
const derivedKeys = new WeakMap<KeyRing, Map<string, KeyObject>>()

function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed: ES2024, present in Node 20, absent from the ES2023 typings.
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}

/**
 * UTF-8 of a scope or aad. Lone surrogates are refused: UTF-8 would turn every one of them into U+FFFD,
 * so two distinct strings would derive the same data key or the same AAD.
 */
function utf8(text: string, what: string): Buffer {
  if (typeof text !== 'string' || !isWellFormed(text)) throw new InvalidOptionsError(`${what} must be a well-formed string`)
  return Buffer.from(text, 'utf8')
}

function dataKey(ring: KeyRing, keyId: string, scope: string): KeyObject | undefined {
  let cache = derivedKeys.get(ring)
  if (cache === undefined) derivedKeys.set(ring, (cache = new Map()))
  // Key ids cannot contain ':', so this cache key is unambiguous.
  const cacheKey = `${keyId}:${scope}`
  const hit = cache.get(cacheKey)
  if (hit !== undefined) {
    // Map keeps insertion order: re-inserting makes this the most recently used.
    cache.delete(cacheKey)
    cache.set(cacheKey, hit)
    return hit
  }
  const derived = ring.deriveKey(keyId, Buffer.concat([DATA_KEY_LABEL, utf8(scope, 'scope')]))
  if (derived === undefined) return undefined
  if (cache.size >= DERIVED_KEY_CACHE_SIZE) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(cacheKey, derived)
  return derived
}

function additionalData(header: Uint8Array, scope: string, aad: string | undefined): Buffer {
  const scopeBytes = utf8(scope, 'scope')
  const aadBytes = utf8(aad ?? '', 'aad')
  const out = Buffer.allocUnsafe(header.byteLength + 8 + scopeBytes.byteLength + aadBytes.byteLength)
  out.set(header, 0)
  let at = out.writeUInt32BE(scopeBytes.byteLength, header.byteLength)
  at += scopeBytes.copy(out, at)
  at = out.writeUInt32BE(aadBytes.byteLength, at)
  aadBytes.copy(out, at)
  return out
}

function assertScope(scope: string): void {
  if (typeof scope !== 'string' || scope.length === 0) throw new InvalidOptionsError('scope must be a non-empty string')
}

/** Parsed view of an envelope's fixed fields; throws CorruptEntryError when they are malformed. */
function parseHeader(envelope: Uint8Array): { keyId: string; headerEnd: number } {
  if (!(envelope instanceof Uint8Array) || envelope.byteLength < MIN_ENVELOPE_BYTES) {
    throw new CorruptEntryError('encrypted entry is truncated')
  }
  const version = envelope[0]
  if (version !== ENVELOPE_VERSION) throw new CorruptEntryError(`encrypted entry has unsupported version ${String(version)}`)
  const idLength = envelope[1] ?? 0
  const headerEnd = 2 + idLength
  if (idLength === 0 || idLength > 32 || envelope.byteLength < headerEnd + IV_BYTES + TAG_BYTES) {
    throw new CorruptEntryError('encrypted entry has a malformed key id')
  }
  const keyId = Buffer.from(envelope.buffer, envelope.byteOffset + 2, idLength).toString('latin1')
  if (!KEY_ID_PATTERN.test(keyId)) throw new CorruptEntryError('encrypted entry has a malformed key id')
  return { keyId, headerEnd }
}

/**
 * Encrypts a payload for storage in a shared tier, with the ring's current key and the scope's data key.
 *
 * A fresh random 96-bit IV is drawn for every call (NIST SP 800-38D §8.2.2). Random IVs keep the
 * collision risk within the standard's bound (2^-32) for up to 2^32 encryptions per data key (§8.3);
 * since data keys are per (master key, scope), that budget is per tenant and key: rotate well before
 * a single scope sees four billion writes under one key.
 *
 * @param ring key ring; its current key seals the envelope
 * @param scope the entry's scope, e.g. a tenant id; selects the data key and is authenticated. Non-empty.
 * @param plaintext the encoded payload (e.g. msgpack bytes from the codec); any length, including 0
 * @param aad optional additional authenticated data, typically the storage address `namespace:key`:
 *   decryption must pass the same string. `undefined` and `''` are equivalent.
 * @returns the envelope, in the format described in the module docs (a `Buffer`)
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `scope` is empty or `scope`/`aad` contains a
 *   lone surrogate
 * @see NIST SP 800-38D
 */
export function encryptPayload(ring: KeyRing, scope: string, plaintext: Uint8Array, aad?: string): Uint8Array {
  assertScope(scope)
  const keyId = ring.currentId
  const key = dataKey(ring, keyId, scope)
  // The ring guarantees its current id is one of its keys.
  if (key === undefined) throw new InvalidOptionsError('key ring has no current key')
  const headerEnd = 2 + keyId.length
  const ivEnd = headerEnd + IV_BYTES
  const out = Buffer.allocUnsafe(ivEnd + plaintext.byteLength + TAG_BYTES)
  out[0] = ENVELOPE_VERSION
  out[1] = keyId.length
  out.write(keyId, 2, 'latin1')
  randomFillSync(out, headerEnd, IV_BYTES)
  const cipher = createCipheriv(CIPHER, key, out.subarray(headerEnd, ivEnd), { authTagLength: TAG_BYTES })
  cipher.setAAD(additionalData(out.subarray(0, headerEnd), scope, aad))
  let at = ivEnd
  at += cipher.update(plaintext).copy(out, at)
  at += cipher.final().copy(out, at) // GCM is a stream mode: final() yields nothing, but stay generic
  cipher.getAuthTag().copy(out, at)
  return out
}

/**
 * Decrypts an envelope written by {@link encryptPayload}. Returns the plaintext only once the GCM tag
 * has been verified: a tampered, truncated or misplaced envelope never yields bytes.
 *
 * @param ring key ring; must hold the key the envelope names (not necessarily the current one)
 * @param scope the scope the envelope was written for
 * @param envelope the stored bytes
 * @param aad the same `aad` given to {@link encryptPayload}, if any
 * @returns the plaintext (a `Buffer`)
 * @throws CorruptEntryError (`TC_CORRUPT_ENTRY`) when the envelope is malformed, has an unknown version,
 *   names a key id the ring does not hold, or fails authentication (any altered byte, or a different
 *   scope or aad). Callers treat it like any corrupt entry: a miss, and the row is removed.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `scope` is empty or `scope`/`aad` contains a
 *   lone surrogate
 * @see NIST SP 800-38D §7.2 (authenticated decryption)
 */
export function decryptPayload(ring: KeyRing, scope: string, envelope: Uint8Array, aad?: string): Uint8Array {
  assertScope(scope)
  const { keyId, headerEnd } = parseHeader(envelope)
  const key = dataKey(ring, keyId, scope)
  if (key === undefined) throw new CorruptEntryError(`encrypted entry names key "${keyId}", which is not in the key ring`)
  const bytes = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength)
  const ivEnd = headerEnd + IV_BYTES
  const tagStart = bytes.byteLength - TAG_BYTES
  const additional = additionalData(bytes.subarray(0, headerEnd), scope, aad)
  try {
    const decipher = createDecipheriv(CIPHER, key, bytes.subarray(headerEnd, ivEnd), { authTagLength: TAG_BYTES })
    decipher.setAAD(additional)
    decipher.setAuthTag(bytes.subarray(tagStart))
    const head = decipher.update(bytes.subarray(ivEnd, tagStart))
    const tail = decipher.final() // throws when the tag does not verify
    return tail.byteLength === 0 ? head : Buffer.concat([head, tail])
  } catch (cause) {
    throw new CorruptEntryError('encrypted entry failed authentication (altered, or read with the wrong scope or address)', { cause })
  }
}

/**
 * The id of the key an envelope was sealed with (read from its header, not authenticated here).
 * @throws CorruptEntryError (`TC_CORRUPT_ENTRY`) when the envelope is truncated or its header malformed
 */
export function envelopeKeyId(envelope: Uint8Array): string {
  return parseHeader(envelope).keyId
}

/**
 * True when the envelope was sealed with a key other than the ring's current one, i.e. when the
 * re-encrypt command should decrypt it and encrypt it again (with {@link reencryptPayload}).
 * @throws CorruptEntryError (`TC_CORRUPT_ENTRY`) when the envelope is truncated or its header malformed
 */
export function needsReencryption(ring: KeyRing, envelope: Uint8Array): boolean {
  return parseHeader(envelope).keyId !== ring.currentId
}

/**
 * Decrypts an envelope and encrypts its plaintext again with the ring's current key, for the
 * re-encrypt command after a rotation. The plaintext buffer is zeroed before returning.
 * @throws CorruptEntryError / InvalidOptionsError as {@link decryptPayload}
 */
export function reencryptPayload(ring: KeyRing, scope: string, envelope: Uint8Array, aad?: string): Uint8Array {
  const plaintext = decryptPayload(ring, scope, envelope, aad)
  try {
    return encryptPayload(ring, scope, plaintext, aad)
  } finally {
    plaintext.fill(0)
  }
}
