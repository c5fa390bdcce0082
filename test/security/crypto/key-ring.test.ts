import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { isTiercacheError } from '../../../src/errors.js'
import { decryptPayload, encryptPayload } from '../../../src/security/crypto/envelope.js'
import {
  KeyRing,
  generateKeyRingFile,
  keyRingFromEnv,
  loadKeyRingFile,
  loadOrCreateKeyRing,
  parseKeyRing,
  parseKeyRingFile,
  resolveKeyRing,
  rotateKeyRingFile,
} from '../../../src/security/crypto/key-ring.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-keys-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let fileCount = 0
const freshPath = (name = 'keys.json') => join(dir, `${++fileCount}`, name)

const key1 = randomBytes(32)
const key2 = randomBytes(32)
const b64a = key1.toString('base64')
const b64b = key2.toString('base64')

/** Runs `fn`, expects a TiercacheError with `code`, and returns it. */
function expectError(fn: () => unknown, code: string): Error {
  try {
    fn()
  } catch (error) {
    expect(isTiercacheError(error) ? error.code : String(error)).toBe(code)
    return error as Error
  }
  throw new Error(`expected ${code}, nothing was thrown`)
}

/** Every rendering of `value` that could end up in a log, joined. */
function renderings(value: unknown): string {
  return [inspect(value), inspect(value, { showHidden: true, depth: 10 }), JSON.stringify(value), String(value), `${value}`].join('\n')
}

function expectNoKeyMaterial(text: string, ...keys: Buffer[]): void {
  for (const key of keys) {
    expect(text).not.toContain(key.toString('base64').slice(0, 20))
    expect(text).not.toContain(key.toString('base64url').slice(0, 20))
    expect(text).not.toContain(key.toString('hex').slice(0, 20))
  }
}

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

describe('parseKeyRingFile', () => {
  it('reads {current, keys}', () => {
    const ring = parseKeyRingFile(JSON.stringify({ current: 'k1', keys: { k1: b64a, k2: b64b } }))
    expect(ring.ids).toEqual(['k1', 'k2'])
    expect(ring.currentId).toBe('k1')
  })

  it('allows omitting current with a single key', () => {
    expect(parseKeyRingFile(JSON.stringify({ keys: { only: b64a } })).currentId).toBe('only')
  })

  it.each([
    ['invalid JSON quoting a key', `{"current": "k1", "keys": {"k1": ${b64a}}}`],
    ['invalid JSON ending in a key', `{"keys": {"k1": "${b64a}"`],
    ['an array', JSON.stringify([b64a])],
    ['keys as an array', JSON.stringify({ current: 'k1', keys: [b64a] })],
    ['no current with two keys', JSON.stringify({ keys: { k1: b64a, k2: b64b } })],
    ['an unknown current', JSON.stringify({ current: 'k9', keys: { k1: b64a } })],
    ['a key as current', JSON.stringify({ current: b64b, keys: { k1: b64a } })],
    ['a key that is not a string', JSON.stringify({ current: 'k1', keys: { k1: [...key1] } })],
    ['a short key', JSON.stringify({ current: 'k1', keys: { k1: b64a.slice(0, 22) } })],
    ['a malformed id', JSON.stringify({ current: 'k1', keys: { k1: b64a, [b64b]: b64b } })],
  ])('refuses %s with TC_INVALID_OPTIONS, without echoing key text', (_name, text) => {
    const error = expectError(() => parseKeyRingFile(text, 'key file /x/keys.json'), 'TC_INVALID_OPTIONS')
    expectNoKeyMaterial(`${error.message}\n${inspect(error)}`, key1, key2)
    expect(error.message).toContain('/x/keys.json')
  })
})

