/**
 * `GET /v1/audit`: a tenant's audit log, for its admins.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { NotFoundError } from '../../errors.js'
import type { AuditLog } from '../../security/audit/index.js'
import { callerOf } from '../access.js'
import { auditQuerySchema, auditResponseSchema, errorResponseSchema } from '../schemas.js'

/** Options of {@link auditRoutes}. */
export interface AuditRoutesOptions {
  /** The audit log; without one, the route answers 404 `TC_NOT_FOUND`. */
  readonly log: AuditLog | undefined
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }

/**
 * Registers `GET /v1/audit[?since=&limit=]` (role admin; a service key cannot name another tenant
 * here) → 200 `{ events }`: the events of the key's own tenant, newest first, at or after `since`
 * (epoch ms, default 0), at most `limit` (1 to 1000, default 100).
 */
export const auditRoutes: FastifyPluginAsyncZod<AuditRoutesOptions> = async (app, { log }) => {
  app.get(
    '/v1/audit',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: "The tenant's audit log",
        description: "Events of the key's own tenant, newest first: key management, purges, invalidations, refused requests. Role admin.",
        tags: ['admin'],
        security: [{ bearerAuth: [] }],
        querystring: auditQuerySchema,
        response: { 200: auditResponseSchema, ...errors },
      },
    },
    async (request) => {
      if (log === undefined) throw new NotFoundError('this server keeps no audit log')
      const { since, limit } = request.query
      const events = await log.query({
        tenant: callerOf(request).principal.tenant,
        ...(since === undefined ? {} : { since }),
        ...(limit === undefined ? {} : { limit }),
      })
      return { events }
    },
  )
}
