/**
 * Whole-response caching for Fastify: a plugin whose `onRequest` hook answers the routes of its
 * scope through the shared HTTP cache, with the routes themselves as the cache's origin, asked
 * with `fastify.inject` on a request built from what the cache asks.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, InjectOptions } from 'fastify'
import type { Origin } from '../types.js'
import { type HttpCacheSource, cacheOf, parseBaseUrl } from './fetch.js'

/** Options of {@link httpCachePlugin}. */
export type HttpCachePluginOptions = HttpCacheSource & {
  /**
   * The scheme and authority the cache keys responses under, e.g. `https://shop.example`, so that a
   * client cannot multiply the stored copies by sending other `Host` values.
   * @default from the request: `request.protocol` and `request.host` (which follow `trustProxy`)
   */
  readonly baseUrl?: string
  /**
   * Which requests of the scope go through the cache; the others reach their route as if the plugin
   * were not there, e.g. `(request) => request.routeOptions.config.cache !== false`.
   * @default every request
   */
  readonly when?: (request: FastifyRequest) => boolean
}

/** The request field that marks the plugin's own requests to its routes, with a secret of the plugin's. */
const MARKER = 'x-tiercache-origin'

type InjectMethod = NonNullable<InjectOptions['method']>

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (body === undefined) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

async function register(fastify: FastifyInstance, options: HttpCachePluginOptions): Promise<void> {
  const httpCache = cacheOf(options)
  const baseUrl = parseBaseUrl(options.baseUrl)?.origin
  const { when } = options
  const secret = Buffer.from(randomBytes(24).toString('base64url'))
  const fromPlugin = (request: FastifyRequest): boolean => {
    const value = request.headers[MARKER]
    return typeof value === 'string' && value.length === secret.length && timingSafeEqual(Buffer.from(value), secret)
  }

  fastify.addHook('onRequest', async (request, reply) => {
    if (fromPlugin(request)) {
      delete request.raw.headers[MARKER]
      return
    }
    if (when !== undefined && !when(request)) return
    let url: string
    try {
      url = new URL(request.url, baseUrl ?? `${request.protocol}://${request.host}`).href
    } catch {
      return // a Host that makes no URL: not cached, as there is no key for it
    }
    const remoteAddress = request.ip
    const origin: Origin = async (asked) => {
      const target = new URL(asked.url)
      const payload = await collect(asked.body)
      const response = await fastify.inject({
        method: asked.method as InjectMethod,
        url: target.pathname + target.search,
        headers: { ...asked.headers, [MARKER]: secret.toString() },
        remoteAddress,
        ...(payload === undefined ? {} : { payload }),
      })
      return { status: response.statusCode, headers: response.headers, body: response.rawPayload }
    }
    const answer = await httpCache.handle({ method: request.method, url, headers: request.headers, body: request.raw }, origin)
    // Written as the cache answered: Fastify's send would rewrite the Content-Length of a HEAD (to 0)
    // and of a 304, and run the onSend hooks again on a response they already made.
    // Headers that hooks before this one set are this request's own (a request id): they win over the stored ones.
    reply.hijack()
    reply.raw.writeHead(answer.status, { ...answer.headers, ...(reply.getHeaders() as OutgoingHttpHeaders) })
    reply.raw.end(answer.body)
    return reply
  })

  // Background revalidations run the routes: the app waits for them before it closes.
  fastify.addHook('onClose', async () => {
    await httpCache.idle()
  })
}

/**
 * A Fastify plugin (Fastify 5) that caches the whole responses of the routes of the scope it is
 * registered in, as a shared HTTP cache (RFC 9111): a stored response is answered from the tiers
 * without running the route, with `Cache-Status` (RFC 9211) and `Age`; `Vary`, 304s to conditional
 * clients, `HEAD` from a stored `GET`, `stale-while-revalidate` and the invalidation by unsafe
 * methods (RFC 9111 §4.4) are the `HttpCache`'s.
 *
 * A miss, a validation or a background revalidation runs the route with `fastify.inject`, on the
 * path and query of the request, with the headers the cache asks (its own validators, not the
 * client's), the client's address, and a field marking it with a secret made per registration, so
 * that the plugin lets it through; a client sending that field is cached like any other. The
 * `onRequest` hooks before the plugin's therefore run for both requests. The answer is written as
 * the cache gives it (`reply.hijack()`), under the headers earlier hooks set on this reply: `onSend`
 * hooks ran when the route made the response, and do not run again on a stored one; `onResponse`
 * hooks and the request log do. Bodies are buffered both ways. Registered without encapsulation (as `fastify-plugin` does), it
 * applies to its parent scope: register it in the scope whose routes it should cache.
 *
 * Options: an `HttpCache`'s options (`cache`, ...) or `{ httpCache }`, with `baseUrl` and `when`
 * ({@link HttpCachePluginOptions}). The app's `close()` waits for background revalidations.
 * @example await app.register(httpCachePlugin, { cache })
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) at registration, for invalid HTTP cache options or `baseUrl`
 * @see RFC 9111, docs/http-middleware.md
 */
export const httpCachePlugin: FastifyPluginAsync<HttpCachePluginOptions> = Object.assign(register, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tiercache-http-cache',
  [Symbol.for('plugin-meta')]: { name: 'tiercache-http-cache', fastify: '5.x' },
})