describe.skipIf(process.platform === 'win32')('key files', () => {
  it('generateKeyRingFile creates a 0600 file with one key, then loads it instead of overwriting', () => {
    const path = freshPath()
    const first = generateKeyRingFile(path)
    expect(first.created).toBe(true)
    expect(first.ring.ids).toEqual(['k1'])
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const content = readFileSync(path, 'utf8')
    const second = generateKeyRingFile(path)
    expect(second.created).toBe(false)
    expect(readFileSync(path, 'utf8')).toBe(content)
    const envelope = encryptPayload(first.ring, 't', Buffer.from('persisted'))
    expect(Buffer.from(decryptPayload(second.ring, 't', envelope)).toString()).toBe('persisted')
    // the temporary file is gone; only the key file remains
    expect(readdirSync(join(path, '..'))).toEqual(['keys.json'])
  })

  it('loadOrCreateKeyRing creates the file on the first call and reuses it on the second', () => {
    const path = freshPath()
    const first = loadOrCreateKeyRing(path)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const second = loadOrCreateKeyRing(path)
    const envelope = encryptPayload(first, 'tenant', Buffer.from('first run'), 'ns:k')
    expect(Buffer.from(decryptPayload(second, 'tenant', envelope, 'ns:k')).toString()).toBe('first run')
  })

  it('creates missing parent directories owner-only', () => {
    const path = join(dir, `${++fileCount}`, 'deep', 'er', 'keys.json')
    loadOrCreateKeyRing(path)
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700)
  })

  it.each([
    ['0644', 0o644],
    ['0640', 0o640],
    ['0604', 0o604],
    ['0620', 0o620],
    ['0602', 0o602],
  ])('refuses a key file with mode %s, naming the path but not the key', (label, mode) => {
    const path = freshPath()
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, JSON.stringify({ current: 'k1', keys: { k1: b64a } }))
    chmodSync(path, mode)
    for (const load of [loadKeyRingFile, loadOrCreateKeyRing, (p: string) => generateKeyRingFile(p).ring]) {
      const error = expectError(() => load(path), 'TC_INVALID_OPTIONS')
      expect(error.message).toContain(path)
      expect(error.message).toContain(label)
      expectNoKeyMaterial(`${error.message}\n${inspect(error)}`, key1)
    }
    // the file is left as it was, not replaced by a new key
    expect(readFileSync(path, 'utf8')).toContain(b64a)
  })

  it('loads a hand-written 0600 file', () => {
    const path = freshPath()
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, JSON.stringify({ current: 'k2', keys: { k1: b64a, k2: b64b } }), { mode: 0o600 })
    expect(loadKeyRingFile(path).currentId).toBe('k2')
  })

  it('reports a missing file or a directory as TC_INVALID_OPTIONS naming the path', () => {
    const missing = freshPath()
    const error = expectError(() => loadKeyRingFile(missing), 'TC_INVALID_OPTIONS')
    expect(error.message).toContain(missing)
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT')
    const directory = join(dir, `${++fileCount}`)
    mkdirSync(directory, { mode: 0o700 })
    expect(expectError(() => loadKeyRingFile(directory), 'TC_INVALID_OPTIONS').message).toContain('not a regular file')
  })

  it('rotateKeyRingFile adds a current key, keeps the old one readable and the mode 0600', () => {
    const path = freshPath()
    const before = loadOrCreateKeyRing(path)
    const old = encryptPayload(before, 'tenant', Buffer.from('old'), 'ns:k')
    const after = rotateKeyRingFile(path)
    expect(after.ids).toEqual(['k1', 'k2'])
    expect(after.currentId).toBe('k2')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const reloaded = loadKeyRingFile(path)
    expect(reloaded.currentId).toBe('k2')
    expect(Buffer.from(decryptPayload(reloaded, 'tenant', old, 'ns:k')).toString()).toBe('old')
    const fresh = encryptPayload(after, 'tenant', Buffer.from('new'), 'ns:k')
    expect(Buffer.from(decryptPayload(reloaded, 'tenant', fresh, 'ns:k')).toString()).toBe('new')
    expect(rotateKeyRingFile(path, '2025-q3').currentId).toBe('2025-q3')
    expectError(() => rotateKeyRingFile(path, 'k1'), 'TC_INVALID_OPTIONS')
    expect(readdirSync(join(path, '..'))).toEqual(['keys.json'])
  })

  it('resolveKeyRing prefers TIERCACHE_KEYS and otherwise creates the key file', () => {
    const path = freshPath()
    const fromEnv = resolveKeyRing({ keyFile: path, env: { TIERCACHE_KEYS: `prod-1:${b64a}` } })
    expect(fromEnv.currentId).toBe('prod-1')
    expect(() => statSync(path)).toThrow()
    const fromFile = resolveKeyRing({ keyFile: path, env: {} })
    expect(fromFile.currentId).toBe('k1')
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })
})
