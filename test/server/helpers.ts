import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { assembleCache } from '../../src/cache/assemble.js'
import type { Cache } from '../../src/cache/cache.js'
import { type CacheOptions as EngineOptions, resolveCacheOptions } from '../../src/cache/options.js'
import { seededRandom } from '../../src/core/seeded-random.js'
import { type CacheOptions, KeyRing, createCache } from '../../src/index.js'
import { type AuditLog, openAuditLog } from '../../src/security/audit/index.js'
import { type CreatedKey, type CredentialStore, type NewKeyInput, openCredentialStore } from '../../src/security/credentials/index.js'
import { type BuildServerOptions, buildServer } from '../../src/server/index.js'
import type { Tier } from '../../src/tiers/tier.js'

/** Something that answers requests: a {@link KeyedApp} sends its key with each. */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>
}

/** An app and the API key its requests carry unless they set their own `authorization` header. */
export interface KeyedApp extends Injector {
  readonly app: FastifyInstance
  /** The whole key, `tc_<id>_<secret>`. */
  readonly key: string
}

/** `Authorization: Bearer <key>`. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` }
}

/** `app` sending `key` with every request that has no `authorization` header of its own. */
export function keyed(app: FastifyInstance, key: string): KeyedApp {
  return {
    app,
    key,
    inject(options) {
      const headers = { ...(options.headers as Record<string, string> | undefined) }
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) Object.assign(headers, bearer(key))
      return app.inject({ ...options, headers })
    },
  }
}

/** API keys and an audit log in an SQLite file of their own, as a server needs them. */
export interface KeyStore {
  readonly credentials: CredentialStore
  readonly audit: AuditLog
  /** Creates a key: read, write and admin of `acme` on the unlimited plan, unless told otherwise. */
  createKey(input?: Partial<NewKeyInput>): Promise<CreatedKey>
  close(): Promise<void>
}

/** Opens a {@link KeyStore} on `path`, or on a file in a temporary folder removed on close. */
export async function openKeyStore(path?: string): Promise<KeyStore> {
  const dir = path === undefined ? mkdtempSync(join(tmpdir(), 'tiercache-keys-')) : undefined
  const file = path ?? join(dir ?? '', 'keys.db')
  const credentials = await openCredentialStore({ sqlite: file })
  const audit = await openAuditLog({ sqlite: file }, { onError: (error) => console.error('audit write failed in a test', error) })
  return {
    credentials,
    audit,
    createKey: (input = {}) => credentials.create({ tenant: 'acme', roles: ['read', 'write', 'admin'], plan: 'unlimited', ...input }),
    async close() {
      await Promise.all([audit.close(), credentials.close()])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A server built by a test over a cache of its own, with a key store of its own. */
export interface OwnServer extends KeyedApp {
  readonly store: KeyStore
  /** Closes the app (and the cache if `closeCacheOnClose`), then the key store. */
  close(): Promise<void>
}

/** Builds a server with `options`, over a new key store, sending that store's default key. */
export async function buildKeyedServer(options: Omit<BuildServerOptions, 'credentials' | 'audit'>): Promise<OwnServer> {
  const store = await openKeyStore()
  try {
    const app = await buildServer({ ...options, credentials: store.credentials, audit: store.audit })
    const created = await store.createKey()
    return {
      ...keyed(app, created.key),
      store,
      async close() {
        await app.close()
        await store.close()
      },
    }
  } catch (error) {
    await store.close()
    throw error
  }
}

/** A server over a real cache: L1 and an SQLite file in a temporary folder, with its keys in that file. */
export interface TestServer extends KeyedApp {
  readonly cache: Cache
  /** The cache in the scope of the default key's tenant: where the server keeps that key's entries. */
  readonly view: Cache
  /** The SQLite file of the cache, the keys and the audit log, for opening a second cache on the same data. */
  readonly dbPath: string
  readonly credentials: CredentialStore
  readonly audit: AuditLog
  /** The default key: tenant `acme`, roles read, write and admin, plan unlimited. */
  readonly created: CreatedKey
  /** Creates another key in the server's store (same defaults as the default key). */
  createKey(input?: Partial<NewKeyInput>): Promise<CreatedKey>
  /** Closes the app, the cache and the key store, and removes the folder. */
  close(): Promise<void>
}

export async function openServer(
  cacheOptions: CacheOptions = {},
  serverOptions: Omit<BuildServerOptions, 'cache' | 'credentials' | 'audit'> = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-server-'))
  const dbPath = join(dir, 'cache.db')
  const cache = createCache({ l3: { sqlite: dbPath, cleanupInterval: 0 }, ...cacheOptions })
  const store = await openKeyStore(dbPath)
  const app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, ...serverOptions })
  const created = await store.createKey()
  return {
    ...keyed(app, created.key),
    cache,
    view: cache.withContext({ role: 'authenticated', tenantId: created.tenant }),
    dbPath,
    credentials: store.credentials,
    audit: store.audit,
    created,
    createKey: store.createKey,
    async close() {
      await app.close()
      await cache.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A cache over an L1 (unless `l1: false`) and `l3` as its shared tier, with a key ring of its own, so
 * that it can hold tenants' entries as the server needs.
 */
export function scopedCacheOver(l3: Tier, options: EngineOptions = {}): Cache {
  const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
  return assembleCache(resolveCacheOptions({ ...options, l3: false }), [{ level: 'l3', tier: l3 }], { keyRing })
}

/** The path of an entry, with the key percent-encoded as clients must send it. */
export function entryUrl(namespace: string, key: string): string {
  return `/v1/entries/${namespace}/${encodeURIComponent(key)}`
}

export function put(app: Injector, namespace: string, key: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PUT', url: entryUrl(namespace, key), payload: body as object })
}

export function get(app: Injector, namespace: string, key: string, query = ''): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: entryUrl(namespace, key) + query })
}

/** Sends raw bytes as the body, with the given content type (JSON by default). */
export function raw(app: Injector, method: 'PUT' | 'POST' | 'DELETE', url: string, payload: string, contentType = 'application/json') {
  return app.inject({ method, url, payload, headers: { 'content-type': contentType } })
}

/** Asserts a coded error answer: the status, the code, and nothing but `{ error: { code, message } }`. */
export function expectError(response: LightMyRequestResponse, statusCode: number, code: string): void {
  expect(response.statusCode, response.body.slice(0, 300)).toBe(statusCode)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  const body = response.json() as { error: { code: string; message: string } }
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
}

/** Asserts that `key` still holds `value` in `namespace`, read through the HTTP API. */
export async function expectStored(app: Injector, namespace: string, key: string, value: unknown): Promise<void> {
  const response = await get(app, namespace, key)
  expect(response.statusCode).toBe(200)
  expect(response.json()).toMatchObject({ value })
}

/** A seeded PRNG (mulberry32, `seededRandom`), so that a failing fuzz case replays. */
export const prng = seededRandom
