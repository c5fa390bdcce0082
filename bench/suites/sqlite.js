// Suite 2: the SQLite tier against the other libraries' SQLite stores, tier to tier (no memory
// layer in front of any of them), each on its own file in a temp folder.
import { join } from 'node:path'
import KeyvSqlite from '@keyv/sqlite'
import { BentoCache, bentostore } from 'bentocache'
import { knexDriver } from 'bentocache/drivers/knex'
import { createCache as createCacheManager } from 'cache-manager'
import knex from 'knex'
import Keyv from 'keyv'
import { createSqliteTier } from '../../dist/tiers/sql/sqlite/index.js'
import { tempDir } from '../lib/fixtures.js'
import { TTL_MS, bentoStore, compareStores, managerStore, tierStore } from '../lib/stores.js'

// tiercache opens its file with these; the others get the same, so that the rows compare the
// libraries and not SQLite's durability settings (the default, a rollback journal with
// synchronous = FULL, fsyncs on every write).
const PRAGMAS = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL']

export default {
  name: 'sqlite',
  title: 'SQLite tier: get and set, no memory tier (10k keys, ~200-byte value)',
  async run(timing) {
    const dir = tempDir('sqlite')
    const closers = []
    try {
      const tier = createSqliteTier({ path: join(dir.path, 'tiercache.db'), cleanupIntervalMs: 0 })
      closers.push(() => tier.close())

      // bentocache's database driver through knex on better-sqlite3 (the same SQLite binding as
      // tiercache), as its only layer (L2).
      const db = knex({
        client: 'better-sqlite3',
        connection: { filename: join(dir.path, 'bentocache.db') },
        useNullAsDefault: true,
        pool: {
          afterCreate: (conn, done) => {
            for (const pragma of PRAGMAS) conn.exec(pragma)
            done(null, conn)
          },
        },
      })
      const bento = new BentoCache({
        default: 'sqlite',
        stores: { sqlite: bentostore().useL2Layer(knexDriver({ connection: db, pruneInterval: false })) },
      })
      closers.push(() => bento.disconnectAll())

      // cache-manager over Keyv over @keyv/sqlite (which uses the sqlite3 package).
      const keyvSqlite = new KeyvSqlite({ uri: `sqlite://${join(dir.path, 'keyv.db')}` })
      for (const pragma of PRAGMAS) await keyvSqlite.query(pragma)
      const manager = createCacheManager({ stores: [new Keyv({ store: keyvSqlite })], ttl: TTL_MS })
      closers.push(() => manager.disconnect())

      return await compareStores([tierStore(tier, 'bench'), bentoStore(bento), managerStore(manager)], timing, 1)
    } finally {
      // Close everything (even if one close fails) before deleting the files under them.
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined)
      dir.remove()
    }
  },
}
