import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { type CacheOptions, createCache } from '../../src/index.js'
import { type BuildServerOptions, buildServer } from '../../src/server/index.js'

/** A server over a real cache: L1 and an SQLite file in a temporary folder. */
export interface TestServer {
  readonly app: FastifyInstance
  readonly cache: Cache
  /** The SQLite file, for opening a second cache on the same data. */
  readonly dbPath: string
  /** Closes the app, the cache and removes the folder. */
  close(): Promise<void>
}

export async function openServer(
  cacheOptions: CacheOptions = {},
  serverOptions: Omit<BuildServerOptions, 'cache'> = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-server-'))
  const dbPath = join(dir, 'cache.db')
  const cache = createCache({ l3: { sqlite: dbPath, cleanupInterval: 0 }, ...cacheOptions })
  const app = await buildServer({ cache, ...serverOptions })
  return {
    app,
    cache,
    dbPath,
    async close() {
      await app.close()
      await cache.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The path of an entry, with the key percent-encoded as clients must send it. */
export function entryUrl(namespace: string, key: string): string {
  return `/v1/entries/${namespace}/${encodeURIComponent(key)}`
}

export function put(app: FastifyInstance, namespace: string, key: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PUT', url: entryUrl(namespace, key), payload: body as object })
}

export function get(app: FastifyInstance, namespace: string, key: string, query = ''): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: entryUrl(namespace, key) + query })
}

/** Sends raw bytes as the body, with the given content type (JSON by default). */
export function raw(app: FastifyInstance, method: 'PUT' | 'POST' | 'DELETE', url: string, payload: string, contentType = 'application/json') {
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
export async function expectStored(app: FastifyInstance, namespace: string, key: string, value: unknown): Promise<void> {
  const response = await get(app, namespace, key)
  expect(response.statusCode).toBe(200)
  expect(response.json()).toMatchObject({ value })
}

/** A seeded PRNG (mulberry32), so that a failing fuzz case replays. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
