/**
 * `POST /v1/http/purge`: purges of the shared HTTP cache (docs/http-cache.md) by surrogate key, URL
 * or prefix, hard or soft, through the server, so that every tier and, through the bus, every
 * instance's L1 drops them. The HTTP cache stores in the public scope, which no tenant owns: only an
 * operator's key (`service`) may purge it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Cache } from '../../cache/cache.js'
import { namespaceSchema } from '../../core/validate.js'
import { ForbiddenError, InvalidNamespaceError, InvalidOptionsError } from '../../errors.js'
import type { HttpCache } from '../../http-cache/index.js'
import { purgeHttp } from '../../http-cache/purge.js'
import { callerOf } from '../access.js'
import type { ServerAudit } from '../audit.js'
import { errorResponseSchema } from '../schemas.js'

/** Options of {@link httpRoutes}. */
export interface HttpRoutesOptions {
  /** The server's cache: its public scope holds the HTTP cache's responses. */
  readonly cache: Cache
  /** The server's HTTP cache, if it has one: its namespace and clock are the purge's defaults. */
  readonly http?: HttpCache
  readonly audit: ServerAudit
}

/** Entries of each list of a purge, at most: a purge names what changed, not a site map. */
export const MAX_PURGE_ITEMS = 1000

/** The namespace of an HTTP cache's responses unless told otherwise (as `createHttpCache`'s). */
export const DEFAULT_HTTP_NAMESPACE = 'http'

const items = (what: string) => z.array(z.string().min(1).max(8192)).max(MAX_PURGE_ITEMS).optional().describe(what)

/** The body of `POST /v1/http/purge`. */
export const httpPurgeBodySchema = z.strictObject({
  keys: items('Surrogate keys, as the origin gave them in Surrogate-Key (or the configured field).'),
  urls: items('Absolute http(s) URLs: every method and variant of each.'),
  prefixes: items('Absolute http(s) URL prefixes, by whole path segments, at most 8 deep; https://host/ is the whole site. Query strings are ignored.'),
  soft: z.boolean().optional().describe('Mark stale instead of removing: the next request revalidates, or is served stale as the response allows. Default false.'),
  namespace: namespaceSchema.optional().describe("The HTTP cache's namespace. Default: the server's HTTP cache's, else http."),
})

type HttpPurgeBody = z.infer<typeof httpPurgeBodySchema>

const httpPurgeResponseSchema = z.object({
  namespace: z.string(),
  tags: z.array(z.string()).describe('The tags purged: the surrogate keys as given, and a hash per URL and prefix.'),
  soft: z.boolean(),
})

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }

/**
 * The body, checked before Fastify's validation (whose failure would be `TC_BAD_REQUEST`, or
 * `TC_INVALID_KEY` for `keys`, which here are surrogate keys): an invalid purge answers what the
 * library throws for it, `TC_INVALID_OPTIONS`, whether the edge or `purgeHttp` finds it.
 * @throws InvalidNamespaceError, InvalidOptionsError
 */
function checkedBody(body: unknown): HttpPurgeBody {
  const parsed = httpPurgeBodySchema.safeParse(body)
  if (parsed.success) return parsed.data
  const first = parsed.error.issues[0]
  if (first?.path[0] === 'namespace') throw new InvalidNamespaceError(`body.namespace: ${first.message}`)
  throw new InvalidOptionsError(`invalid purge: ${z.prettifyError(parsed.error)}`)
}

/** Refuses a key without the `service` role, as `GET /metrics` does, audited as `auth.failure`. */
async function requireService(request: FastifyRequest, reply: FastifyReply, audit: ServerAudit): Promise<void> {
  const { principal } = callerOf(request)
  if (principal.roles.includes('service')) return
  const reason = "the HTTP cache is shared by every tenant: purging it needs a key with the write and service roles (a tenant's own key may not)"
  await audit.refusal(request, principal.id, { action: 'auth.failure', outcome: 'denied', keyId: principal.id, tenant: principal.tenant, target: 'POST /v1/http/purge', detail: reason })
  reply.header('www-authenticate', 'Bearer realm="tiercache", error="insufficient_scope"')
  throw new ForbiddenError(reason)
}

/** What the audit log says was purged: the lists as given (never a response), cut by the log's own bound. */
function targetOf(namespace: string, body: HttpPurgeBody): string {
  const lists = (['keys', 'urls', 'prefixes'] as const).flatMap((name) => (body[name] === undefined || body[name].length === 0 ? [] : [`${name}=${body[name].join(',')}`]))
  return [`http namespace=${namespace}`, ...lists, `soft=${body.soft === true}`].join(' ')
}

/**
 * Registers `POST /v1/http/purge` (role write, and the key must be a `service` key) with
 * `{ keys?, urls?, prefixes?, soft?, namespace? }` (at least one key, URL or prefix) → 200
 * `{ namespace, tags, soft }`: the HTTP cache's stored responses carrying one of the surrogate keys,
 * of one of the URLs (every method and variant) or under one of the prefixes, removed from every tier
 * and instance, or with `soft` marked stale (see `purgeHttp`). `namespace` defaults to the server's
 * HTTP cache's, else `http`. Recorded in the audit log (`cache.invalidate`, target `http namespace=...`).
 * An invalid purge (none named, a URL that is not absolute http(s), a prefix deeper than 8 segments,
 * an unknown field) answers 400 `TC_INVALID_OPTIONS` and purges nothing; a bad namespace 400
 * `TC_INVALID_NAMESPACE`; a key without `service` 403 `TC_FORBIDDEN`.
 */
export const httpRoutes: FastifyPluginAsyncZod<HttpRoutesOptions> = async (app, { cache, http, audit }) => {
  app.post(
    '/v1/http/purge',
    {
      config: { access: { role: 'write' } },
      // Who may purge first, then what: a refused key learns nothing of the body's rules.
      preValidation: async (request, reply) => {
        await requireService(request, reply, audit)
        checkedBody(request.body)
      },
      schema: {
        summary: 'Purge the HTTP cache',
        description:
          "Removes, or with soft marks stale, the HTTP cache's stored responses that carry a surrogate key, of a URL, or under a URL prefix, " +
          'from every tier and every instance. Role write, with service: the HTTP cache is shared by every tenant.',
        tags: ['http'],
        security: [{ bearerAuth: [] }],
        body: httpPurgeBodySchema,
        response: { 200: httpPurgeResponseSchema, ...errors },
      },
    },
    async (request) => {
      const body = request.body
      const namespace = body.namespace ?? http?.options.cache.name ?? DEFAULT_HTTP_NAMESPACE
      // The server's HTTP cache's own view and clock, so that a soft purge is dated as its responses are.
      const own = http !== undefined && namespace === http.options.cache.name
      const view = own ? http.options.cache : cache.namespace(namespace)
      const { principal } = callerOf(request)
      const event = { action: 'cache.invalidate' as const, keyId: principal.id, tenant: principal.tenant, target: targetOf(namespace, body) }
      const purge = { ...(body.keys === undefined ? {} : { keys: body.keys }), ...(body.urls === undefined ? {} : { urls: body.urls }), ...(body.prefixes === undefined ? {} : { prefixes: body.prefixes }), soft: body.soft === true }
      let purged
      try {
        purged = await purgeHttp(view, purge, own ? http.options.now : Date.now)
      } catch (error) {
        await audit.record(request, { ...event, outcome: 'error' })
        throw error
      }
      await audit.record(request, { ...event, outcome: 'ok' })
      return { namespace, tags: [...purged.tags], soft: purged.soft }
    },
  )
}
