/**
 * Routes that act on the cache as a whole: tag invalidation, counters, health, and the OpenAPI
 * document.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Cache } from '../../cache/cache.js'
import { CacheClosedError } from '../../errors.js'
import { type RouteSchemas, errorResponseSchema, healthResponseSchema, statsResponseSchema } from '../schemas.js'

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions {
  readonly cache: Cache
  readonly schemas: RouteSchemas
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }

/**
 * Registers:
 * - `POST /v1/invalidate` with `{ tags, namespace? }` → 200 `{ invalidated }`: removes every entry
 *   carrying one of `tags`, in `namespace`, or in every namespace when it is omitted;
 * - `GET /v1/stats` → 200 `CacheStats` (counters since the cache was created);
 * - `GET /health` → 200 `{ status: 'ok' | 'degraded', bus, tiers }`. `degraded` (some tier's circuit is
 *   not closed, or the bus is deaf) still answers 200: the cache keeps serving from the tiers that work, so taking the
 *   instance out of a load balancer would only lose capacity. Monitor `status`, not the HTTP code;
 *   a closed cache answers 503 `TC_CACHE_CLOSED` from every other route;
 * - `GET /openapi.json` → the OpenAPI 3.1 document of these routes (not listed in itself).
 */
export const adminRoutes: FastifyPluginAsyncZod<AdminRoutesOptions> = async (app, { cache, schemas }) => {
  app.post(
    '/v1/invalidate',
    {
      schema: {
        summary: 'Invalidate by tags',
        description: 'Removes every entry carrying one of the tags from every tier; from every namespace when namespace is omitted.',
        tags: ['admin'],
        body: schemas.invalidateBody,
        response: { 200: schemas.invalidateResponse, ...errors },
      },
    },
    async (request) => {
      const { tags, namespace } = request.body
      if (namespace === undefined) await cache.invalidateTags(tags, { allNamespaces: true })
      else await cache.namespace(namespace).invalidateTags(tags)
      return { invalidated: [...new Set(tags)] }
    },
  )

  app.get(
    '/v1/stats',
    { schema: { summary: 'Counters', tags: ['admin'], response: { 200: statsResponseSchema, ...errors } } },
    () => cache.stats(),
  )

  app.get(
    '/health',
    { schema: { summary: 'Health of each tier', tags: ['admin'], response: { 200: healthResponseSchema, ...errors } } },
    () => {
      if (cache.closed) throw new CacheClosedError('cache is closed')
      const tiers = cache.health()
      const bus = cache.busState
      const ok = bus !== 'deaf' && tiers.every((tier) => tier.circuit === 'closed')
      return { status: ok ? ('ok' as const) : ('degraded' as const), bus, tiers }
    },
  )

  // `hide` keeps the document out of itself; swagger() builds it from every route's schema.
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
}
