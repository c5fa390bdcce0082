/**
 * The Redis tier (L2): entries shared by every process, kept in Redis or Valkey (6.2 or later),
 * standalone or cluster. See keys.ts for the data layout, record.ts for the stored form of an entry
 * and scripts.ts for the atomic operations.
 */
import type { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import { encodeValue, entryFromRecord } from '../../core/codec.js'
import type { Entry } from '../../core/entry.js'
import { CacheClosedError, InvalidOptionsError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'
import { RedisConnections, connectionsFor, redisConnectionSchema } from '../../redis/connections.js'
import type { KeyPage, Tier, TierCapabilities } from '../tier.js'
import { KeyLayout, PREFIX_PATTERN } from './keys.js'
import { decodeRecord, encodeRecord } from './record.js'
import { NamespaceRegistry, type RunCommand } from './registry.js'
import {
  CLEAR_BATCH_SCRIPT,
  DELETE_BY_TAGS_SCRIPT,
  DELETE_SCRIPT,
  KEYS_SCRIPT,
  type LuaScript,
  REWRITE_SCRIPT,
  SET_GET_MAX_BYTES,
  SET_SCRIPT,
  type ScriptArg,
  runScript,
} from './scripts.js'

export { KeyLayout } from './keys.js'

/** Options of the Redis tier. */
export interface RedisTierOptions {
  /**
   * Where Redis is: a `redis://` or `rediss://` (TLS) URL, for which the tier creates, and on
   * `close()` closes, its own client (options: see `createClient` in src/redis/client.ts); an ioredis
   * `Redis` or `Cluster` the caller created, used as is and never closed by the tier; or
   * {@link RedisConnections} shared with a bus and a lock (closed when the last of them closes).
   */
  readonly connection: string | Redis | Cluster | RedisConnections
  /**
   * Start of every Redis key the tier writes: `[A-Za-z0-9._:/-]{1,64}`. Tiers with different
   * prefixes share nothing. @default 'tc'
   */
  readonly prefix?: string
  /**
   * Longest a single Redis command may take, in ms, after which the call rejects with
   * TierUnavailableError. Applied through ioredis's `commandTimeout` on a client the tier creates,
   * and by a timer around each command on a passed-in one. Calls made of several commands (`keys`
   * over many expired entries, `clear`, operations on every namespace) may take several. @default 1000
   */
  readonly commandTimeoutMs?: number
}

/** Index members a single `keys` script examines at most, so that one call never blocks Redis long. */
export const KEYS_SCAN_BUDGET = 1_000
/** Entries removed per `clear` script, so that clearing a large namespace never blocks Redis long. */
export const CLEAR_BATCH_SIZE = 1_000
/** Namespaces worked on at once by operations on every namespace. */
const NAMESPACE_CONCURRENCY = 16

const optionsSchema = z.object({
  connection: redisConnectionSchema,
  prefix: z.string().regex(PREFIX_PATTERN, 'must match [A-Za-z0-9._:/-]{1,64} (no braces)').default('tc'),
  commandTimeoutMs: z.number().int().min(1).max(600_000).default(1_000),
})

/**
 * Shared tier (L2) in Redis. Each entry is one binary STRING expiring (PX) at its `staleUntil`, so
 * Redis drops dead entries itself; a tag set per tag and a key index per namespace make tag deletes
 * and key listing possible without scanning the keyspace. Every write is one Lua script, atomic over
 * the namespace (one hash slot), so a live entry is always in its tag sets and the index; those may
 * also list entries that have since expired, which reads skip and writes prune (see scripts.ts).
 *
 * Not durable: Redis persistence is an operator's choice, and a cache tier must not rely on it.
 *
 * Eviction: an evicted tag set or index takes with it the knowledge of the entries it lists, which
 * `deleteByTags` then misses until they expire. Give Redis the memory not to evict, or use
 * `maxmemory-policy volatile-ttl` (every key here has a ttl, and a set's is never shorter than its
 * entries', so entries go first, as far as Redis's sampling is exact) or `noeviction` (writes fail,
 * and the stack's circuit breaker takes over).
 *
 * Errors: every Redis failure (down, timeout, error reply) rejects with TierUnavailableError, its
 * cause the ioredis error; an unreadable stored entry rejects with CorruptEntryError; a bad namespace
 * with InvalidNamespaceError; any call after `close()` with CacheClosedError.
 */
export class RedisTier implements Tier {
  readonly kind = 'redis'
  readonly capabilities: TierCapabilities = { shared: true, durable: false, boundedCalls: true }
  /** Where the tier keeps things in Redis, for tools and tests that inspect it. */
  readonly layout: KeyLayout
  private readonly registry: NamespaceRegistry
  private closing: Promise<void> | undefined

  /**
   * Use {@link createRedisTier}, which validates the options and creates the client.
   * @param connections - retained for the tier, released on {@link close}
   * @param timeoutMs - longest a command may take, in ms
   */
  constructor(
    private readonly connections: RedisConnections,
    prefix: string,
    private readonly timeoutMs: number,
  ) {
    this.layout = new KeyLayout(prefix)
    this.registry = new NamespaceRegistry(this.run, this.layout.registry)
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    const entryKey = this.layout.entry(this.layout.base(namespace), key)
    const stored = await this.run('get', (client) => client.getBuffer(entryKey))
    return stored === null ? undefined : liveEntry(namespace, key, stored, Date.now())
  }

  /** One MGET: the keys of a namespace share a hash slot, so this works in a cluster too. */
  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    if (keys.length === 0) return []
    const base = this.layout.base(namespace)
    const entryKeys = keys.map((key) => this.layout.entry(base, key))
    const stored = await this.run('getMany', (client) => client.mgetBuffer(...entryKeys))
    const now = Date.now()
    return keys.map((key, i) => {
      const buffer = stored[i]
      return buffer === null || buffer === undefined ? undefined : liveEntry(namespace, key, buffer, now)
    })
  }

  /**
   * Writes the entry, its tag memberships and its index member in one script, replacing the entry
   * under its key (and dropping the replaced entry's tags). Redis expires it `staleUntil - now` ms
   * from now, a relative ttl, so that a Redis clock set apart from ours does not shorten or stretch
   * it. An entry already dead (`staleUntil <= now`) removes the one under its key and stores nothing.
   * @throws InvalidValueError when `entry.payload` is missing and the value cannot be encoded
   */
  async set(entry: Entry): Promise<void> {
    const base = this.layout.base(entry.namespace)
    const tags = entry.tags.length > 1 ? [...new Set(entry.tags)] : entry.tags
    const record = encodeRecord({ ...entry, tags }, entry.payload ?? encodeValue(entry.value))
    const registered = this.registry.sequence
    const ttlMs = Math.ceil(entry.staleUntil - Date.now())
    const keys = [this.layout.entry(base, entry.key), this.layout.index(base), ...tags.map((tag) => this.layout.tag(base, tag))]
    const setGet = record.byteLength <= SET_GET_MAX_BYTES ? '1' : '0'
    const write = this.script('set', SET_SCRIPT, keys, [base, entry.key, ttlMs, record, setGet, ...tags]).then((created) =>
      // A new index means a namespace new to Redis (or Redis came back empty): register it for sure,
      // unless this very call already did.
      Number(created) === 1 ? this.registry.ensure(entry.namespace, entry.staleUntil, registered) : undefined,
    )
    if (ttlMs <= 0) {
      await write
      return
    }
    // Registered before the write is acknowledged, so that a delete on every namespace that starts
    // after this set resolves reaches the entry.
    await Promise.all([write, this.registry.ensure(entry.namespace, entry.staleUntil)])
  }

  /** {@link Tier.rewrite}: one script comparing the whole stored record, so that any newer write wins. */
  async rewrite(entry: Entry, payload: Uint8Array): Promise<boolean> {
    if (entry.payload === undefined) return false
    const entryKey = this.layout.entry(this.layout.base(entry.namespace), entry.key)
    const expected = encodeRecord(entry, entry.payload)
    const replaced = await this.script('rewrite', REWRITE_SCRIPT, [entryKey], [expected, encodeRecord(entry, payload)])
    return Number(replaced) === 1
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const base = this.layout.base(namespace)
    const removed = await this.script('delete', DELETE_SCRIPT, [this.layout.entry(base, key), this.layout.index(base)], [base, key])
    return Number(removed) === 1
  }

  /**
   * Atomic within a namespace (one script). Without a namespace, runs on every registered namespace,
   * several at once: not atomic across namespaces, so an entry written meanwhile in a namespace
   * already done survives, as if written just after.
   */
  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    if (tags.length === 0) return 0
    const unique = [...new Set(tags)]
    const counts = await this.onNamespaces(namespace, async (ns) => {
      const base = this.layout.base(ns)
      const keys = [this.layout.index(base), ...unique.map((tag) => this.layout.tag(base, tag))]
      return Number(await this.script('deleteByTags', DELETE_BY_TAGS_SCRIPT, keys, [base, ...unique]))
    })
    return counts.reduce((sum, count) => sum + count, 0)
  }

  /**
   * Removes the namespace's entries {@link CLEAR_BATCH_SIZE} at a time (each batch atomic), or every
   * registered namespace's. Entries written while it runs may survive.
   */
  async clear(namespace?: string): Promise<void> {
    await this.onNamespaces(namespace, async (ns) => {
      const base = this.layout.base(ns)
      const index = this.layout.index(base)
      for (;;) {
        const removed = Number(await this.script('clear', CLEAR_BATCH_SCRIPT, [index], [base, CLEAR_BATCH_SIZE]))
        if (removed < CLEAR_BATCH_SIZE) return 0
      }
    })
  }

  /** Clears, as {@link clear} does, every registered namespace starting with `prefix`. */
  async clearPrefix(prefix: string): Promise<void> {
    for (const namespace of await this.namespaces(prefix)) await this.clear(namespace)
  }

  /** The registered namespaces starting with `prefix` (see registry.ts) whose key index is not empty, sorted. */
  async namespaces(prefix: string): Promise<string[]> {
    const registered = (await this.registry.list()).filter((namespace) => namespace.startsWith(prefix)).sort()
    const counts = await Promise.all(registered.map((namespace) => this.count(namespace)))
    return registered.filter((_, i) => (counts[i] ?? 0) > 0)
  }

  /**
   * {@link Tier.keys} in the byte order of the keys' UTF-8 encoding (ZRANGEBYLEX on a score-0 ZSET,
   * memcmp order), the same order as the SQL tiers. Index members whose entry has expired are skipped
   * and removed on the way; each script examines at most {@link KEYS_SCAN_BUDGET} of them, so a page
   * behind many expired keys takes several calls.
   *
   * A key expires in Redis at its writer's `staleUntil` give or take the network delay of its write,
   * so a key listed within a millisecond or so of its `staleUntil` may already be dead for `get`.
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    const base = this.layout.base(namespace)
    const index = this.layout.index(base)
    const limit = Math.floor(page.limit)
    const found: string[] = []
    let start = page.after === undefined ? '-' : `(${page.after}`
    while (found.length < limit) {
      const reply = (await this.script('keys', KEYS_SCRIPT, [index], [base, start, limit - found.length, KEYS_SCAN_BUDGET])) as [
        number,
        string,
        ...string[],
      ]
      const [exhausted, last, ...keys] = reply
      found.push(...keys)
      if (Number(exhausted) === 1) break
      start = `(${last}`
    }
    return found
  }

  /**
   * Members of the namespace's key index (ZCARD), or the sum over every registered namespace. Counts
   * entries expired since the last pruning too, as the contract allows; pruning on writes keeps them
   * at most about as many as live ones.
   */
  async count(namespace?: string): Promise<number> {
    const counts = await this.onNamespaces(namespace, (ns) => {
      const index = this.layout.index(this.layout.base(ns))
      // Number(): a client created with `stringNumbers` answers integers as strings.
      return this.run('count', async (client) => Number(await client.zcard(index)))
    })
    return counts.reduce((sum, count) => sum + count, 0)
  }

  /** Closes the client if the tier created it; a passed-in client stays open. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.connections.release()
    return this.closing
  }

  /**
   * Runs one command within the tier's timeout.
   * @throws CacheClosedError after {@link close}
   * @throws TierUnavailableError when the command fails, times out or Redis is not connected
   * @throws the command's own TiercacheError (e.g. CorruptEntryError) unchanged
   */
  private readonly run: RunCommand = (what, command) => {
    if (this.closing !== undefined) return Promise.reject(new CacheClosedError('redis tier is closed'))
    return this.connections.run(what, this.timeoutMs, command)
  }

  private script(what: string, script: LuaScript, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    return this.run(what, (client) => runScript(client, script, keys, args))
  }

  /** Runs `work` on `namespace`, or on every registered namespace, {@link NAMESPACE_CONCURRENCY} at a time. */
  private async onNamespaces(namespace: string | undefined, work: (namespace: string) => Promise<number>): Promise<number[]> {
    if (namespace !== undefined) return [await work(namespace)]
    const namespaces = await this.registry.list()
    const results: number[] = []
    for (let i = 0; i < namespaces.length; i += NAMESPACE_CONCURRENCY) {
      results.push(...(await Promise.all(namespaces.slice(i, i + NAMESPACE_CONCURRENCY).map(work))))
    }
    return results
  }
}

