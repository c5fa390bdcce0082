/**
 * Header plumbing of the HTTP cache: one shape for header maps, the hop-by-hop fields a proxy and a
 * cache must not pass on or store, and the parser of `Cache-Control`-style directive lists.
 */

/**
 * Header fields as they arrive: names in any case, a value or a list of values (`Set-Cookie`).
 * Node's `IncomingHttpHeaders` and `OutgoingHttpHeaders` of strings fit it.
 */
export type HeaderInput = Readonly<Record<string, string | readonly string[] | number | undefined>>

/** Header fields with lower-case names; `set-cookie` (and only repeated fields) as arrays. */
export type HttpHeaders = Record<string, string | string[]>

/**
 * The connection-specific fields of RFC 9110 §7.6.1, which a proxy removes before forwarding and a
 * cache does not store (RFC 9111 §3.1), beside the fields named by `Connection` itself.
 */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer'])

/** `input` with lower-case names, numbers as strings, undefined values dropped. */
export function normalizeHeaders(input: HeaderInput): HttpHeaders {
  const out: HttpHeaders = {}
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    const next = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : [...value]
    const had = out[lower]
    if (had === undefined) out[lower] = next
    else out[lower] = [...(Array.isArray(had) ? had : [had]), ...(Array.isArray(next) ? next : [next])]
  }
  return out
}

/** The field's value, repeated values joined with `, ` (RFC 9110 §5.3); undefined when absent. */
export function field(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * `headers` without the hop-by-hop fields of RFC 9110 §7.6.1: `Connection` and every field it
 * names, `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`, `Trailer`.
 * @see RFC 9110 §7.6.1, RFC 9111 §3.1
 */
export function withoutHopByHop(headers: HttpHeaders): HttpHeaders {
  const named = new Set((field(headers, 'connection') ?? '').split(',').map((token) => token.trim().toLowerCase()))
  const out: HttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value
  }
  return out
}

/** `headers` without the fields in `names` (lower case). */
export function without(headers: HttpHeaders, names: readonly string[]): HttpHeaders {
  const out: HttpHeaders = { ...headers }
  for (const name of names) delete out[name]
  return out
}

/**
 * The directives of a `Cache-Control`-style field (also `CDN-Cache-Control`, `Surrogate-Control`):
 * lower-case names to their unquoted argument, or `true` for a directive without one. A repeated
 * directive keeps its first value.
 * @see RFC 9111 §5.2
 */
export function parseDirectives(value: string | undefined): Map<string, string | true> {
  const directives = new Map<string, string | true>()
  if (value === undefined) return directives
  for (const part of value.matchAll(/([^,=\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?/g)) {
    const name = part[1]?.toLowerCase()
    if (name === undefined || directives.has(name)) continue
    const raw = part[2]?.trim()
    directives.set(name, raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw)
  }
  return directives
}

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): a non-negative integer, or undefined when absent or
 * invalid. Values past 2^31 are capped there, as the RFC asks.
 */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined
  return Math.min(Number(value), 2 ** 31)
}
