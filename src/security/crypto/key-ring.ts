/**
 * Master key rings for encryption at rest.
 *
 * A {@link KeyRing} is an ordered set of 256-bit master keys, each named by a short id, one of which is
 * current: new envelopes are sealed with the current key, and any key still in the ring can open the
 * envelopes that name it. Rotation is therefore "add a key and make it current"; entries sealed with an
 * older key stay readable until they are re-encrypted, after which the old key can be dropped.
 *
 * Two sources are supported:
 *
 * - **Environment** (production): `TIERCACHE_KEYS`, see {@link parseKeyRing} for the format.
 * - **Key file** (the embedded default): a JSON file created on first start beside the data, readable by
 *   its owner only, see key-file.ts.
 *
 * Key material never leaves a ring in readable form: the keys are held as native `KeyObject`s, and
 * `toJSON`, `util.inspect` and every error message show key ids only.
 *
 * @module
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'
import { inspect } from 'node:util'
import { InvalidOptionsError } from '../../errors.js'

/** Length of a master key, in bytes (AES-256 and HKDF-SHA256 input). */
export const MASTER_KEY_BYTES = 32

/**
 * Pattern of a key id: 1 to 32 of `A-Z a-z 0-9 . _ -`. Ids are not secret (every envelope names one in
 * clear). They are also at most 32 characters, so the base64 text of a 32-byte key (43 or 44
 * characters) can never pass for an id, which lets error messages quote an id without risking a key.
 */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/

/** Name of the environment variable that carries a key ring in production. See {@link parseKeyRing}. */
export const KEY_RING_ENV = 'TIERCACHE_KEYS'

/** One master key, as given to {@link KeyRing.from}. */
export interface MasterKey {
  /** Key id, matching {@link KEY_ID_PATTERN}; stored in clear in every envelope sealed with this key. */
  readonly id: string
  /** Key bytes: exactly {@link MASTER_KEY_BYTES} (32) uniformly random bytes. Copied by the ring. */
  readonly key: Uint8Array
}

/** What {@link KeyRing.toJSON} returns: the ids and the current id, never key material. */
export interface KeyRingSummary {
  readonly current: string
  readonly ids: readonly string[]
}

/**
 * An ordered, immutable set of master keys with one current key.
 *
 * Build one with {@link KeyRing.from} or {@link parseKeyRing}, or from a key file (key-file.ts:
 * `parseKeyRingFile`, `loadKeyRingFile`, `loadOrCreateKeyRing`). Rings are immutable: rotating means building
 * a new ring (which also starts a fresh derived-key cache in the envelope module).
 */
export class KeyRing {
  // Native KeyObjects, so that the bytes are not in the JS heap and print as `SecretKeyObject {}`.
  // ES private fields are invisible to util.inspect, JSON.stringify and Object.keys alike.
  readonly #keys: ReadonlyMap<string, KeyObject>
  readonly #current: string

  private constructor(keys: ReadonlyMap<string, KeyObject>, current: string) {
    this.#keys = keys
    this.#current = current
    Object.freeze(this)
  }

  /**
   * Builds a ring from master keys, in order (oldest first).
   * @param keys at least one key; ids unique and matching {@link KEY_ID_PATTERN}; each key 32 bytes
   * @param currentId the id new envelopes are sealed with. @default the id of the last key
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when the list is empty, an id is malformed or
   *   repeated, a key is not 32 bytes, or `currentId` is not in the list. Messages name ids, never keys.
   */
  static from(keys: readonly MasterKey[], currentId?: string): KeyRing {
    if (keys.length === 0) throw new InvalidOptionsError('a key ring needs at least one key')
    const map = new Map<string, KeyObject>()
    keys.forEach(({ id, key }, index) => {
      assertKeyId(id, `key ${index + 1}`)
      if (map.has(id)) throw new InvalidOptionsError(`key id "${id}" appears twice in the key ring`)
      if (!(key instanceof Uint8Array) || key.byteLength !== MASTER_KEY_BYTES) {
        throw new InvalidOptionsError(`key "${id}" must be exactly ${MASTER_KEY_BYTES} bytes`)
      }
      // createSecretKey copies the bytes: later changes to the caller's buffer do not reach the ring.
      map.set(id, createSecretKey(Buffer.from(key.buffer, key.byteOffset, key.byteLength)))
    })
    const current = currentId ?? keys[keys.length - 1]?.id
    if (current === undefined || !map.has(current)) {
      throw new InvalidOptionsError(
        KEY_ID_PATTERN.test(current ?? '') ? `current key "${current}" is not in the key ring` : 'current key id is not in the key ring',
      )
    }
    return new KeyRing(map, current)
  }

  /** Id of the current key: the one {@link encryptPayload} seals new envelopes with. */
  get currentId(): string {
    return this.#current
  }

