import { endianness } from 'node:os'
import { InvalidKeyError, InvalidOptionsError, InvalidValueError } from '../../errors.js'

/** An entry's vector as a {@link VectorIndex} stores it: its id (the cache entry it stands for) and its embedding. */
export interface VectorRecord {
  /** The id of the cached answer (the caller's storage key, say); 1 to 1024 characters. */
  readonly id: string
  /** The embedding: finite numbers, any length from 1 to 65536 (the same within a partition). */
  readonly vector: Float32Array
}

/** A neighbour found by {@link VectorIndex.nearest}: an entry's id and its cosine similarity to the query, in [-1, 1]. */
export interface Neighbour {
  readonly id: string
  readonly similarity: number
}

/** The most dimensions a vector may have. */
export const MAX_DIMENSIONS = 65_536
const MAX_ID_LENGTH = 1024

/**
 * Scales `vector` in place to unit length (L2 norm 1) and returns it, so that the dot product of two
 * normalised vectors is their cosine similarity. A zero vector stays zero (its similarity to
 * anything is 0).
 * @throws InvalidValueError (`TC_INVALID_VALUE`) when a component is not finite
 */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number
    if (!Number.isFinite(x)) throw new InvalidValueError(`a vector component is not finite (index ${i})`)
    sum += x * x
  }
  if (sum === 0) return vector
  const scale = 1 / Math.sqrt(sum)
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale
  return vector
}

/**
 * The dot product of `a` and the `a.length` numbers of `b` from `offset` (the cosine similarity when
 * both are normalised). Four running sums: independent additions that the CPU overlaps.
 */
export function dot(a: Float32Array, b: Float32Array, offset = 0): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  const n = a.length
  let i = 0
  for (; i + 3 < n; i += 4) {
    const j = offset + i
    s0 += (a[i] as number) * (b[j] as number)
    s1 += (a[i + 1] as number) * (b[j + 1] as number)
    s2 += (a[i + 2] as number) * (b[j + 2] as number)
    s3 += (a[i + 3] as number) * (b[j + 3] as number)
  }
  for (; i < n; i++) s0 += (a[i] as number) * (b[offset + i] as number)
  return s0 + s1 + s2 + s3
}

/**
 * The cosine similarity of two vectors of one length, in [-1, 1]; 0 when either is zero.
 * @throws InvalidValueError (`TC_INVALID_VALUE`) when the lengths differ
 */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new InvalidValueError(`vectors of ${a.length} and ${b.length} dimensions cannot be compared`)
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    const y = b[i] as number
    ab += x * y
    aa += x * x
    bb += y * y
  }
  return aa === 0 || bb === 0 ? 0 : clampSimilarity(ab / Math.sqrt(aa * bb))
}

/** Rounding can push the dot product of unit vectors a hair past ±1. */
export function clampSimilarity(similarity: number): number {
  return similarity > 1 ? 1 : similarity < -1 ? -1 : similarity
}

/**
 * A normalised copy of `vector`, checked.
 * @throws InvalidValueError (`TC_INVALID_VALUE`) for an empty, too long or non-finite vector, or one of another length than `dimensions`
 */
export function unitCopy(vector: Float32Array, dimensions?: number): Float32Array {
  if (!(vector instanceof Float32Array)) throw new InvalidValueError('a vector must be a Float32Array')
  if (vector.length === 0 || vector.length > MAX_DIMENSIONS) throw new InvalidValueError(`a vector must have 1 to ${MAX_DIMENSIONS} dimensions, not ${vector.length}`)
  if (dimensions !== undefined && vector.length !== dimensions) {
    throw new InvalidValueError(`this partition's vectors have ${dimensions} dimensions, not ${vector.length}`)
  }
  return normalize(Float32Array.from(vector))
}

/** @throws InvalidKeyError (`TC_INVALID_KEY`) unless `value` is a string of 1 to 1024 characters */
export function checkName(value: string, what: 'partition' | 'id'): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new InvalidKeyError(`a vector ${what} must be a string of 1 to ${MAX_ID_LENGTH} characters`)
  }
}

/** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) unless `k` is an integer from 1 to 1000 */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new InvalidOptionsError(`k must be an integer from 1 to 1000, not ${String(k)}`)
}

/** The `k` best neighbours seen so far, best first (ties: the first one offered wins). */
export class TopK {
  readonly #k: number
  readonly #items: Neighbour[] = []

  constructor(k: number) {
    this.#k = k
  }

  /** The similarity a candidate must beat to enter, -Infinity while there is room. */
  get floor(): number {
    return this.#items.length < this.#k ? -Infinity : (this.#items[this.#items.length - 1] as Neighbour).similarity
  }

  offer(id: string, similarity: number): void {
    if (similarity <= this.floor) return
    const items = this.#items
    let at = items.length
    while (at > 0 && (items[at - 1] as Neighbour).similarity < similarity) at--
    items.splice(at, 0, { id, similarity: clampSimilarity(similarity) })
    if (items.length > this.#k) items.pop()
  }

  result(): Neighbour[] {
    return this.#items
  }
}

const LITTLE_ENDIAN = endianness() === 'LE'

/** A vector as bytes: float32, little-endian (the form stored in SQL BLOB/bytea columns). */
export function toBytes(vector: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)
  const bytes = Buffer.alloc(vector.byteLength)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4)
  return bytes
}

/**
 * Reads stored bytes into `into` (a scratch vector of the right length, reused across rows, so that
 * a scan allocates nothing per row) and returns it; undefined when the length does not match.
 */
export function fromBytes(bytes: Uint8Array, into: Float32Array): Float32Array | undefined {
  if (bytes.byteLength !== into.byteLength) return undefined
  if (LITTLE_ENDIAN) {
    new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(bytes)
    return into
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < into.length; i++) into[i] = view.getFloat32(i * 4, true)
  return into
}
