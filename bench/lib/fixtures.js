// Shared inputs of the suites: the value cached, the key sets, temp folders, the Postgres probe.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { URL } from 'node:url'
import { Redis } from 'ioredis'
import postgres from 'postgres'

/**
 * A realistic small value: a user-profile-like object of 226 bytes as JSON, 188 as msgpack. Every
 * library caches this same object.
 */
export const VALUE = Object.freeze({
  id: 48213,
  name: 'Ada Lovelace',
  email: 'ada.lovelace@example.com',
  roles: ['admin', 'editor'],
  plan: 'enterprise',
  active: true,
  score: 97.25,
  createdAt: '2024-03-18T09:41:27.000Z',
  address: { city: 'London', country: 'GB' },
})

/** Keys filled before the random-key tasks; those tasks read and write among them. */
export const KEY_COUNT = 10_000

/** The key of the warm-key tasks: always present, so its page stays in every cache. */
export const WARM_KEY = 'user:warm'

/** The i-th of the {@link KEY_COUNT} keys. */
export function keyAt(i) {
  return `user:${i}`
}

// A precomputed, seeded sequence of key indexes, so that picking a random key costs one array read
// (not a Math.random call on the clock) and every run and library sees the same sequence.
const PICKS = (() => {
  const picks = new Array(1 << 16)
  let state = 0x9e3779b9
  for (let i = 0; i < picks.length; i++) {
    // xorshift32
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    picks[i] = keyAt((state >>> 0) % KEY_COUNT)
  }
  return picks
})()

/** The i-th pseudo-random key among the {@link KEY_COUNT} keys. */
export function randomKey(i) {
  return PICKS[i & (PICKS.length - 1)]
}

/**
 * Calls `fill(key)` for every one of the {@link KEY_COUNT} keys (and the warm key), `concurrency` at a
 * time: enough to fill a networked database in seconds, without opening more connections than a
 * pool holds.
 */
export async function fillKeys(fill, concurrency = 1) {
  const keys = [WARM_KEY, ...Array.from({ length: KEY_COUNT }, (_, i) => keyAt(i))]
  let next = 0
  const worker = async () => {
    while (next < keys.length) await fill(keys[next++])
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** A fresh temporary folder, and a function that removes it with everything in it. */
export function tempDir(label) {
  const path = mkdtempSync(join(tmpdir(), `tiercache-bench-${label}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** The PostgreSQL the Postgres suite uses. */
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Resolves undefined when PostgreSQL at `url` answers a query, else the reason it does not. */
export async function probePostgres(url) {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined)
  }
}

/** The Redis the L2 suite uses. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Resolves undefined when Redis at `url` answers a PING, else the reason it does not. */
export async function probeRedis(url) {
  // One attempt, no retries: an absent server must fail the probe in seconds, not be waited on.
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  // The socket's error (ECONNREFUSED, ENOTFOUND) says more than the "Connection is closed." that
  // connect() rejects with once no retry is allowed.
  let socketError
  client.on('error', (error) => {
    socketError = error
  })
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    const reason = socketError ?? error
    return reason instanceof Error ? reason.message : String(reason)
  } finally {
    client.disconnect()
  }
}

/** `url` without its password, for printing. */
export function redact(url) {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

/** Database identifiers for this run, so that concurrent runs and the tests never share a table. */
export const RUN_ID = `${process.pid}_${Date.now().toString(36)}`
