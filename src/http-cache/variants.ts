/**
 * Where responses live in the cache view: one stored response per variant, that is per method, URL
 * and values of the selecting header fields its `Vary` names (RFC 9111 §4.1), beside one record per
 * method and URL of which fields those are; and the tags that purge them (surrogate keys, the URL).
 */
import { createHash } from 'node:crypto'
import { type HttpHeaders, field } from './headers.js'

/** URLs longer than this are keyed by their hash, to stay within the engine's key length. */
const MAX_PLAIN_URL = 400

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, length)
}

/** The request target part of the keys: `GET https://host/path?query`, or a hash for a long URL. */
function target(method: string, url: string): string {
  return url.length <= MAX_PLAIN_URL ? `${method} ${url}` : `${method} #${digest(url, 43)}`
}

/** Key of the record of the `Vary` field names of `method` `url`'s stored responses. */
export function varyKey(method: string, url: string): string {
  return `vary ${target(method, url)}`
}

/**
 * The field names a `Vary` value nominates, lower case, sorted, deduplicated; `['*']` for `Vary: *`,
 * which no request matches (RFC 9111 §4.1).
 */
export function varyNames(headers: HttpHeaders): readonly string[] {
  const value = field(headers, 'vary')
  if (value === undefined) return []
  const names = [...new Set(value.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''))].sort()
  return names.includes('*') ? ['*'] : names
}

/**
 * Key of the variant of `method` `url` that `requestHeaders` select through `names`: the values of
 * those fields, with whitespace runs collapsed (the normalization RFC 9111 §4.1 allows), hashed. An
 * absent field and an empty one are told apart.
 */
export function variantKey(method: string, url: string, names: readonly string[], requestHeaders: HttpHeaders): string {
  if (names.length === 0) return `res ${target(method, url)}`
  const values = names.map((name) => {
    const value = field(requestHeaders, name)
    // List separators normalized too: `1,2` and ` 1, 2 ` select the same variant (RFC 9110 §5.6.1).
    return value === undefined ? null : value.trim().replace(/\s+/g, ' ').replace(/ ?, ?/g, ', ')
  })
  return `res ${target(method, url)} ${digest(JSON.stringify([names, values]), 22)}`
}

/** The tag every stored response of `url` carries (whatever the method and variant), for purges by URL. */
export function urlTag(url: string): string {
  return `url:${digest(url, 22)}`
}

/** Path segments that prefix purges reach: a prefix is matched by whole segments, down to this depth. */
export const MAX_PREFIX_DEPTH = 8

/** The path segments of a URL's path, without empty ones (`/a//b/` → `['a', 'b']`). */
function segments(pathname: string): string[] {
  return pathname.split('/').filter((segment) => segment !== '')
}

/**
 * The tag of the responses whose URL has `prefix` (an absolute URL; its query and fragment are
 * ignored, a trailing slash too) as a prefix of whole path segments: `https://h/a` covers `https://h/a`,
 * `https://h/a/b?q` but not `https://h/ab`.
 * @throws RangeError when the prefix has more than {@link MAX_PREFIX_DEPTH} segments (no response carries such a tag)
 */
export function prefixTag(prefix: URL): string {
  const parts = segments(prefix.pathname)
  if (parts.length > MAX_PREFIX_DEPTH) throw new RangeError(`a prefix reaches at most ${MAX_PREFIX_DEPTH} path segments`)
  return `pfx:${digest(`${prefix.origin}/${parts.join('/')}`, 22)}`
}

/** The prefix tags of `url`: those of its origin and of each of its first {@link MAX_PREFIX_DEPTH} path prefixes, shortest first. */
export function prefixTags(url: string): string[] {
  const target = new URL(url)
  const parts = segments(target.pathname).slice(0, MAX_PREFIX_DEPTH)
  return Array.from({ length: parts.length + 1 }, (_, depth) => `pfx:${digest(`${target.origin}/${parts.slice(0, depth).join('/')}`, 22)}`)
}

/**
 * The tags of a response: {@link urlTag} of `url`, its {@link prefixTags} and its surrogate keys (the
 * space- or comma-separated values of `headerName` of at most `maxTagLength` characters), at most
 * `maxTags` in all, in that order.
 */
export function responseTags(url: string, headers: HttpHeaders, headerName: string, limits: { readonly maxTags: number; readonly maxTagLength: number }): string[] {
  const keys = (field(headers, headerName) ?? '')
    .split(/[\s,]+/)
    .filter((key) => key !== '' && key.length <= limits.maxTagLength)
  return [...new Set([urlTag(url), ...prefixTags(url), ...keys])].slice(0, limits.maxTags)
}
