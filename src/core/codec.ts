import { Packr } from 'msgpackr'
import { CorruptEntryError, InvalidValueError } from '../errors.js'
import type { Entry } from './entry.js'

// Records keep plain objects apart from Maps (mapsAsObjects: false), structuredClone keeps Set, Date,
// typed arrays and cycles, and the BigInt extension keeps any bigint. Each payload is self-contained:
// no shared structures are persisted, so any process can decode any payload.
const packr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  structuredClone: true,
  moreTypes: true,
  useBigIntExtension: true,
})

/** First byte of a sealed (encrypted) payload, see sealing.ts: msgpack's never-used format byte. */
export const SEALED_MARK = 0xc1

/** The value of an entry read from a tier while still sealed; only the stack ever sees it. */
export const SEALED: unique symbol = Symbol('tiercache.sealed')

/** True when `payload` is sealed. */
export function isSealed(payload: Uint8Array): boolean {
  return payload[0] === SEALED_MARK
}

/**
 * Encodes a value to msgpack bytes.
 * @throws InvalidValueError (`TC_INVALID_VALUE`) for `undefined`, a function or a symbol, and values
 *   msgpack cannot represent. Functions and symbols nested in objects are dropped, as in JSON.
 */
export function encodeValue(value: unknown): Uint8Array {
  if (value === undefined) throw new InvalidValueError('undefined cannot be cached; use null for an empty value')
  // msgpack has no function or symbol type; nested ones are dropped, as JSON drops them.
  if (typeof value === 'function' || typeof value === 'symbol') throw new InvalidValueError(`a ${typeof value} cannot be cached`)
  try {
    return packr.pack(value)
  } catch (cause) {
    throw new InvalidValueError('value is not serializable', { cause })
  }
}

/** @throws CorruptEntryError (`TC_CORRUPT_ENTRY`) when the bytes are not a valid payload */
export function decodeValue(payload: Uint8Array): unknown {
  try {
    return packr.unpack(payload)
  } catch (cause) {
    throw new CorruptEntryError('stored payload cannot be decoded', { cause })
  }
}

/** The stored fields of an entry, as shared tiers persist them. */
export interface StoredRecord {
  readonly namespace: string
  readonly key: string
  readonly payload: Uint8Array
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
  readonly tags: readonly string[]
}

/**
 * Builds an {@link Entry} from stored fields, decoding the payload; a sealed payload (see sealing.ts)
 * is left for the stack to open, with `SEALED` as value. @throws CorruptEntryError
 */
export function entryFromRecord(record: StoredRecord): Entry {
  return {
    namespace: record.namespace,
    key: record.key,
    value: isSealed(record.payload) ? SEALED : decodeValue(record.payload),
    size: record.payload.byteLength,
    createdAt: record.createdAt,
    freshUntil: record.freshUntil,
    staleUntil: record.staleUntil,
    tags: record.tags,
    payload: record.payload,
  }
}
