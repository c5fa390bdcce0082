import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresVectorIndex } from '../../../src/ai/semantic/postgres-index.js'
import { sqliteVectorIndex } from '../../../src/ai/semantic/sqlite-index.js'
import { type VectorIndex, memoryVectorIndex } from '../../../src/ai/semantic/vector-index.js'
import { InvalidKeyError, InvalidOptionsError, InvalidValueError, TierUnavailableError } from '../../../src/errors.js'
import { openAdminClient } from '../../helpers/postgres.js'

const v = (...xs: number[]) => Float32Array.from(xs)

/** A seeded unit vector of `n` dimensions (xorshift32). */
function randomUnit(seed: number, n = 64): Float32Array {
  let s = seed * 2654435761 || 1
  const out = new Float32Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1
    sum += (out[i] as number) ** 2
  }
  return out.map((x) => x / Math.sqrt(sum))
}

interface Backend {
  open(): Promise<VectorIndex>
  /** A second index on the same storage, as after a restart (persistent indexes only). */
  reopen?(): Promise<VectorIndex>
  done(): Promise<void>
}

function runIndexSuite(name: string, backend: () => Backend): void {
  describe(`${name} vector index`, () => {
    let b: Backend
    let index: VectorIndex
    beforeAll(async () => {
      b = backend()
      index = await b.open()
    })
    afterAll(async () => {
      await index.close()
      await b.done()
    })

    it('finds the nearest records by cosine similarity, most similar first, k at most', async () => {
      await index.clear()
      await index.add('p', { id: 'east', vector: v(1, 0, 0) })
      await index.add('p', { id: 'north', vector: v(0, 3, 0) })
      await index.add('p', { id: 'northeast', vector: v(1, 1, 0) })
      const found = await index.nearest('p', v(2, 0.1, 0), 2)
      expect(found.map((n) => n.id)).toEqual(['east', 'northeast'])
      expect(found[0]?.similarity).toBeCloseTo(2 / Math.sqrt(4.01), 5)
      expect(found[1]?.similarity).toBeCloseTo(2.1 / Math.sqrt(4.01) / Math.sqrt(2), 5)
      const all = await index.nearest('p', v(0, 1, 0), 10)
      expect(all.map((n) => n.id)).toEqual(['north', 'northeast', 'east'])
      expect(all[0]?.similarity).toBeCloseTo(1, 6)
      expect(all[2]?.similarity).toBeCloseTo(0, 6)
      expect(await index.size('p')).toBe(3)
    })

    it('replaces a record of the same id, and removes one', async () => {
      await index.clear()
      await index.add('p', { id: 'a', vector: v(1, 0) })
      await index.add('p', { id: 'a', vector: v(0, 1) })
      expect(await index.size('p')).toBe(1)
      expect((await index.nearest('p', v(0, 1), 1))[0]).toEqual({ id: 'a', similarity: expect.closeTo(1, 6) as number })
      await index.add('p', { id: 'b', vector: v(1, 1) })
      await index.remove('p', 'a')
      await index.remove('p', 'never-there')
      expect((await index.nearest('p', v(0, 1), 5)).map((n) => n.id)).toEqual(['b'])
    })

    it('never lets one partition see another, even with identical vectors', async () => {
      await index.clear()
      await index.add('tenant-a', { id: 'shared-id', vector: v(1, 2, 3) })
      await index.add('tenant-b', { id: 'shared-id', vector: v(1, 2, 3) })
      await index.add('tenant-b', { id: 'only-b', vector: v(1, 2, 3) })
      expect((await index.nearest('tenant-a', v(1, 2, 3), 10)).map((n) => n.id)).toEqual(['shared-id'])
      expect((await index.nearest('tenant-b', v(1, 2, 3), 10)).map((n) => n.id).sort()).toEqual(['only-b', 'shared-id'])
      expect(await index.nearest('tenant-c', v(1, 2, 3), 10)).toEqual([])
      await index.remove('tenant-a', 'shared-id')
      expect(await index.nearest('tenant-a', v(1, 2, 3), 10)).toEqual([])
      expect(await index.size('tenant-b')).toBe(2)
      await index.clear('tenant-b')
      expect(await index.size()).toBe(0)
    })

    it('keeps a partition to one vector length, and checks its arguments', async () => {
      await index.clear()
      await index.add('p', { id: 'a', vector: v(1, 0, 0) })
      await expect(index.add('p', { id: 'b', vector: v(1, 0) })).rejects.toThrow(InvalidValueError)
      await expect(index.nearest('p', v(1, 0), 1)).rejects.toThrow(InvalidValueError)
      await expect(index.add('p', { id: 'c', vector: v(1, NaN, 0) })).rejects.toThrow(InvalidValueError)
      await expect(index.add('p', { id: 'd', vector: new Float32Array(0) })).rejects.toThrow(InvalidValueError)
      await expect(index.add('', { id: 'a', vector: v(1) })).rejects.toThrow(InvalidKeyError)
      await expect(index.add('p', { id: '', vector: v(1, 0, 0) })).rejects.toThrow(InvalidKeyError)
      await expect(index.nearest('p', v(1, 0, 0), 0)).rejects.toThrow(InvalidOptionsError)
      await expect(index.nearest('p', v(1, 0, 0), 1.5)).rejects.toThrow(InvalidOptionsError)
      // Another partition has its own length.
      await index.add('q', { id: 'a', vector: v(1, 0) })
      expect(await index.size()).toBe(2)
    })

    it('adds many at once and scans exactly: the true nearest of 2,000 random vectors', async () => {
      await index.clear()
      const records = Array.from({ length: 2000 }, (_, i) => ({ id: `r${i}`, vector: randomUnit(i + 1) }))
      await index.addMany('big', records)
      expect(await index.size('big')).toBe(2000)
      const query = randomUnit(99_999)
      const expected = records
        .map((r) => ({ id: r.id, similarity: r.vector.reduce((sum, x, i) => sum + x * (query[i] as number), 0) }))
        .sort((x, y) => y.similarity - x.similarity)
        .slice(0, 5)
      const found = await index.nearest('big', query, 5)
      expect(found.map((n) => n.id)).toEqual(expected.map((n) => n.id))
      found.forEach((n, i) => expect(n.similarity).toBeCloseTo(expected[i]?.similarity as number, 5))
      // A record finds itself first.
      expect((await index.nearest('big', records[1234]?.vector as Float32Array, 1))[0]?.id).toBe('r1234')
    })

    it.runIf(backend().reopen !== undefined)('keeps its records across a reopen', async () => {
      await index.clear()
      await index.addMany('p', [
        { id: 'a', vector: v(1, 0) },
        { id: 'b', vector: v(0, 1) },
      ])
      const again = await (b.reopen as () => Promise<VectorIndex>)()
      expect((await again.nearest('p', v(0.1, 1), 2)).map((n) => n.id)).toEqual(['b', 'a'])
      await again.close()
    })
  })
}

