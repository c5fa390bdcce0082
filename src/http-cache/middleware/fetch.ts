/**
 * Whole-response caching for fetch handlers (`(request: Request) => Response`): Hono's `app.fetch`,
 * and any framework or runtime built on the Fetch API's `Request` and `Response`. It imports nothing
 * of node:http, so it also holds what the Node and Fastify middleware share.
 */
import { InvalidOptionsError } from '../../errors.js'
import { HttpCache } from '../handler.js'
import type { HttpHeaders } from '../headers.js'
import type { HttpCacheOptions } from '../options.js'
import type { HttpCacheAnswer, Origin } from '../types.js'

/**
 * Where the responses are cached: the options of a new `HttpCache` (`cache`, `namespace`, `now`, ...),
 * or an `HttpCache` of your own (`{ httpCache }`), e.g. to share it or to await `httpCache.idle()`.
 */
export type HttpCacheSource = HttpCacheOptions | { readonly httpCache: HttpCache }

/** The HTTP cache `options` name: the one given, or a new one made of the options. */
export function cacheOf(options: HttpCacheSource): HttpCache {
  return 'httpCache' in options ? options.httpCache : new HttpCache(options)
}

/** Options of {@link withHttpCache}. */
export type FetchHttpCacheOptions = HttpCacheSource & {
  /**
   * The scheme and authority the cache keys responses under, e.g. `https://shop.example`, so that a
   * client cannot multiply the stored copies by sending other `Host` values; the handler's origin
   * requests carry it too.
   * @default the request URL's own (`request.url`)
   */
  readonly baseUrl?: string
}

/** A fetch handler: the request, and whatever the runtime passes beside it (Hono's `env` and execution context). */
export type FetchHandler<Args extends unknown[] = []> = (request: Request, ...args: Args) => Response | Promise<Response>

/** Statuses whose responses have no content: a `Response` with a body is refused for them. */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/** A body that can be read more than once, as the cache may ask the origin again with it. */
function replayable(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield bytes
    },
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk)
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0]
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * `baseUrl` parsed, or undefined when not given.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when it is not an http(s) URL
 */
export function parseBaseUrl(baseUrl: string | undefined): URL | undefined {
  if (baseUrl === undefined) return undefined
  let url: URL | undefined
  try {
    url = new URL(baseUrl)
  } catch {
    url = undefined
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new InvalidOptionsError(`baseUrl must be an http:// or https:// URL, got ${JSON.stringify(baseUrl)}`)
  return url
}

/** `headers` as a record, repeated `Set-Cookie` fields kept apart. */
function recordOf(headers: Headers): HttpHeaders {
  const out: HttpHeaders = {}
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value
  })
  const cookies = headers.getSetCookie()
  if (cookies.length > 0) out['set-cookie'] = cookies
  return out
}

function headersOf(record: HttpHeaders): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(record)) for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
  return headers
}

function responseOf(answer: HttpCacheAnswer): Response {
  const body = answer.body.length === 0 || NULL_BODY.has(answer.status) ? null : answer.body
  return new Response(body, { status: answer.status, headers: headersOf(answer.headers) })
}

/**
 * `handler` behind a shared HTTP cache (RFC 9111): a stored response is answered without calling it,
 * with `Cache-Status` (RFC 9211) and `Age`; `Vary`, 304s to conditional clients, `HEAD` from a stored
 * `GET`, `stale-while-revalidate` and the invalidation by unsafe methods (RFC 9111 §4.4) are the
 * `HttpCache`'s. A miss, a validation or a background revalidation calls `handler` with a new
 * `Request` for what the cache asks (its headers, not the client's validators), and with the other
 * arguments of the call that caused it. Bodies are buffered both ways.
 *
 * Options: an `HttpCache`'s options (`cache`, ...) or `{ httpCache }`, and `baseUrl`.
 * @example serve({ fetch: withHttpCache({ cache }, app.fetch) }) // Hono on @hono/node-server
 * @returns a fetch handler with `handler`'s parameters; it rejects only for what the cache cannot
 *   survive (a handler's failure is answered 502, or stale under `stale-if-error`)
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid HTTP cache options or `baseUrl`
 * @see RFC 9111, docs/http-middleware.md
 */
export function withHttpCache<Args extends unknown[]>(options: FetchHttpCacheOptions, handler: FetchHandler<Args>): (request: Request, ...args: Args) => Promise<Response> {
  const httpCache = cacheOf(options)
  const base = parseBaseUrl(options.baseUrl)
  return async (request, ...args) => {
    let url = request.url
    if (base !== undefined) {
      const target = new URL(request.url)
      url = new URL(target.pathname + target.search, base).href
    }
    const method = request.method.toUpperCase()
    const bytes = method === 'GET' || method === 'HEAD' || request.body === null ? undefined : new Uint8Array(await request.arrayBuffer())
    const origin: Origin = async (asked) => {
      const body = asked.body === undefined ? undefined : await collect(asked.body)
      const init: RequestInit = { method: asked.method, headers: headersOf(asked.headers), ...(body === undefined ? {} : { body }) }
      const response = await handler(new Request(asked.url, init), ...args)
      return { status: response.status, headers: recordOf(response.headers), body: new Uint8Array(await response.arrayBuffer()) }
    }
    const answer = await httpCache.handle({ method, url, headers: recordOf(request.headers), ...(bytes === undefined ? {} : { body: replayable(bytes) }) }, origin)
    return responseOf(answer)
  }
}
