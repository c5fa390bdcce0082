/**
 * Builds and starts the Fastify app of the REST server.
 */
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { createSerializerCompiler, jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod'
import type { Cache } from '../cache/cache.js'
import { logCacheEvents } from './cache-events.js'
import { handleError, installErrorHandling } from './errors.js'
import { adminRoutes } from './routes/admin.js'
import { entryRoutes } from './routes/entries.js'
import { edgeLimits, routeSchemas } from './schemas.js'

/** Fastify's `logger` option: `true` for pino defaults, pino options, or `false` for none. */
export type ServerLoggerOptions = FastifyServerOptions['logger']

/** Options of {@link buildServer}. */
export interface BuildServerOptions {
  /** The cache the routes serve. */
  readonly cache: Cache
  /**
   * Logging (pino). Request logs hold the method, the route pattern and the status, never the URL
   * (it holds the key), bodies or values. @default false
   */
  readonly logger?: ServerLoggerOptions
  /** Largest request body accepted, in bytes; larger ones answer 413 `TC_PAYLOAD_TOO_LARGE`. @default 2 MiB */
  readonly bodyLimit?: number
  /** Close the cache when the app closes. @default false: the caller owns the cache. */
  readonly closeCacheOnClose?: boolean
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** The cache the routes serve; closed when the app closes. */
  readonly cache: Cache
  /** Interface to listen on. @default '127.0.0.1' (local only; pass '0.0.0.0' to expose it) */
  readonly host?: string
  /** TCP port; `0` picks a free one (see the returned `url`). @default 4100 */
  readonly port?: number
  /** See {@link BuildServerOptions.logger}. @default false */
  readonly logger?: ServerLoggerOptions
  /** See {@link BuildServerOptions.bodyLimit}. @default 2 MiB */
  readonly bodyLimit?: number
}

/** Default of {@link BuildServerOptions.bodyLimit}: 2 MiB, room for a 1 MiB value (the cache's default limit) as JSON. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024

/** Logs a request without its URL: keys are in the path and may identify people. */
function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, route: request.routeOptions.url, remoteAddress: request.ip }
}

function loggerOption(logger: ServerLoggerOptions): ServerLoggerOptions {
  if (logger === undefined || logger === false) return false
  if (logger === true) return { serializers: { req: serializeRequest } }
  return { ...logger, serializers: { ...logger.serializers, req: serializeRequest } }
}

/**
 * JSON has no bigint, yet the library can store one: it is sent as a decimal string rather than failing
 * the whole answer with a 500.
 */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

async function build(options: BuildServerOptions, ownsCache: () => boolean): Promise<FastifyInstance> {
  const { cache } = options
  const app = Fastify({
    logger: loggerOption(options.logger),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    frameworkErrors: handleError,
    routerOptions: {
      // Keys are path parameters: a 1024-character key may be 9 KiB percent-encoded. The default of
      // 100 would turn longer keys into 404s; Node's header size limit bounds the URL anyway.
      maxParamLength: 65_536,
    },
  })

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(createSerializerCompiler({ replacer }))
  installErrorHandling(app)
  // JSON only: a text/plain body would otherwise parse as a string and fail later with a vaguer message.
  app.removeContentTypeParser('text/plain')

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tiercache',
        description: 'REST API of a tiercache server. Every error answers { error: { code, message } } with a stable TC_... code.',
        version: '1.0.0',
      },
      tags: [
        { name: 'entries', description: 'Read and write entries' },
        { name: 'admin', description: 'Invalidation, counters, health' },
      ],
    },
    transform: jsonSchemaTransform,
  })

  const schemas = routeSchemas(edgeLimits(options.cache.limits))
  await app.register(entryRoutes, { cache, schemas })
  await app.register(adminRoutes, { cache, schemas })

  const stopLogging = logCacheEvents(cache, app.log)
  app.addHook('onClose', async () => {
    stopLogging()
    if (ownsCache()) await cache.close()
  })
  return app
}

/**
 * Builds the REST server's Fastify app without listening: use `app.inject()` in tests, or add
 * plugins and routes before `app.listen()`. Routes:
 *
 * | route | answer |
 * |---|---|
 * | `GET /v1/entries/:namespace/:key[?allowStale=true]` | 200 `{ value, source, stale, ageMs, freshUntil }`, 404 `TC_NOT_FOUND` |
 * | `PUT /v1/entries/:namespace/:key` `{ value, ttl?, grace?, tags? }` | 204, no body |
 * | `DELETE /v1/entries/:namespace/:key` | 200 `{ deleted }` |
 * | `POST /v1/entries/:namespace/batch-get` `{ keys (1..1000), allowStale? }` | 200 `{ entries: [{ key, found, value?, source?, stale?, ageMs?, freshUntil? }] }` |
 * | `POST /v1/invalidate` `{ tags, namespace? }` | 200 `{ invalidated }` (every namespace when none given) |
 * | `GET /v1/stats` | 200 `CacheStats` |
 * | `GET /health` | 200 `{ status: 'ok' \| 'degraded', tiers }` |
 * | `GET /openapi.json` | the OpenAPI 3.1 document |
 *
 * Keys are percent-encoded path segments (`encodeURIComponent`). Durations are milliseconds or
 * strings such as `'5m'`. Every error answers `{ error: { code, message } }`: the catalogue error's
 * code and status (e.g. 400 `TC_INVALID_KEY`, 413 `TC_VALUE_TOO_LARGE`, 503 `TC_CACHE_CLOSED`); other
 * invalid input 400 `TC_BAD_REQUEST` naming the field; a body over `bodyLimit` 413
 * `TC_PAYLOAD_TOO_LARGE`; an unknown route 404 `TC_NOT_FOUND`; anything unexpected 500 `TC_INTERNAL`
 * with a generic message (the details are logged).
 */
export function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const closeCache = options.closeCacheOnClose ?? false
  return build(options, () => closeCache)
}

/**
 * Builds the app, listens, and returns it with its URL (e.g. `http://127.0.0.1:4100`). The cache is
 * closed when the app closes (`await app.close()`); if listening fails, the app is closed, the cache
 * is left open, and the error is rethrown. Signal handling is the caller's.
 * @throws the listen error, e.g. `EADDRINUSE`
 */
export async function startServer(options: StartServerOptions): Promise<{ app: FastifyInstance; url: string }> {
  let listening = false
  const app = await build({ cache: options.cache, logger: options.logger, bodyLimit: options.bodyLimit }, () => listening)
  try {
    const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 4100 })
    listening = true
    return { app, url }
  } catch (error) {
    await app.close()
    throw error
  }
}