runIndexSuite('memory', () => ({ open: async () => memoryVectorIndex(), done: async () => {} }))

describe('memory vector index eviction', () => {
  it('evicts the oldest records beyond maxEntries, over all partitions', async () => {
    const index = memoryVectorIndex({ maxEntries: 3 })
    await index.add('p', { id: 'a', vector: v(1, 0) })
    await index.add('q', { id: 'b', vector: v(1, 0) })
    await index.add('p', { id: 'c', vector: v(1, 0) })
    // Re-adding makes a record young again.
    await index.add('p', { id: 'a', vector: v(1, 0) })
    await index.add('q', { id: 'd', vector: v(1, 0) })
    expect(await index.size()).toBe(3)
    expect((await index.nearest('q', v(1, 0), 10)).map((n) => n.id)).toEqual(['d'])
    expect((await index.nearest('p', v(1, 0), 10)).map((n) => n.id).sort()).toEqual(['a', 'c'])
    expect(() => memoryVectorIndex({ maxEntries: 0 })).toThrow(InvalidOptionsError)
  })
})

const dir = mkdtempSync(join(tmpdir(), 'tiercache-semantic-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

runIndexSuite('sqlite', () => {
  const file = join(dir, 'vectors.db')
  const opened: Database.Database[] = []
  const open = async () => {
    const database = new Database(file)
    database.pragma('journal_mode = WAL')
    opened.push(database)
    return sqliteVectorIndex({ database })
  }
  return {
    open,
    reopen: open,
    done: async () => {
      for (const database of opened) database.close()
    },
  }
})

describe('sqlite vector index options', () => {
  it('refuses a table name that is not an identifier, and stores in the table named', () => {
    const database = new Database(':memory:')
    expect(() => sqliteVectorIndex({ database, table: 'x; drop table y' })).toThrow(InvalidOptionsError)
    sqliteVectorIndex({ database, table: 'my_vectors' })
    expect(database.prepare("select name from sqlite_master where type = 'table'").pluck().all()).toEqual(['my_vectors'])
    database.close()
  })
})

// A schema of this run's own, so that parallel runs never share a table; dropped after.
const schema = `tiercache_semantic_${process.pid}_${Date.now().toString(36)}`

runIndexSuite('postgres', () => {
  const clients: Sql[] = []
  const open = async () => {
    const sql = openAdminClient()
    clients.push(sql)
    if (clients.length === 1) await sql.unsafe(`create schema "${schema}"`)
    return postgresVectorIndex({ sql, table: `${schema}.tiercache_ai_vectors`, scanBatch: 300 })
  }
  return {
    open,
    reopen: open,
    done: async () => {
      await clients[0]?.unsafe(`drop schema if exists "${schema}" cascade`)
      for (const sql of clients) await sql.end()
    },
  }
})

describe('postgres vector index failures', () => {
  it('refuses bad table names, and throws TierUnavailableError when PostgreSQL fails', async () => {
    const sql = openAdminClient()
    try {
      expect(() => postgresVectorIndex({ sql, table: 'a.b.c' })).toThrow(InvalidOptionsError)
      expect(() => postgresVectorIndex({ sql, table: 'x"; drop' })).toThrow(InvalidOptionsError)
      // A schema that does not exist: the table cannot be created.
      const index = postgresVectorIndex({ sql, table: `${schema}_absent.vectors` })
      await expect(index.add('p', { id: 'a', vector: v(1) })).rejects.toThrow(TierUnavailableError)
      await expect(index.nearest('p', v(1), 1)).rejects.toThrow(TierUnavailableError)
    } finally {
      await sql.end()
    }
  })
})