/** The entry in `stored`, or undefined when it is dead by our clock. @throws CorruptEntryError */
function liveEntry(namespace: string, key: string, stored: Buffer, now: number): Entry | undefined {
  const record = decodeRecord(namespace, key, stored)
  return record.staleUntil <= now ? undefined : entryFromRecord(record)
}

/**
 * Creates a Redis tier. With a URL, the tier creates its client, which connects at once (calls made
 * before it is up wait for it, within `commandTimeoutMs`); this function itself never waits.
 *
 * @throws InvalidOptionsError when the options are invalid (the message names the fields, never
 *   their values: a URL may hold a password), or the given client has a `keyPrefix`
 * @throws CacheClosedError when given RedisConnections that are closed
 */
export function createRedisTier(options: RedisTierOptions): RedisTier {
  const parsed = parseOptions(optionsSchema, options, 'Redis tier')
  const { connection } = parsed
  // ioredis prefixes the keys it is given, not those a Lua script builds: the two would disagree.
  if (typeof connection !== 'string' && hasKeyPrefix(connection instanceof RedisConnections ? connection.command : connection)) {
    throw new InvalidOptionsError('invalid Redis tier options: connection: a client with a keyPrefix cannot be used; use the tier\'s prefix option')
  }
  const connections = connectionsFor(connection, { commandTimeoutMs: parsed.commandTimeoutMs })
  return new RedisTier(connections, parsed.prefix, parsed.commandTimeoutMs)
}

function hasKeyPrefix(client: Redis | Cluster): boolean {
  const options = client.options as { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } }
  return Boolean(options.keyPrefix) || Boolean(options.redisOptions?.keyPrefix)
}
