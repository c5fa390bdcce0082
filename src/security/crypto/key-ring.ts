/* eslint-disable max-lines -- to be split along its seams (issue 8, item 5) */
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
 *   its owner only, see {@link generateKeyRingFile} and {@link loadOrCreateKeyRing}.
 *
 * Key material never leaves a ring in readable form: the keys are held as native `KeyObject`s, and
 * `toJSON`, `util.inspect` and every error message show key ids only.
 *
 * @module
 */
import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
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

/** File mode of a key file: read and write by its owner only. */
export const KEY_FILE_MODE = 0o600

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
 * Build one with {@link KeyRing.from}, {@link parseKeyRing}, {@link parseKeyRingFile},
 * {@link loadKeyRingFile} or {@link loadOrCreateKeyRing}. Rings are immutable: rotating means building
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

function assertKeyId(id: unknown, where: string): asserts id is string {
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
function decodeKey(text: string, where: string): Buffer {
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
function ringFrom(keys: readonly MasterKey[], current: string | undefined, source: string): KeyRing {
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

/**
 * Parses the JSON key file format:
 *
 * ```json
 * { "current": "k2", "keys": { "k1": "<base64 of 32 bytes>", "k2": "<base64 of 32 bytes>" } }
 * ```
 *
 * `current` is required when there is more than one key (JSON object order is not a reliable way to
 * name the newest key: integer-like ids such as `"1"` are reordered by JavaScript). The ring's order is
 * the object's order, with `current` as given.
 *
 * @param text the file's content
 * @param source how to name the input in error messages (a path). @default 'key file'
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when the text is not JSON of that shape or a key or
 *   id is malformed. The JSON parser's own message is not kept: it quotes the input, i.e. keys.
 */
export function parseKeyRingFile(text: string, source = 'key file'): KeyRing {
  const { current, keys } = parseKeyFileEntries(text, source)
  return ringFrom(keys, current, source)
}

/** The content of a key file, checked but not yet a ring (rotation needs the key bytes back). */
function parseKeyFileEntries(text: string, source: string): { current: string | undefined; keys: MasterKey[] } {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // Deliberately no `cause`: V8's SyntaxError message quotes a slice of the input text.
    throw new InvalidOptionsError(`${source} is not valid JSON; expected {"current": id, "keys": {id: base64key}}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidOptionsError(`${source} must be a JSON object {"current": id, "keys": {id: base64key}}`)
  }
  const { current, keys } = data as { current?: unknown; keys?: unknown }
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new InvalidOptionsError(`${source}: "keys" must be an object of id: base64key`)
  }
  const list = Object.entries(keys as Record<string, unknown>).map(([id, value], index): MasterKey => {
    const where = `${source} key ${index + 1}`
    assertKeyId(id, where)
    if (typeof value !== 'string') throw new InvalidOptionsError(`${where} (id "${id}"): key must be a base64 string`)
    return { id, key: decodeKey(value.trim(), `${where} (id "${id}")`) }
  })
  if (current !== undefined) assertKeyId(current, `${source} "current"`)
  if (current === undefined && list.length > 1) {
    throw new InvalidOptionsError(`${source}: "current" is required when the file holds more than one key`)
  }
  return { current, keys: list }
}

/**
 * Loads a JSON key file (format: {@link parseKeyRingFile}).
 *
 * Like ssh with a private key, the file is refused when its mode grants any access to group or others
 * (`mode & 0o077`), because a key that others can read is no longer a secret. The check and the read
 * use the same open descriptor, so the file cannot be swapped in between. Skipped on Windows, where
 * POSIX modes do not describe access.
 *
 * @param path the key file
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) naming the path (never the content) when the file
 *   cannot be read (the fs error is the `cause`), is not a regular file, is too open, or is malformed
 */
export function loadKeyRingFile(path: string): KeyRing {
  return parseKeyRingFile(readKeyFileText(path), `key file ${path}`)
}

/** Reads a key file's text after checking, on the same descriptor, that only its owner can access it. */
function readKeyFileText(path: string): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (cause) {
    throw new InvalidOptionsError(`cannot open key file ${path}`, { cause })
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw new InvalidOptionsError(`key file ${path} is not a regular file`)
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new InvalidOptionsError(
        `key file ${path} has mode ${mode}, which lets group or others access it; run \`chmod 600 ${path}\``,
      )
    }
    return readFileSync(fd, 'utf8')
  } catch (cause) {
    if (cause instanceof InvalidOptionsError) throw cause
    throw new InvalidOptionsError(`cannot read key file ${path}`, { cause })
  } finally {
    closeSync(fd)
  }
}

/** What {@link generateKeyRingFile} returns. */
export interface KeyRingFileResult {
  /** The ring in the file: the new one, or the existing one when the file was already there. */
  readonly ring: KeyRing
  /** True when this call created the file. */
  readonly created: boolean
}

function serializeKeyFile(current: string, keys: ReadonlyMap<string, Uint8Array>): string {
  const entries: Record<string, string> = {}
  for (const [id, key] of keys) entries[id] = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')
  return `${JSON.stringify({ current, keys: entries }, null, 2)}\n`
}

/** Writes `text` to a fresh temporary file beside `path`, mode 0600, flushed to disk; returns its path. */
function writeTempKeyFile(path: string, text: string): string {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  // 'wx' = O_CREAT | O_EXCL: never follows or reuses an existing file at the temporary name.
  const fd = openSync(temp, 'wx', KEY_FILE_MODE)
  try {
    fchmodSync(fd, KEY_FILE_MODE) // the umask may only have removed bits, but make the mode exact
    writeSync(fd, text)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    unlinkSync(temp)
    throw error
  }
  closeSync(fd)
  return temp
}

/** Flushes a directory entry change (create, rename) to disk; best effort where unsupported. */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, fsConstants.O_RDONLY)
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename itself is still atomic.
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '')
}

