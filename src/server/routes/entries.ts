/**
 * `/v1/entries/:namespace/...`: read, write and delete single entries, read many at once, and list a
 * namespace's keys; always in the scope of the caller's tenant (see `access.ts`).
 *
 * Keys travel percent-encoded in the path (`encodeURIComponent(key)`), so any key round-trips,
 * `/`, `%`, spaces and unicode included. The exceptions are the keys `.` and `..`: WHATWG URL
 * clients (browsers, fetch, most libraries) resolve them, encoded or not, as dot segments before
 * sending. They can be read through `batch-get`.
 */
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Cache, SetOptions } from '../../cache/cache.js'
import { toMs } from '../../core/duration.js'
import type { Served } from '../../core/entry.js'
import { NotFoundError } from '../../errors.js'
import { callerOf } from '../access.js'
import { keyPage } from '../listing.js'
import { DEFAULT_LIST_LIMIT, type RouteSchemas, errorResponseSchema, servedSchema } from '../schemas.js'
import { explainEntry } from '../explain.js'
import { entryReadChecks } from '../fast-validation.js'
import { serializeServed } from '../serializers.js'
import type { TopKeys } from '../../metrics/top-keys.js'

/** Options of {@link entryRoutes}. */
export interface EntryRoutesOptions {
  readonly schemas: RouteSchemas
  /** The cache's `limits.maxKeyLength`, as the schemas check it. */
  readonly maxKeyLength: number
  /** Fed with every key a read looks up and every write, for `/v1/stats`. */
  readonly topKeys: TopKeys
}

// Shared: the cache checks an options object once, then remembers it. A fresh-only read passes none.
const ALLOW_STALE = { allowStale: true }

/** Most namespace views held by {@link namespaceView}, over all tenants; past it, all are dropped. */
const MAX_NAMESPACE_VIEWS = 10_000

/**
 * Each tenant view's namespace views, made once: `namespace()` checks the name and builds a view,
 * which a read would otherwise pay for on every request. Views are immutable.
 */
function namespaceViews(): (view: Cache, name: string) => Cache {
  const byView = new Map<Cache, Map<string, Cache>>()
  let held = 0
  return (view, name) => {
    let byName = byView.get(view)
    let found = byName?.get(name)
    if (found !== undefined) return found
    // Throws InvalidNamespaceError before anything is held.
    found = view.namespace(name)
    if (held >= MAX_NAMESPACE_VIEWS) {
      byView.clear()
      held = 0
      byName = undefined
    }
    if (byName === undefined) {
      byName = new Map()
      byView.set(view, byName)
    }
    byName.set(name, found)
    held++
    return found
  }
}

/** Answers a read: the JSON `servedSchema` describes, written by hand (see serializers.ts). */
function sendServed(reply: FastifyReply, served: Served<unknown>): void {
  void reply.type(JSON_TYPE).send(serializeServed(served))
}

const JSON_TYPE = 'application/json; charset=utf-8'
const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
const security = [{ bearerAuth: [] }]
const acrossTenants = ' A service key may act for another tenant by naming it in X-Tiercache-Tenant.'

/**
 * Registers, each in the caller's tenant scope (a service key may name another tenant with
 * `X-Tiercache-Tenant`):
 * - `GET /v1/entries/:namespace/:key[?allowStale=true]` (role read) → 200 `Served`, or 404
 *   `TC_NOT_FOUND` when there is no fresh value (no value within grace, with `allowStale`);
 * - `PUT /v1/entries/:namespace/:key` (write) with `{ value, ttl?, grace?, tags?, policy?, context? }` → 204, no body;
 * - `DELETE /v1/entries/:namespace/:key` (write) → 200 `{ deleted }`;
 * - `POST /v1/entries/:namespace/batch-get` (read) with `{ keys, allowStale? }` → 200 `{ entries }`,
 *   one per key, in order;
 * - `GET /v1/entries/:namespace[?limit=&after=]` (read) → 200 `{ keys, next }`: one page of the
 *   namespace's keys (`limit` 1 to 1000, default 100), `next` the `after` of the next page or null.
 */
