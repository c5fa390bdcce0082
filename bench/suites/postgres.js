// Suite 3: the PostgreSQL tier against the other libraries' PostgreSQL stores, tier to tier, in a
// scratch database of this run (see openScratchDatabase), each library in its own table. Skipped
// with a note when PostgreSQL cannot be reached.
import { URL } from 'node:url'
import KeyvPostgres from '@keyv/postgres'
import { BentoCache, bentostore } from 'bentocache'
import { knexDriver } from 'bentocache/drivers/knex'
import { createCache as createCacheManager } from 'cache-manager'
import knex from 'knex'
import Keyv from 'keyv'
import postgres from 'postgres'
import { createPostgresTier } from '../../dist/tiers/sql/postgres/index.js'
import { POSTGRES_URL, RUN_ID, probePostgres, redact } from '../lib/fixtures.js'
import { TTL_MS, bentoStore, compareStores, managerStore, tierStore } from '../lib/stores.js'

// Writes in flight while filling 3 × 10k keys: seconds instead of tens of seconds, within every
// library's default pool size (10).
const FILL_CONCURRENCY = 8

export default {
  name: 'postgres',
  title: 'PostgreSQL tier: get and set, no memory tier (10k keys, ~200-byte value)',
  async run(timing) {
    const unreachable = await probePostgres(POSTGRES_URL)
    if (unreachable !== undefined) {
      return {
        rows: [],
        notes: [`skipped: PostgreSQL at ${redact(POSTGRES_URL)} is unreachable (${unreachable}); set BENCH_POSTGRES_URL.`],
      }
    }

    const scratch = await openScratchDatabase()
    const namespace = `bench_${RUN_ID}`
    const bentoTable = `bench_bentocache_${RUN_ID}`
    const keyvTable = `bench_keyv_${RUN_ID}`
    const closers = []
    try {
      // In a shared database, tiercache's table may hold others' rows: the namespace keeps ours
      // apart, and cleanup clears that namespace only.
      const tier = await createPostgresTier({ url: scratch.url, cleanupIntervalMs: 0 })
      closers.push(async () => {
        await tier.clear(namespace)
        await tier.close()
      })

      const bento = new BentoCache({
        default: 'postgres',
        stores: {
          postgres: bentostore().useL2Layer(
            knexDriver({ connection: knex({ client: 'pg', connection: scratch.url }), tableName: bentoTable, pruneInterval: false }),
          ),
        },
      })
      closers.push(() => bento.disconnectAll())

      const manager = createCacheManager({
        stores: [new Keyv({ store: new KeyvPostgres({ uri: scratch.url, table: keyvTable }) })],
        ttl: TTL_MS,
      })
      closers.push(() => manager.disconnect())

      const { rows, notes } = await compareStores(
        [tierStore(tier, namespace), bentoStore(bento), managerStore(manager)],
        timing,
        FILL_CONCURRENCY,
      )
      return { rows, notes: [...notes, scratch.note] }
    } finally {
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined)
      await scratch.drop([bentoTable, keyvTable])
    }
  },
}

/**
 * A database of this run's own, created next to the one in BENCH_POSTGRES_URL and dropped at the
 * end, so that nothing else using that database (the test suite drops and clears tiercache's table)
 * can empty ours mid-run. Without the right to create databases, falls back to BENCH_POSTGRES_URL's
 * own database, where `drop` removes this run's tables instead.
 */
async function openScratchDatabase() {
  const name = `tiercache_bench_${RUN_ID}`
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} })
  try {
    await admin`create database ${admin(name)}`
  } catch (error) {
    await admin.end({ timeout: 1 })
    return {
      url: POSTGRES_URL,
      note: `note: ran in ${redact(POSTGRES_URL)} itself (cannot create a scratch database: ${error.message}); others using it may disturb the rows.`,
      drop: (tables) => dropTables(POSTGRES_URL, tables),
    }
  }
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    note: `note: ran in a scratch database ${name} (dropped afterwards) on ${url.host}.`,
    drop: async () => {
      try {
        // WITH (FORCE) (PostgreSQL 13+) ends a connection some library failed to close.
        await admin`drop database if exists ${admin(name)} with (force)`
      } finally {
        await admin.end({ timeout: 1 })
      }
    },
  }
}

/** Drops `tables` of this run from the database at `url`. */
async function dropTables(url, tables) {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    for (const table of tables) await sql`drop table if exists ${sql(table)}`
  } finally {
    await sql.end({ timeout: 1 })
  }
}
