/**
 * `POST` requests an application declared reads (`cachePost`): their bodies buffered and signed, so
 * that the same search POSTed again is the same variant. The signature is of the canonical body:
 * JSON with object keys sorted, form fields sorted, other bodies as their bytes; with the media type,
 * since the origin reads the body by it.
 */
import { createHash } from 'node:crypto'

/** Bodies longer than this are not buffered for a signature: such a POST is passed on, not cached. */
export const MAX_SIGNED_BODY = 1 << 20

/** A request body read whole, or, past {@link MAX_SIGNED_BODY}, the bytes read so far and the rest unread. */
export type ReadBody = { readonly kind: 'whole'; readonly bytes: Uint8Array } | { readonly kind: 'too-long'; readonly body: AsyncIterable<Uint8Array> }

/** Reads `body` whole, up to `limit` bytes; an absent body is empty. */
export async function readBody(body: AsyncIterable<Uint8Array> | undefined, limit = MAX_SIGNED_BODY): Promise<ReadBody> {
  if (body === undefined) return { kind: 'whole', bytes: new Uint8Array(0) }
  const chunks: Uint8Array[] = []
  let length = 0
  const iterator = body[Symbol.asyncIterator]()
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    chunks.push(next.value)
    length += next.value.length
    if (length > limit) return { kind: 'too-long', body: replay(chunks, iterator) }
  }
  return { kind: 'whole', bytes: Buffer.concat(chunks) }
}

async function* replay(read: readonly Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* read
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value
}

/**
 * `body` as an async iterable: chunks given as an array are read as a stream would be, and may be
 * read again (a declared POST's body is sent again by a background revalidation).
 */
export function asyncBody(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (Symbol.asyncIterator in body) return body
  return {
    async *[Symbol.asyncIterator]() {
      yield* body
    },
  }
}

function sortedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedJson)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedJson((value as Record<string, unknown>)[key])]),
  )
}

/** The body in canonical form: what two requests that mean the same share. */
function canonical(bytes: Uint8Array, mediaType: string): string | Uint8Array {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      return JSON.stringify(sortedJson(JSON.parse(text)))
    } catch {
      return bytes
    }
  }
  if (mediaType === 'application/x-www-form-urlencoded') {
    const fields = new URLSearchParams(text)
    fields.sort()
    return fields.toString()
  }
  return bytes
}

/**
 * The signature of a POST body: base64url SHA-256 (43 characters) of its media type (from
 * `contentType`, parameters aside, lower case) and its canonical form. `{"b":1,"a":[2]}` and
 * `{ "a": [2], "b": 1 }` sign alike; `a=1&b=2` and `b=2&a=1` too.
 */
export function bodySignature(bytes: Uint8Array, contentType: string | undefined): string {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return createHash('sha256').update(mediaType).update('\n').update(canonical(bytes, mediaType)).digest('base64url')
}