/**
 * Creates a key file with one new random key (id `k1`), or loads the file if it already exists.
 *
 * The file is never overwritten and never seen half-written: the key is written to a temporary file
 * (mode 0600, fsynced) in the same directory, which is then hard-linked to `path`. Unlike rename,
 * link(2) fails when `path` exists, so when two processes start at once exactly one key file wins and
 * both use it (with rename, the loser's key would be silently replaced while it encrypts with it).
 * Where hard links are unsupported, falls back to an exclusive create of `path` itself.
 * Missing parent directories are created with mode 0700.
 *
 * @param path the key file, e.g. beside the SQLite database
 * @returns the ring, and whether this call created the file
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when an existing file is refused or malformed
 *   (see {@link loadKeyRingFile}) or the file cannot be created (the fs error is the `cause`)
 */
export function generateKeyRingFile(path: string): KeyRingFileResult {
  const id = 'k1'
  const key = randomBytes(MASTER_KEY_BYTES)
  const text = serializeKeyFile(id, new Map([[id, key]]))
  let temp: string | undefined
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    temp = writeTempKeyFile(path, text)
    try {
      linkSync(temp, path)
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return { ring: loadKeyRingFile(path), created: false }
      if (!isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV')) throw error
      // No hard links here: create `path` exclusively and write it directly.
      let fd: number
      try {
        fd = openSync(path, 'wx', KEY_FILE_MODE)
      } catch (inner) {
        if (isErrno(inner, 'EEXIST')) return { ring: loadKeyRingFile(path), created: false }
        throw inner
      }
      try {
        fchmodSync(fd, KEY_FILE_MODE)
        writeSync(fd, text)
        fsyncSync(fd)
      } catch (inner) {
        closeSync(fd)
        unlinkSync(path) // ours (created exclusively above): leave no half-written key file behind
        throw inner
      }
      closeSync(fd)
    }
    fsyncDir(dirname(path))
  } catch (cause) {
    if (cause instanceof InvalidOptionsError) throw cause
    throw new InvalidOptionsError(`cannot create key file ${path}`, { cause })
  } finally {
    if (temp !== undefined) {
      try {
        unlinkSync(temp)
      } catch {
        // already gone; nothing to clean up
      }
    }
  }
  const ring = KeyRing.from([{ id, key }])
  key.fill(0)
  return { ring, created: true }
}

/**
 * The embedded default: loads the key file at `path`, creating it with a new random key on first start,
 * so that encryption is on from the first run. See {@link generateKeyRingFile}.
 * @throws InvalidOptionsError as {@link generateKeyRingFile}
 */
export function loadOrCreateKeyRing(path: string): KeyRing {
  try {
    return loadKeyRingFile(path)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError && isErrno(error.cause, 'ENOENT'))) throw error
  }
  return generateKeyRingFile(path).ring
}

/**
 * Picks the key ring for a deployment: `TIERCACHE_KEYS` from the environment when set (production),
 * otherwise the key file at `keyFile`, created on first start (the embedded default).
 * @param options.keyFile path of the key file, e.g. beside the SQLite database
 * @param options.env the environment. @default process.env
 * @throws InvalidOptionsError as {@link parseKeyRing} or {@link generateKeyRingFile}
 */
export function resolveKeyRing(options: {
  readonly keyFile: string
  readonly env?: Readonly<Record<string, string | undefined>>
}): KeyRing {
  return keyRingFromEnv(options.env ?? process.env) ?? loadOrCreateKeyRing(options.keyFile)
}

/**
 * Rotates the key file at `path`: adds a new random key and makes it current, keeping the old keys so
 * that existing entries stay readable. The file is replaced atomically (temporary file, fsync, rename),
 * keeping mode 0600. Running processes keep their loaded ring until restarted; both keys decrypt.
 * @param path an existing key file (checked as by {@link loadKeyRingFile})
 * @param newId id of the new key. @default `k<n>`, the first unused of k1, k2, ...
 * @returns the new ring
 * @throws InvalidOptionsError when the file is refused or malformed, `newId` is malformed or taken, or
 *   the file cannot be written
 */
export function rotateKeyRingFile(path: string, newId?: string): KeyRing {
  const source = `key file ${path}`
  const parsed = parseKeyFileEntries(readKeyFileText(path), source)
  ringFrom(parsed.keys, parsed.current, source) // validates "current" before anything is written
  const keys = new Map<string, Uint8Array>(parsed.keys.map(({ id, key }) => [id, key]))
  let id = newId
  for (let n = keys.size + 1; id === undefined; n++) if (!keys.has(`k${n}`)) id = `k${n}`
  assertKeyId(id, 'new key')
  if (keys.has(id)) throw new InvalidOptionsError(`key id "${id}" is already in key file ${path}`)
  keys.set(id, randomBytes(MASTER_KEY_BYTES))
  let temp: string | undefined
  try {
    temp = writeTempKeyFile(path, serializeKeyFile(id, keys))
    renameSync(temp, path) // replacing is the point here, unlike in generateKeyRingFile
    temp = undefined
    fsyncDir(dirname(path))
  } catch (cause) {
    throw new InvalidOptionsError(`cannot write key file ${path}`, { cause })
  } finally {
    if (temp !== undefined) {
      try {
        unlinkSync(temp)
      } catch {
        // already gone
      }
    }
  }
  const ring = KeyRing.from([...keys].map(([keyId, key]) => ({ id: keyId, key })), id)
  for (const key of keys.values()) key.fill(0)
  return ring
}
