import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Cache, type CacheOptions, TierUnavailableError, createCache } from '../../index.js'

/**
 * The L3 of a replay: `'temporary'` (a fresh SQLite file in the OS temp folder, deleted afterwards),
 * an SQLite file or PostgreSQL database of the caller's, or false for none.
 */
export type ReplayL3 = 'temporary' | { readonly sqlite: string } | { readonly postgres: string } | false

/** What a replay's cache differs by when runs compare ttls or policies. */
export interface ReplayCacheOptions {
  /** The cache's ttl. @default ten years: nothing expires during a replay */
  readonly ttl?: number
  /** The policy layer the runs' calls name. */
  readonly policies?: CacheOptions['policies']
}

// Traces carry no timestamps: entries must not expire while a replay runs, however long it takes.
const REPLAY_TTL = '3650d'

/**
 * Creates the replay's cache, opens its L3, runs `use`, then closes the cache, clearing the run's
 * namespace from a caller's L3, or deleting the temporary SQLite folder, whether `use` succeeded or not.
 *
 * The cache has, unless `options` say otherwise, a ttl long enough that nothing expires during a
 * replay (traces carry no timestamps), and a namespace of its own: `replay` in a temporary file, `replay-<time>-<pid>` in a caller's
 * database, so that entries already there cannot count as hits.
 * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when the L3 cannot be opened
 */
export async function withReplayCache<T>(
  l1: { readonly maxEntries: number; readonly maxBytes: number } | false,
  l3: ReplayL3,
  use: (cache: Cache) => Promise<T>,
  options: ReplayCacheOptions = {},
): Promise<T> {
  let tempDir: string | undefined
  let cacheL3: CacheOptions['l3']
  if (l3 === 'temporary') {
    tempDir = await mkdtemp(join(tmpdir(), 'tiercache-replay-'))
    cacheL3 = { sqlite: join(tempDir, 'cache.db') }
  } else {
    cacheL3 = l3
  }
  // A fixed namespace in a private file; a unique one, cleared afterwards, in a caller's database.
  const ownNamespace = l3 !== 'temporary' && l3 !== false
  const namespace = ownNamespace ? `replay-${Date.now().toString(36)}-${process.pid}-${++runs}` : 'replay'
  let cache: Cache | undefined
  try {
    cache = createCache({ namespace, ttl: options.ttl ?? REPLAY_TTL, l1, l3: cacheL3, policies: options.policies })
    await openL3(cache)
    return await use(cache)
  } finally {
    // Also after a failure or an abort: a caller's database must not keep the run's entries.
    if (ownNamespace) await cache?.clear().catch(() => undefined)
    await cache?.close()
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true })
  }
}

let runs = 0

/**
 * Opens the L3 now, so that its migration is not timed, and fails when it cannot be opened: a replay
 * whose L3 is down would report misleading figures.
 */
async function openL3(cache: Cache): Promise<void> {
  let tierError: unknown
  const onError = ({ error }: { error: unknown }) => (tierError ??= error)
  cache.on('tier:error', onError)
  try {
    // stats() counts each tier's entries, which opens (connects, migrates) the L3.
    const stats = await cache.stats()
    if ((stats.tiers.l3?.errors ?? 0) > 0) throw new TierUnavailableError('cannot open the replay L3', { cause: tierError })
  } finally {
    cache.off('tier:error', onError)
  }
}

/** How an L3 is shown in reports: without a password. */
export function describeL3(l3: ReplayL3): string {
  if (l3 === false) return 'none'
  if (l3 === 'temporary') return 'sqlite (temporary file)'
  if ('sqlite' in l3) return `sqlite:${l3.sqlite}`
  return `postgres:${redactUrl(l3.postgres)}`
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable url)'
  }
}
