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
    return value === undefined ? null : value.trim().replace(/\s+/g, ' ')
  })
  return `res ${target(method, url)} ${digest(JSON.stringify([names, values]), 22)}`
}

/** The tag every stored response of `url` carries (whatever the method and variant), for purges by URL. */
export function urlTag(url: string): string {
  return `url:${digest(url, 22)}`
}

/**
 * The tags of a response: its surrogate keys (the space-separated values of `headerName`, those of at
 * most `maxTagLength` characters, at most `maxTags - 1` of them) and {@link urlTag} of `url`.
 */
export function responseTags(url: string, headers: HttpHeaders, headerName: string, limits: { readonly maxTags: number; readonly maxTagLength: number }): string[] {
  const keys = (field(headers, headerName) ?? '')
    .split(/[\s,]+/)
    .filter((key) => key !== '' && key.length <= limits.maxTagLength)
  return [...new Set(keys)].slice(0, Math.max(0, limits.maxTags - 1)).concat(urlTag(url))
}
