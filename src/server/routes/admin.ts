/**
 * Routes that act on a tenant's entries as a whole (purge by tags, clearing a namespace, statistics), and the open
 * ones: health and the OpenAPI document.
 */
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Cache } from '../../cache/cache.js'
import { BadRequestError, CacheClosedError } from '../../errors.js'
import type { ServerAudit } from '../audit.js'
import { statsReportSchema } from '../../metrics/stats/report.js'
import { TENANT_HEADER, callerOf } from '../access.js'
import { type RouteSchemas, errorResponseSchema, healthResponseSchema } from '../schemas.js'
import type { ServerStats } from '../stats.js'

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions {
  readonly cache: Cache
  readonly schemas: RouteSchemas
  readonly stats: ServerStats
  readonly audit: ServerAudit
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
const security = [{ bearerAuth: [] }]

/**
 * Registers:
 * - `POST /v1/purge` (role write; a service key may name a tenant) with `{ tags, namespace }` →
 *   200 `{ purged }`: removes every entry of the tenant's `namespace` carrying one of `tags`, as
 *   `tiercache purge` does; recorded in the audit log (`cache.invalidate`). A body of the former
 *   namespace purge (`{ namespace }` alone) is refused 400 `TC_BAD_REQUEST`, naming `/v1/clear`;
 * - `POST /v1/invalidate`: the same, answering `{ invalidated }` (the library's name for it);
 * - `POST /v1/clear` (admin) with `{ namespace }` → 200 `{ cleared }`: removes every entry of the
 *   tenant's `namespace`; recorded in the audit log (`cache.clear`);
 * - `GET /v1/stats[?range=1h|24h|7d|30d&namespace=]` (read) → 200 `StatsReport` (docs/stats.md): the
 *   key's tenant over the range, every instance summed; a service key's, the whole deployment's, or
 *   the tenant it names in `X-Tiercache-Tenant`; with an AI gateway, its `ai` section, of the same scope;
 *   with an HTTP cache, in deployment reports only, its `http` section;
 * - `GET /health` (open) → 200 `{ status: 'ok' | 'degraded', bus, tiers }`. `degraded` (some tier's
 *   circuit is not closed, or the bus is deaf) still answers 200: the cache keeps serving from the
 *   tiers that work, so taking the instance out of a load balancer would only lose capacity. Monitor
 *   `status`, not the HTTP code; a closed cache answers 503 `TC_CACHE_CLOSED` from every route;
 * - `GET /openapi.json` (open) → the OpenAPI 3.1 document of these routes (not listed in itself).
 */
export const adminRoutes: FastifyPluginAsyncZod<AdminRoutesOptions> = async (app, { cache, schemas, stats, audit }) => {
  /** Removes the entries carrying any of the tags: `/v1/purge` and `/v1/invalidate` are one operation. */
  const removeTagged = async (request: FastifyRequest, tags: readonly string[], namespace: string): Promise<string[]> => {
    const { view, tenant, principal } = callerOf(request)
    const removed = [...new Set(tags)]
    const event = {
      action: 'cache.invalidate' as const,
      keyId: principal.id,
      tenant,
      target: `namespace=${namespace} tags=${removed.join(',')}`,
      ...(tenant === principal.tenant ? {} : { detail: `by a service key of tenant ${principal.tenant}` }),
    }
    try {
      await view.namespace(namespace).invalidateTags(tags)
    } catch (error) {
      await audit.record(request, { ...event, outcome: 'error' })
      throw error
    }
    await audit.record(request, { ...event, outcome: 'ok' })
    return removed
  }
  const byTags =
    "Removes every entry of the namespace, in the key's tenant, carrying one of the tags, from every tier and every instance. " +
    'Role write. A service key may act for another tenant by naming it in X-Tiercache-Tenant.'

  app.post(
    '/v1/purge',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      // The body of the old namespace purge, refused by name rather than as a missing `tags`.
      preValidation: (request, _reply, done) => {
        const body = request.body as Record<string, unknown> | null | undefined
        if (typeof body === 'object' && body !== null && !('tags' in body) && 'namespace' in body) {
          done(new BadRequestError('POST /v1/purge removes the entries carrying tags: send { tags, namespace }; to remove every entry of a namespace, POST /v1/clear'))
          return
        }
        done()
      },
      schema: {
        summary: 'Purge by tags',
        description: `${byTags} The same operation as POST /v1/invalidate.`,
        tags: ['admin'],
        security,
        body: schemas.invalidateBody,
        response: { 200: schemas.purgeResponse, ...errors },
      },
    },
    async (request) => ({ purged: await removeTagged(request, request.body.tags, request.body.namespace) }),
  )

  app.post(
    '/v1/invalidate',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Invalidate by tags',
        description: `${byTags} The same operation as POST /v1/purge, named as the library names it (invalidateTags).`,
        tags: ['admin'],
        security,
        body: schemas.invalidateBody,
        response: { 200: schemas.invalidateResponse, ...errors },
      },
    },
    async (request) => ({ invalidated: await removeTagged(request, request.body.tags, request.body.namespace) }),
  )

  app.post(
    '/v1/clear',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: 'Clear a namespace',
        description: "Removes every entry of the namespace, in the key's tenant, from every tier and every instance. Role admin.",
        tags: ['admin'],
        security,
        body: schemas.clearBody,
        response: { 200: schemas.clearResponse, ...errors },
      },
    },
    async (request) => {
      const { view, tenant, principal } = callerOf(request)
      const { namespace } = request.body
      const event = { action: 'cache.clear' as const, keyId: principal.id, tenant, target: `namespace=${namespace}` }
      try {
        await view.namespace(namespace).clear()
      } catch (error) {
        await audit.record(request, { ...event, outcome: 'error' })
        throw error
      }
      await audit.record(request, { ...event, outcome: 'ok' })
      return { cleared: namespace }
    },
  )

  app.get(
    '/v1/stats',
    {
      config: { access: { role: 'read', acrossTenants: true } },
      schema: {
        summary: 'Statistics',
        description:
          "Hit ratios overall, per tier and per namespace, latency percentiles, miss reasons, origin calls and cost saved over the range " +
          '(every instance sharing the SQL tier summed), this instance\'s tiers and top keys, and suggestions. ' +
          "The key's tenant only; a service key sees the whole deployment, or the tenant it names in X-Tiercache-Tenant. " +
          'With an AI gateway, an ai section: its answers and the tokens and dollars they saved, this instance since it started. ' +
          'With an HTTP cache, in deployment reports, an http section: its responses per route group and how they were served, this instance since it started. Role read.',
        tags: ['admin'],
        security,
        querystring: schemas.statsQuery,
        response: { 200: statsReportSchema, ...errors },
      },
    },
    (request) => {
      const { principal, tenant } = callerOf(request)
      const deployment = principal.roles.includes('service') && request.headers[TENANT_HEADER] === undefined
      const { range = '1h', namespace } = request.query
      return stats.report(deployment ? { deployment: true } : { tenant }, range, namespace)
    },
  )

  app.get(
    '/health',
    { schema: { summary: 'Health of each tier', description: 'Open: needs no key.', tags: ['admin'], response: { 200: healthResponseSchema, ...errors } } },
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
