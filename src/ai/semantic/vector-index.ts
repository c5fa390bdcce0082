import { InvalidOptionsError } from '../../errors.js'
import { type Neighbour, type VectorRecord, TopK, checkK, checkName, dot, unitCopy } from './vectors.js'

/**
 * Where the semantic layer keeps the vectors of cached answers, by partition. A partition (the
 * caller's hash of tenant, user, model, cache type and every part of the request but the text
 * embedded) is a world of its own: `nearest` searches one partition only, so two partitions never
 * see each other's vectors, however alike.
 *
 * Similarity is cosine similarity, in [-1, 1]; every index here is exact (a full scan of the
 * partition, no approximation), and normalises vectors as it stores them. All vectors of a partition
 * have one length.
 */
export interface VectorIndex {
  /**
   * Stores `record` in `partition`, replacing a record of the same id.
   * @throws InvalidKeyError (`TC_INVALID_KEY`) for a partition or id that is not a string of 1 to 1024 characters
   * @throws InvalidValueError (`TC_INVALID_VALUE`) for a vector that is empty, not finite, or of another length than the partition's
   */
  add(partition: string, record: VectorRecord): Promise<void>
  /** As {@link add}, for many records at once (one transaction in the SQL indexes). */
  addMany(partition: string, records: readonly VectorRecord[]): Promise<void>
  /**
   * The `k` records of `partition` most similar to `vector`, most similar first; `[]` for an empty
   * or unknown partition.
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for k not an integer from 1 to 1000
   * @throws InvalidValueError (`TC_INVALID_VALUE`) for a vector of another length than the partition's
   */
  nearest(partition: string, vector: Float32Array, k: number): Promise<Neighbour[]>
  /** Removes the record `id` of `partition`; nothing when there is none. */
  remove(partition: string, id: string): Promise<void>
  /** Removes every record of `partition`, or of every partition when none is given. */
  clear(partition?: string): Promise<void>
  /** The number of records in `partition`, or in all of them. */
  size(partition?: string): Promise<number>
  /** Releases what the index holds; a database handed to it stays open (it is the caller's). */
  close(): Promise<void>
}

/** Options of {@link memoryVectorIndex}. */
export interface MemoryVectorIndexOptions {
  /** Records kept over all partitions; adding one more evicts the oldest added (or replaced). @default 10000 */
  readonly maxEntries?: number
}

/** One partition's vectors: `dimensions` floats per slot, contiguous, slots 0..ids.length-1 in use. */
interface Shelf {
  readonly dimensions: number
  data: Float32Array
  readonly ids: string[]
  readonly slotOf: Map<string, number>
}

const SEPARATOR = '\u0000'

/**
 * A {@link VectorIndex} in process memory, for L1: per partition, the vectors side by side in one
 * `Float32Array` (grown by doubling) and an exact scan of them, about 0.4 ms per thousand
 * vectors of 512 dimensions. Beyond `maxEntries` records (over all partitions) the oldest added is
 * evicted. Nothing survives a restart; see `sqliteVectorIndex` and `postgresVectorIndex` for that.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for maxEntries not a positive integer
 */
export function memoryVectorIndex(options: MemoryVectorIndexOptions = {}): VectorIndex {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InvalidOptionsError('memoryVectorIndex: maxEntries must be a positive integer')
  const shelves = new Map<string, Shelf>()
  // Insertion order of `partition \0 id`: the first key is the oldest record.
  const age = new Map<string, readonly [string, string]>()

  const removeOne = (partition: string, id: string): void => {
    const shelf = shelves.get(partition)
    const slot = shelf?.slotOf.get(id)
    if (shelf === undefined || slot === undefined) return
    age.delete(partition + SEPARATOR + id)
    const last = shelf.ids.length - 1
    // Fill the hole with the last slot, so that the used slots stay contiguous.
    if (slot !== last) {
      const lastId = shelf.ids[last] as string
      shelf.data.copyWithin(slot * shelf.dimensions, last * shelf.dimensions, (last + 1) * shelf.dimensions)
      shelf.ids[slot] = lastId
      shelf.slotOf.set(lastId, slot)
    }
    shelf.ids.pop()
    shelf.slotOf.delete(id)
    if (shelf.ids.length === 0) shelves.delete(partition)
  }

  const addOne = (partition: string, record: VectorRecord): void => {
    checkName(partition, 'partition')
    checkName(record.id, 'id')
    let shelf = shelves.get(partition)
    const vector = unitCopy(record.vector, shelf?.dimensions)
    if (shelf === undefined) {
      shelf = { dimensions: vector.length, data: new Float32Array(vector.length * 16), ids: [], slotOf: new Map() }
      shelves.set(partition, shelf)
    }
    const ageKey = partition + SEPARATOR + record.id
    let slot = shelf.slotOf.get(record.id)
    if (slot === undefined) {
      slot = shelf.ids.length
      if ((slot + 1) * shelf.dimensions > shelf.data.length) {
        const grown = new Float32Array(shelf.data.length * 2)
        grown.set(shelf.data)
        shelf.data = grown
      }
      shelf.ids.push(record.id)
      shelf.slotOf.set(record.id, slot)
    }
    shelf.data.set(vector, slot * shelf.dimensions)
    age.delete(ageKey)
    age.set(ageKey, [partition, record.id])
    while (age.size > maxEntries) {
      const oldest = age.values().next().value as readonly [string, string]
      removeOne(oldest[0], oldest[1])
    }
  }

  return {
    async add(partition, record) {
      addOne(partition, record)
    },
    async addMany(partition, records) {
      for (const record of records) addOne(partition, record)
    },
    async nearest(partition, vector, k) {
      checkName(partition, 'partition')
      checkK(k)
      const shelf = shelves.get(partition)
      if (shelf === undefined) return []
      const query = unitCopy(vector, shelf.dimensions)
      const top = new TopK(k)
      const { data, ids, dimensions } = shelf
      for (let slot = 0; slot < ids.length; slot++) top.offer(ids[slot] as string, dot(query, data, slot * dimensions))
      return top.result()
    },
    async remove(partition, id) {
      removeOne(partition, id)
    },
    async clear(partition) {
      if (partition === undefined) {
        shelves.clear()
        age.clear()
        return
      }
      const shelf = shelves.get(partition)
      for (const id of [...(shelf?.ids ?? [])]) removeOne(partition, id)
    },
    async size(partition) {
      return partition === undefined ? age.size : (shelves.get(partition)?.ids.length ?? 0)
    },
    async close() {
      shelves.clear()
      age.clear()
    },
  }
}
