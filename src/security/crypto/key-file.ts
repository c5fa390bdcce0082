/**
 * Key files: the key ring of the embedded default, a JSON file beside the data that only its owner
 * may read, created on first start ({@link loadOrCreateKeyRing}) and rotated in place
 * ({@link rotateKeyRingFile}). The file is checked, read and written so that it is never seen
 * half-written, never replaced by a concurrent start, and never read when others could read it too.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
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
import { InvalidOptionsError } from '../../errors.js'
import { KeyRing, MASTER_KEY_BYTES, type MasterKey, assertKeyId, decodeKey, ringFrom } from './key-ring.js'

/** File mode of a key file: read and write by its owner only. */
export const KEY_FILE_MODE = 0o600

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
