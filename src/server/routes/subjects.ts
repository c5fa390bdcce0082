/**
 * `/v1/erase` and `/v1/export`: a data subject's rights over what the cache holds about them (GDPR
 * art. 17, erasure, and art. 20, portability), for a user of the caller's tenant or for the tenant as
 * a whole. The tenant always comes from the key: no service key may name another here.
 */
import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import type { ExportedEntry, Subject } from '../../cache/cache.js'
import { tenantPrefix, userPrefix } from '../../cache/scope.js'
import type { AuditOutcome } from '../../security/audit/index.js'
import { callerOf } from '../access.js'
import type { ServerAudit } from '../audit.js'
import { exportLine } from '../export-json.js'
import { eraseBodySchema, eraseResponseSchema, errorResponseSchema, exportLineSchema, exportQuerySchema } from '../schemas.js'

/** Options of {@link subjectRoutes}. */
export interface SubjectRoutesOptions {
  readonly audit: ServerAudit
}

/** The media type of an export: one JSON object per line (https://github.com/ndjson/ndjson-spec). */
export const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8'

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
const security = [{ bearerAuth: [] }]

/**
 * The audit target of a subject: `tenant`, or `user:<hash>` with the 22-character hash that names the
 * user in storage (see `userPrefix`). Never the user id: the log is append-only, and must not keep the
 * identifier of someone who asked to be forgotten.
 */
export function subjectTarget(tenant: string, userId: string | undefined): string {
  if (userId === undefined) return 'tenant'
  return `user:${userPrefix(tenant, userId).slice(tenantPrefix(tenant).length, -1)}`
}

/**
 * Registers, in the caller's own tenant (role admin; a service key cannot name another tenant here):
 * - `POST /v1/erase` with `{ userId? }` → 200 `{ erased: 'user' | 'tenant' }`: removes every entry of
 *   that user of the tenant, or, without `userId`, every entry of the tenant and its users, from every
 *   tier and every instance's L1 (`cache.erase`). The body is required: `{}` erases the tenant;
 * - `GET /v1/export[?userId=]` → 200 `application/x-ndjson`, streamed: one line per stored entry of the
 *   user, or of the tenant and its users (`cache.exportSubject`), as `{ scope, namespace, key, value,
 *   createdAt, freshUntil, stale }`, values converted as export-json.ts says. A failure before the
 *   first line answers a coded error; one after it cuts the response short (the connection is closed
 *   without the end of the chunked body), which clients see as an incomplete answer.
 *
 * Both are recorded in the audit log (`subject.erase`, `subject.export`) with the target
 * {@link subjectTarget}; an export's record is written when the stream ends, with its outcome and the
 * number of entries sent.
 */
export const subjectRoutes: FastifyPluginAsyncZod<SubjectRoutesOptions> = async (app, { audit }) => {
  app.post(
    '/v1/erase',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: 'Erase a user or the tenant',
        description:
          "Removes every entry of the user (userId) of the key's tenant, or with {} of the whole tenant and its users, from every tier and every " +
          'instance (GDPR art. 17). Entries written meanwhile may survive: stop writing for the subject first. Role admin.',
        tags: ['subjects'],
        security,
        body: eraseBodySchema,
        response: { 200: eraseResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { view, tenant, principal } = callerOf(request)
      const { userId } = request.body
      const subject: Subject = userId === undefined ? { tenantId: tenant } : { tenantId: tenant, userId }
      const event = { action: 'subject.erase' as const, keyId: principal.id, tenant, target: subjectTarget(tenant, userId) }
      try {
        await view.erase(subject)
      } catch (error) {
        await audit.record(request, { ...event, outcome: 'error' })
        throw error
      }
      await audit.record(request, { ...event, outcome: 'ok' })
      const erased: 'user' | 'tenant' = userId === undefined ? 'tenant' : 'user'
      return { erased }
    },
  )

  app.get(
    '/v1/export',
    {
      config: { access: { role: 'admin' } },
      // A HEAD would run the whole export to send nothing.
      exposeHeadRoute: false,
      schema: {
        summary: 'Export a user or the tenant',
        description:
          "Every stored entry of the user (userId) of the key's tenant, or of the whole tenant and its users (GDPR art. 20), streamed as " +
          'NDJSON: one JSON object per line. A failure after the first line closes the connection before the end of the body. Role admin.',
        tags: ['subjects'],
        security,
        querystring: exportQuerySchema,
        response: {
          200: { description: 'One exported entry per line.', content: { 'application/x-ndjson': { schema: exportLineSchema } } },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { view, tenant, principal } = callerOf(request)
      const { userId } = request.query
      const subject: Subject = userId === undefined ? { tenantId: tenant } : { tenantId: tenant, userId }
      const event = { action: 'subject.export' as const, keyId: principal.id, tenant, target: subjectTarget(tenant, userId) }
      const entries = view.exportSubject(subject)
      // The first entry is read before answering, so that a tier that is down, or anything else that
      // fails at once, answers a coded error rather than an empty 200.
      let first: IteratorResult<ExportedEntry, void>
      try {
        first = await entries.next()
      } catch (error) {
        await audit.record(request, { ...event, outcome: 'error', detail: 'failed before the first entry' })
        throw error
      }
      reply.header('cache-control', 'no-store').type(NDJSON_TYPE)
      const stream = Readable.from(lines(request, audit, event, entries, first), { objectMode: false })
      // The type provider expects one line's object (the 200 schema, for the OpenAPI document); a
      // stream is sent as it is, never through the serializer.
      return reply.send(stream as unknown as z.output<typeof exportLineSchema>)
    },
  )
}

/**
 * The export's lines, pulled one at a time as the socket drains (nothing is buffered beyond the
 * stream's high-water mark), and its audit record once it ends, however it ends.
 */
async function* lines(
  request: FastifyRequest,
  audit: ServerAudit,
  event: { readonly action: 'subject.export'; readonly keyId: string; readonly tenant: string; readonly target: string },
  entries: AsyncGenerator<ExportedEntry, void, undefined>,
  first: IteratorResult<ExportedEntry, void>,
): AsyncGenerator<string, void, undefined> {
  let sent = 0
  let outcome: AuditOutcome = 'error'
  let detail = 'the client went away'
  try {
    for (let next = first; next.done !== true; next = await entries.next()) {
      yield exportLine(next.value)
      sent++
    }
    outcome = 'ok'
    detail = ''
  } catch (error) {
    detail = 'failed while streaming'
    throw error
  } finally {
    // Ends the cache's listing when the stream stops early (a failure, or the client closing).
    await entries.return(undefined).catch(() => undefined)
    await audit.record(request, { ...event, outcome, detail: [`entries=${sent}`, detail].filter((part) => part !== '').join('; ') })
  }
}
