import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { decryptPayload, encryptPayload } from '../../../src/security/crypto/envelope.js'
import { generateKeyRingFile, loadKeyRingFile, loadOrCreateKeyRing, parseKeyRingFile, rotateKeyRingFile } from '../../../src/security/crypto/key-file.js'
import { key1, key2, b64a, b64b, expectError, expectNoKeyMaterial } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-keys-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let fileCount = 0
const freshPath = (name = 'keys.json') => join(dir, `${++fileCount}`, name)

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
})
