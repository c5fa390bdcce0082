/**
 * `GET /metrics`: the cache's instruments in Prometheus's text format, for the operator's key.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Registry } from 'prom-client'
import { z } from 'zod'
import { ForbiddenError } from '../../errors.js'
import { callerOf } from '../access.js'
import type { ServerAudit } from '../audit.js'
import { errorResponseSchema } from '../schemas.js'

/** Options of {@link metricsRoutes}. */
export interface MetricsRoutesOptions {
  /** What `/metrics` answers: see `createPrometheusRegistry`. */
  readonly registry: Registry
  readonly audit: ServerAudit
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }

/**
 * Registers `GET /metrics` (role admin, and the key must be a `service` key) → 200
 * `text/plain; version=0.0.4; charset=utf-8`, the Prometheus text exposition of every namespace of
 * every tenant (see docs/metrics.md). It spans all tenants, and namespaces can name them, so a
 * tenant's own admin key is refused (403 `TC_FORBIDDEN`, audited as `auth.failure`): only a key
 * trusted across tenants reads it. Keys, 401s and rate limits as on every `/v1` route.
 */
export const metricsRoutes: FastifyPluginAsyncZod<MetricsRoutesOptions> = async (app, { registry, audit }) => {
  app.get(
    '/metrics',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Every instrument of the cache, across tenants, in the Prometheus text exposition format (version 0.0.4): requests, hits per tier, ' +
          'misses by reason, writes, removals, origin calls, latency histograms, entries and bytes per tier. Role admin, with service.',
        tags: ['admin'],
        security: [{ bearerAuth: [] }],
        response: {
          200: { description: 'The text exposition format.', content: { 'text/plain': { schema: z.string() } } },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { principal } = callerOf(request)
      if (!principal.roles.includes('service')) {
        const reason = "/metrics spans every tenant: it needs a key with the admin and service roles (a tenant's own admin key may not read it)"
        await audit.refusal(request, principal.id, {
          action: 'auth.failure',
          outcome: 'denied',
          keyId: principal.id,
          tenant: principal.tenant,
          target: 'GET /metrics',
          detail: reason,
        })
        reply.header('www-authenticate', 'Bearer realm="tiercache", error="insufficient_scope"')
        throw new ForbiddenError(reason)
      }
      const text = await registry.metrics()
      // Counters change with every request: a cached answer would show a rate of zero.
      return reply.header('cache-control', 'no-store').type(registry.contentType).send(text)
    },
  )
}
