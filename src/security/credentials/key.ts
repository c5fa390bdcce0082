import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * The format of API keys: `tc_<id>_<secret>`.
 *
 * - `id` is public (listed, logged, written to the audit log): `tck_` and 12 characters of the RFC
 *   4648 base32 alphabet in lower case (60 random bits: enough to make collisions unlikely, and the
 *   store retries on one anyway).
 * - `secret` is 32 random bytes (256 bits) in base64url without padding: 43 characters.
 *
 * Only SHA-256(secret) is stored. A plain hash is enough: a keyed hash or a slow password hash
 * defends low-entropy secrets against guessing from a stolen table, and 256 random bits cannot be
 * guessed, hashed fast or slow. The id in front lets the store find the one row to compare with, so
 * verification is one indexed lookup and one constant-time comparison, not a scan.
 */

/** Bytes of randomness in a secret. */
export const SECRET_BYTES = 32

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** A key id: `tck_` and 12 lower-case base32 characters. */
export const KEY_ID_PATTERN = /^tck_[a-z2-7]{12}$/

// The secret's 43 base64url characters are not checked for canonical padding bits: the text is what is
// hashed, so another spelling of the same bytes does not verify anyway.
const KEY_PATTERN = /^tc_(tck_[a-z2-7]{12})_([A-Za-z0-9_-]{43})$/

/** A new random key id, `tck_` and 12 base32 characters. */
export function generateKeyId(): string {
  // 256 is a multiple of 32, so taking each byte modulo 32 keeps the characters uniform.
  return 'tck_' + Array.from(randomBytes(12), (byte) => BASE32[byte & 31]).join('')
}

/** A new random secret: {@link SECRET_BYTES} bytes, base64url. */
export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url')
}

/** The key a client presents: `tc_<id>_<secret>`. */
export function formatKey(id: string, secret: string): string {
  return `tc_${id}_${secret}`
}

/** A presented key split into its id and secret; undefined when it is not shaped like a key. */
export function parseKey(presented: string): { readonly id: string; readonly secret: string } | undefined {
  const match = KEY_PATTERN.exec(presented)
  if (match?.[1] === undefined || match[2] === undefined) return undefined
  return { id: match[1], secret: match[2] }
}

/**
 * SHA-256 of the secret's text (its UTF-8 bytes): 32 bytes. The text, not the decoded bytes, so that
 * two spellings of the same bytes cannot both verify.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/**
 * True when `secret` hashes to `storedHash`. The comparison takes the same time wherever the hashes
 * differ (crypto.timingSafeEqual); a stored hash of the wrong length (a damaged row) never matches.
 */
export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  const presented = hashSecret(secret)
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash)
}

// Anything that starts like a key: the well-formed prefix keeps the id, which is public.
// Not after a letter or digit, so that words such as `etc_...` are left alone.
const KEY_LIKE = /(?<![A-Za-z0-9])tc_(tck_[a-z2-7]{12}_)?[A-Za-z0-9_-]{12,}/g
const BEARER = /\b(Bearer)\s+\S+/gi

/**
 * `text` with every API key (or anything shaped like the start of one) and every bearer credential
 * replaced by a marker: `tc_tck_abcdefghijkl_[redacted]`, `Bearer [redacted]`. For free text bound
 * for logs or the audit log, where a secret must never land.
 */
export function redactKeys(text: string): string {
  return text
    .replace(BEARER, '$1 [redacted]')
    .replace(KEY_LIKE, (_match, idPart: string | undefined) => `tc_${idPart ?? ''}[redacted]`)
}