  /** Key ids in ring order (oldest first). */
  get ids(): readonly string[] {
    return [...this.#keys.keys()]
  }

  /** Number of keys in the ring. */
  get size(): number {
    return this.#keys.size
  }

  /** True when the ring holds a key with this id. */
  has(id: string): boolean {
    return this.#keys.has(id)
  }

  /**
   * Derives a subkey from the master key `id` with HKDF-SHA256, so that callers never see master keys.
   *
   * The salt is empty (HKDF then uses 32 zero bytes): RFC 5869 §3.1 makes the salt optional, and a
   * master key is already 32 uniformly random bytes, so the extract step needs no extra randomness.
   * Domain separation comes entirely from `info`, which each caller prefixes with its own fixed label.
   *
   * @param id master key id
   * @param info HKDF `info`: a caller-specific label followed by context (e.g. a scope)
   * @param length subkey length in bytes. @default 32
   * @returns a secret `KeyObject`, or `undefined` when the ring has no key with this id
   * @see RFC 5869 (HKDF), §2.2 extract, §2.3 expand, §3.1 salt, §3.2 info
   */
  deriveKey(id: string, info: Uint8Array, length = MASTER_KEY_BYTES): KeyObject | undefined {
    const master = this.#keys.get(id)
    if (master === undefined) return undefined
    const okm = new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), info, length))
    const derived = createSecretKey(okm)
    okm.fill(0) // createSecretKey copied it; do not leave a plain copy of the subkey in the heap
    return derived
  }

  /** The ids and the current id; never key material, so that logging a ring is safe. */
  toJSON(): KeyRingSummary {
    return { current: this.#current, ids: this.ids }
  }

  /** `util.inspect` (and so `console.log`) shows ids only. */
  [inspect.custom](): string {
    return `KeyRing { current: ${JSON.stringify(this.#current)}, ids: ${JSON.stringify(this.ids)} }`
  }

  /** Same as `util.inspect`: ids only. */
  toString(): string {
    return this[inspect.custom]()
  }
}

/**
 * Checks a key id against {@link KEY_ID_PATTERN}.
 * @param where - names the input in the error, e.g. `TIERCACHE_KEYS entry 2`
 * @throws InvalidOptionsError, which never quotes the id
 */
export function assertKeyId(id: unknown, where: string): asserts id is string {
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    // Do not quote the offending text: a malformed id may be key material pasted in the wrong place.
    throw new InvalidOptionsError(`${where}: key id must match [A-Za-z0-9._-]{1,32}`)
  }
}

/**
 * Decodes base64 (standard or URL-safe alphabet, padding optional) that must hold exactly 32 bytes.
 * `Buffer.from(text, 'base64')` skips characters it does not know, so the text is also checked to be
 * the canonical encoding: a typo must fail, not silently yield a different key.
 */
export function decodeKey(text: string, where: string): Buffer {
  const bytes = Buffer.from(text, 'base64')
  const unpadded = text.replace(/=+$/, '')
  const canonical =
    bytes.byteLength === MASTER_KEY_BYTES &&
    (unpadded === bytes.toString('base64').replace(/=+$/, '') || unpadded === bytes.toString('base64url'))
  if (!canonical) {
    throw new InvalidOptionsError(`${where}: key must be ${MASTER_KEY_BYTES} bytes in base64 (e.g. from \`openssl rand -base64 32\`)`)
  }
  return bytes
}

/**
 * Parses a key ring from the `TIERCACHE_KEYS` text format.
 *
 * Format: comma-separated `id:base64key` entries, oldest first; the **last** entry is the current key.
 * `id` matches `[A-Za-z0-9._-]{1,32}`; `base64key` is 32 bytes in base64 (standard or URL-safe alphabet,
 * padding optional). Whitespace (including newlines) around entries is ignored, as is a trailing comma.
 *
 * ```
 * TIERCACHE_KEYS="k1:3q2+7w...=,k2:q83vEj...="   # k2 is current; k1 still decrypts old entries
 * ```
 *
 * To rotate: append a new entry, roll out, run the re-encrypt command, then remove the old entry.
 *
 * @param text the variable's value
 * @param source how to name the input in error messages. @default 'TIERCACHE_KEYS'
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an empty ring, a malformed entry, id or key,
 *   or a repeated id. Messages give the entry's position and, when well formed, its id; never key text.
 */
export function parseKeyRing(text: string, source = KEY_RING_ENV): KeyRing {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
  if (entries.length === 0) throw new InvalidOptionsError(`${source} holds no keys; expected id:base64key[,id:base64key...]`)
  const keys = entries.map((entry, index): MasterKey => {
    const where = `${source} entry ${index + 1}`
    const colon = entry.indexOf(':')
    if (colon < 0) throw new InvalidOptionsError(`${where}: expected id:base64key`)
    const id = entry.slice(0, colon).trim()
    assertKeyId(id, where)
    return { id, key: decodeKey(entry.slice(colon + 1).trim(), `${where} (id "${id}")`) }
  })
  return ringFrom(keys, undefined, source)
}

/** {@link KeyRing.from}, with errors prefixed by where the keys came from (an env var, a file path). */
export function ringFrom(keys: readonly MasterKey[], current: string | undefined, source: string): KeyRing {
  try {
    return KeyRing.from(keys, current)
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw new InvalidOptionsError(`${source}: ${error.message}`)
    throw error
  }
}

/**
 * Reads the key ring from the environment, if one is given there.
 * @param env the environment. @default process.env
 * @returns the ring, or `undefined` when `TIERCACHE_KEYS` is unset or blank
 * @throws InvalidOptionsError when the variable is set but malformed, see {@link parseKeyRing}
 */
export function keyRingFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): KeyRing | undefined {
  const text = env[KEY_RING_ENV]
  if (text === undefined || text.trim() === '') return undefined
  return parseKeyRing(text)
}
