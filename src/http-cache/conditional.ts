/**
 * Validation: the conditional requests the cache sends the origin (RFC 9111 §4.3.1), the headers a
 * 304 updates (§4.3.4), and the 304 the cache answers a client whose validators match (§4.3.2).
 */
import { type HttpHeaders, field, withoutHopByHop, without } from './headers.js'

/** The request preconditions of RFC 9110 §13.1, which the cache sets itself towards the origin. */
const CONDITIONALS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range']

/** The fields a 304 carries of the 200 it stands for (RFC 9110 §15.4.5), and Last-Modified. */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified']

/** The entity tags of an `If-None-Match` value, `W/` prefixes removed (the weak comparison, RFC 9110 §8.8.3.2). */
function entityTags(value: string): string[] {
  return [...value.matchAll(/(?:W\/)?("[^"]*"|\*)/g)].map((match) => match[1] ?? '')
}

function weakTag(etag: string): string {
  return etag.trim().replace(/^W\//, '')
}

/**
 * The request headers without the client's preconditions: what the cache asks the origin for a
 * response it can store and serve to everyone, rather than the client's own conditional answer.
 */
export function unconditional(headers: HttpHeaders): HttpHeaders {
  return without(headers, CONDITIONALS)
}

/**
 * The headers of a validation request (RFC 9111 §4.3.1): the client's, without its preconditions,
 * with `If-None-Match` from the stored `ETag` and `If-Modified-Since` from its `Last-Modified`.
 */
export function validationHeaders(requestHeaders: HttpHeaders, stored: HttpHeaders): HttpHeaders {
  const etag = field(stored, 'etag')
  const lastModified = field(stored, 'last-modified')
  return {
    ...unconditional(requestHeaders),
    ...(etag === undefined ? {} : { 'if-none-match': etag }),
    ...(lastModified === undefined ? {} : { 'if-modified-since': lastModified }),
  }
}

/** True when the stored headers have a validator to revalidate with. */
export function hasValidator(headers: HttpHeaders): boolean {
  return headers['etag'] !== undefined || headers['last-modified'] !== undefined
}

/**
 * The stored headers updated from a 304 (RFC 9111 §4.3.4, §3.2): every field of the 304 replaces or
 * adds to the stored ones, except hop-by-hop fields and `Content-Length`.
 */
export function updatedHeaders(stored: HttpHeaders, notModified: HttpHeaders): HttpHeaders {
  return { ...stored, ...without(withoutHopByHop(notModified), ['content-length']) }
}

/**
 * True when the client's preconditions say its copy is current (RFC 9111 §4.3.2): `If-None-Match`
 * lists the stored `ETag` (weak comparison) or is `*`; without `If-None-Match`, `If-Modified-Since`
 * is no earlier than the stored `Last-Modified` (else its `Date`).
 */
export function clientHasCurrent(requestHeaders: HttpHeaders, stored: HttpHeaders): boolean {
  const ifNoneMatch = field(requestHeaders, 'if-none-match')
  if (ifNoneMatch !== undefined) {
    const etag = field(stored, 'etag')
    const tags = entityTags(ifNoneMatch)
    return tags.includes('*') || (etag !== undefined && tags.some((tag) => tag === weakTag(etag)))
  }
  const since = Date.parse(field(requestHeaders, 'if-modified-since') ?? '')
  if (Number.isNaN(since)) return false
  const modified = Date.parse(field(stored, 'last-modified') ?? field(stored, 'date') ?? '')
  return !Number.isNaN(modified) && modified <= since
}

/** The headers of a 304 standing for a stored response with `headers` (RFC 9110 §15.4.5). */
export function notModifiedHeaders(headers: HttpHeaders): HttpHeaders {
  const out: HttpHeaders = {}
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = headers[name]
    if (value !== undefined) out[name] = value
  }
  return out
}