export const entryRoutes: FastifyPluginAsyncZod<EntryRoutesOptions> = async (app, { schemas, topKeys, maxKeyLength }) => {
  const readChecks = entryReadChecks(maxKeyLength, schemas.entryParams, schemas.getQuery)
  const namespaceView = namespaceViews()
  app.get(
    '/v1/entries/:namespace/:key',
    {
      config: { access: { role: 'read', acrossTenants: true } },
      validatorCompiler: readChecks.compiler,
      schema: {
        summary: 'Read an entry',
        description: `Role read.${acrossTenants}`,
        tags: ['entries'],
        security,
        params: schemas.entryParams,
        querystring: schemas.getQuery,
        response: { 200: servedSchema, ...errors },
      },
    },
    // Not async: a fresh L1 hit is answered in this tick, without the promise and the microtask an
    // async handler costs every request; anything else goes through getWithInfo. The params and the
    // query are checked here, not by Fastify (see fast-validation.ts).
    (request, reply) => {
      const { view, tenant } = callerOf(request)
      const { namespace, key, allowStale, explain } = readChecks.read(request.params, request.query)
      if (explain) return explainEntry(request, reply, namespace, key)
      const cache = namespaceView(view, namespace)
      const options = allowStale ? ALLOW_STALE : undefined
      const hit = cache.getWithInfoNow(key, options)
      if (hit !== undefined) {
        topKeys.count(tenant, namespace, key, true)
        sendServed(reply, hit)
        return
      }
      return cache.getWithInfo(key, options).then((served) => {
        topKeys.count(tenant, namespace, key, served !== undefined)
        if (served === undefined) throw new NotFoundError(allowStale ? 'no entry under this key' : 'no fresh entry under this key')
        sendServed(reply, served)
      })
    },
  )

  app.put(
    '/v1/entries/:namespace/:key',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Store an entry',
        description: `Stores the value in every tier. Answers 204 with no body. Role write.${acrossTenants}`,
        tags: ['entries'],
        security,
        params: schemas.entryParams,
        body: schemas.putBody,
        response: { 204: z.null().describe('Stored.'), ...errors },
      },
    },
    async (request, reply) => {
      const { view, tenant } = callerOf(request)
      const { namespace, key } = request.params
      const { value, ttl, grace, tags, policy, context } = request.body
      const options: SetOptions = {
        ...(ttl === undefined ? {} : { ttl }),
        ...(grace === undefined ? {} : { grace }),
        ...(tags === undefined ? {} : { tags }),
        ...(policy === undefined ? {} : { policy }),
        ...(context === undefined ? {} : { context }),
      }
      // The cache validates everything (durations, configured limits, encoded size) before it
      // writes, so a rejected request leaves stored data as it was.
      await view.namespace(namespace).set(key, value, options)
      // The body's size stands for the entry's: cheaper than encoding the value again.
      topKeys.wrote(tenant, namespace, key, ttl === undefined ? undefined : toMs(ttl, 'ttl'), Number(request.headers['content-length'] ?? 0))
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/v1/entries/:namespace/:key',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Delete an entry',
        description: `Role write.${acrossTenants}`,
        tags: ['entries'],
        security,
        params: schemas.entryParams,
        response: { 200: schemas.deleteResponse, ...errors },
      },
    },
    async (request) => {
      const { view } = callerOf(request)
      const { namespace, key } = request.params
      const deleted = await view.namespace(namespace).delete(key)
      return { deleted }
    },
  )

  app.post(
    '/v1/entries/:namespace/batch-get',
    {
      config: { access: { role: 'read', acrossTenants: true } },
      schema: {
        summary: 'Read many entries',
        description: `One result per requested key, in order; duplicates are answered each time. Role read.${acrossTenants}`,
        tags: ['entries'],
        security,
        params: schemas.namespaceParams,
        body: schemas.batchGetBody,
        response: { 200: schemas.batchGetResponse, ...errors },
      },
    },
    async (request) => {
      const { view, tenant } = callerOf(request)
      const { keys, allowStale } = request.body
      const { namespace } = request.params
      const results = await view.namespace(namespace).getManyWithInfo(keys, { allowStale: allowStale ?? false })
      keys.forEach((key, index) => topKeys.count(tenant, namespace, key, results[index] !== undefined))
      return {
        entries: keys.map((key, index) => {
          const served = results[index]
          return served === undefined ? { key, found: false } : { key, found: true, ...served }
        }),
      }
    },
  )

  app.get(
    '/v1/entries/:namespace',
    {
      config: { access: { role: 'read', acrossTenants: true } },
      schema: {
        summary: 'List keys',
        description:
          `One page of the namespace's keys, in the storage tier's order; pass next as after for the following page. ` +
          `Keys of entries past their ttl but within grace are listed too. Role read.${acrossTenants}`,
        tags: ['entries'],
        security,
        params: schemas.namespaceParams,
        querystring: schemas.listQuery,
        response: { 200: schemas.listResponse, ...errors },
      },
    },
    async (request) => {
      const { view } = callerOf(request)
      const { limit, after } = request.query
      return keyPage(view.namespace(request.params.namespace), limit ?? DEFAULT_LIST_LIMIT, after)
    },
  )
}
