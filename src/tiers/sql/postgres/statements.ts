import type { EntryRow, SqlStatements } from '../core.js'
import type { RenewingPool } from './pool.js'

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * The SQL tier's statements on PostgreSQL: the prepared statements of `queries.ts`, run on the
 * {@link RenewingPool}. Reads and removals run once more on a fresh pool when their connection was
 * lost (a late read or removal is harmless); writes do not, lest a late one overwrite a newer value.
 */
export function postgresStatements(pool: RenewingPool): SqlStatements {
  return {
    get: async (namespace, key) => {
      const [row] = await pool.run((q) => q.get.execute({ namespace, key }), true)
      return row satisfies EntryRow | undefined
    },
    getMany: (namespace, keys) => pool.run((q) => q.getMany.execute({ namespace, keys }), true),
    deleteExpired: (namespace, key, now) => pool.run((q) => q.deleteExpired.execute({ namespace, key, now }), true),
    deleteManyExpired: (namespace, keys, now) => pool.run((q) => q.deleteManyExpired.execute({ namespace, keys, now }), true),
    upsert: (row) => pool.run((q) => q.upsert.execute({ ...row }), false),
    rewrite: async (namespace, key, payload, expected) => {
      const params = { namespace, key, payload: toBuffer(payload), expected: toBuffer(expected) }
      return (await pool.run((q) => q.rewrite.execute(params), false)).length > 0
    },
    delete: async (namespace, key) => (await pool.run((q) => q.delete.execute({ namespace, key }), true)).count,
    deleteByTags: async (tags, namespace) => {
      const result = await pool.run(
        (q) => (namespace === undefined ? q.deleteByTagsEverywhere.execute({ tags }) : q.deleteByTagsInNamespace.execute({ namespace, tags })),
        true,
      )
      return result.count
    },
    clear: (namespace) => pool.run((q) => (namespace === undefined ? q.clearAll.execute() : q.clearNamespace.execute({ namespace })), true),
    clearRange: (start, end) => pool.run((q) => q.clearRange.execute({ start, end }), true),
    namespacesInRange: async (start, end) => (await pool.run((q) => q.namespacesInRange.execute({ start, end }), true)).map((row) => row.namespace),
    keys: async (namespace, after, now, limit) => {
      const rows = await pool.run(
        (q) => (after === undefined ? q.keysFirst.execute({ namespace, now, limit }) : q.keysAfter.execute({ namespace, after, now, limit })),
        true,
      )
      return rows.map((row) => row.key)
    },
    count: async (namespace) => {
      const [row] = await pool.run((q) => (namespace === undefined ? q.countAll.execute() : q.countNamespace.execute({ namespace })), true)
      return row?.count ?? 0
    },
    usage: async (namespaces) => {
      const [row] = await pool.run((q) => q.usage.execute({ namespaces }), true)
      // sum() of bigints is numeric, which postgres.js reads as a string.
      return { entries: row?.entries ?? 0, bytes: Number(row?.bytes ?? 0) }
    },
    cleanupBatch: async (now, limit) => (await pool.run((q) => q.cleanupBatch.execute({ now, limit }), false)).count,
  }
}
