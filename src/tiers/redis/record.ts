/**
 * The stored form of one entry: a single binary STRING, so that a read is one GET (or one MGET for
 * many) and one buffer parse, with no per-field reply to assemble as HGETALL would give.
 *
 * ```
 * offset  size  field
 *      0     1  format version (1)
 *      1     8  createdAt   float64 big-endian, epoch ms
 *      9     8  freshUntil  float64 big-endian, epoch ms
 *     17     8  staleUntil  float64 big-endian, epoch ms
 *     25     4  T: byte length of the tag block, uint32 big-endian
 *     29     T  tag block: per tag, its UTF-8 length (uint32 big-endian) then its UTF-8 bytes
 *   29+T   ...  payload: the msgpack-encoded value, as is
 * ```
 *
 * The tags come before the payload and at a fixed offset so that the Lua scripts can read them with
 * a short GETRANGE, without loading a large value into the script. Keep this layout in step with
 * `readTags` in scripts.ts.
 */
import type { StoredRecord } from '../../core/codec.js'
import { CorruptEntryError } from '../../errors.js'

/** Version byte of the layout above. A reader meeting another version reports a corrupt entry. */
export const RECORD_VERSION = 1
/** Bytes before the tag block. */
export const RECORD_HEADER_BYTES = 29

/** The times and tags of an entry, as {@link encodeRecord} needs them. */
export interface RecordFields {
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
  readonly tags: readonly string[]
}

/** Encodes an entry's fields and its encoded value into one buffer (one copy of the payload). */
export function encodeRecord(fields: RecordFields, payload: Uint8Array): Buffer {
  let tagBytes = 0
  const tagLengths = fields.tags.map((tag) => {
    const length = Buffer.byteLength(tag, 'utf8')
    tagBytes += 4 + length
    return length
  })
  const buffer = Buffer.allocUnsafe(RECORD_HEADER_BYTES + tagBytes + payload.byteLength)
  buffer.writeUInt8(RECORD_VERSION, 0)
  buffer.writeDoubleBE(fields.createdAt, 1)
  buffer.writeDoubleBE(fields.freshUntil, 9)
  buffer.writeDoubleBE(fields.staleUntil, 17)
  buffer.writeUInt32BE(tagBytes, 25)
  let offset = RECORD_HEADER_BYTES
  fields.tags.forEach((tag, i) => {
    const length = tagLengths[i] as number
    buffer.writeUInt32BE(length, offset)
    buffer.write(tag, offset + 4, length, 'utf8')
    offset += 4 + length
  })
  buffer.set(payload, offset)
  return buffer
}

/**
 * Reads a stored buffer back into a {@link StoredRecord}. The payload is not decoded here
 * (`entryFromRecord` does that, for live entries only) but copied out: ioredis hands replies out as
 * views into buffers it shares (a 64 KiB socket chunk, or its parser's pool of several MiB for large
 * replies), and msgpack decodes binary fields as views into the payload, so a view would keep that
 * whole shared buffer alive for as long as the entry, or a value decoded from it, sits in L1.
 * @throws CorruptEntryError when the buffer does not follow the layout
 */
export function decodeRecord(namespace: string, key: string, buffer: Buffer): StoredRecord {
  if (buffer.byteLength < RECORD_HEADER_BYTES || buffer.readUInt8(0) !== RECORD_VERSION) {
    throw new CorruptEntryError('stored redis record has an unknown layout')
  }
  const createdAt = buffer.readDoubleBE(1)
  const freshUntil = buffer.readDoubleBE(9)
  const staleUntil = buffer.readDoubleBE(17)
  const tagsEnd = RECORD_HEADER_BYTES + buffer.readUInt32BE(25)
  if (!Number.isFinite(createdAt) || !Number.isFinite(freshUntil) || !Number.isFinite(staleUntil) || tagsEnd > buffer.byteLength) {
    throw new CorruptEntryError('stored redis record has a malformed header')
  }
  const tags: string[] = []
  for (let offset = RECORD_HEADER_BYTES; offset < tagsEnd; ) {
    if (offset + 4 > tagsEnd) throw new CorruptEntryError('stored redis record has a malformed tag block')
    const end = offset + 4 + buffer.readUInt32BE(offset)
    if (end > tagsEnd) throw new CorruptEntryError('stored redis record has a malformed tag block')
    tags.push(buffer.toString('utf8', offset + 4, end))
    offset = end
  }
  return { namespace, key, payload: new Uint8Array(buffer.subarray(tagsEnd)), createdAt, freshUntil, staleUntil, tags }
}

