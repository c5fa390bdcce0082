/**
 * `/v1/entries/:namespace/...`: read, write and delete single entries, and read many at once.
 *
 * Keys travel percent-encoded in the path (`encodeURIComponent(key)`), so any key round-trips,
 * `/`, `%`, spaces and unicode included. The exceptions are the keys `.` and `..`: WHATWG URL
 * clients (browsers, fetch, most libraries) resolve them, encoded or not, as dot segments before
 * sending. They can be read through `batch-get`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Cache, SetOptions } from '../../cache/cache.js'
import { NotFoundError } from '../../errors.js'
import { type RouteSchemas, errorResponseSchema, servedSchema } from '../schemas.js'

/** Options of {@link entryRoutes}. */
export interface EntryRoutesOptions {
  readonly cache: Cache
  readonly schemas: RouteSchemas
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }

/**
 * Registers:
 * - `GET /v1/entries/:namespace/:key[?allowStale=true]` → 200 `Served`, or 404 `TC_NOT_FOUND` when
 *   there is no fresh value (no value within grace, with `allowStale`);
 * - `PUT /v1/entries/:namespace/:key` with `{ value, ttl?, grace?, tags? }` → 204, no body;
 * - `DELETE /v1/entries/:namespace/:key` → 200 `{ deleted }`;
 * - `POST /v1/entries/:namespace/batch-get` with `{ keys, allowStale? }` → 200 `{ entries }`, one
 *   per key, in order.
 */
export const entryRoutes: FastifyPluginAsyncZod<EntryRoutesOptions> = async (app, { cache, schemas }) => {
  app.get(
    '/v1/entries/:namespace/:key',
    {
      schema: {
        summary: 'Read an entry',
        tags: ['entries'],
        params: schemas.entryParams,
        querystring: schemas.getQuery,
        response: { 200: servedSchema, ...errors },
      },
    },
    async (request) => {
      const { namespace, key } = request.params
      const served = await cache.namespace(namespace).getWithInfo(key, { allowStale: request.query.allowStale ?? false })
      if (served === undefined) {
        throw new NotFoundError(request.query.allowStale === true ? 'no entry under this key' : 'no fresh entry under this key')
      }
      return served
    },
  )

  app.put(
    '/v1/entries/:namespace/:key',
    {
      schema: {
        summary: 'Store an entry',
        description: 'Stores the value in every tier. Answers 204 with no body.',
        tags: ['entries'],
        params: schemas.entryParams,
        body: schemas.putBody,
        response: { 204: z.null().describe('Stored.'), ...errors },
      },
    },
    async (request, reply) => {
      const { namespace, key } = request.params
      const { value, ttl, grace, tags } = request.body
      const options: SetOptions = {
        ...(ttl === undefined ? {} : { ttl }),
        ...(grace === undefined ? {} : { grace }),
        ...(tags === undefined ? {} : { tags }),
      }
      // The cache validates everything (durations, configured limits, encoded size) before it
      // writes, so a rejected request leaves stored data as it was.
      await cache.namespace(namespace).set(key, value, options)
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/v1/entries/:namespace/:key',
    {
      schema: {
        summary: 'Delete an entry',
        tags: ['entries'],
        params: schemas.entryParams,
        response: { 200: schemas.deleteResponse, ...errors },
      },
    },
    async (request) => {
      const { namespace, key } = request.params
      return { deleted: await cache.namespace(namespace).delete(key) }
    },
  )

  app.post(
    '/v1/entries/:namespace/batch-get',
    {
      schema: {
        summary: 'Read many entries',
        description: 'One result per requested key, in order; duplicates are answered each time.',
        tags: ['entries'],
        params: schemas.namespaceParams,
        body: schemas.batchGetBody,
        response: { 200: schemas.batchGetResponse, ...errors },
      },
    },
    async (request) => {
      const { keys, allowStale } = request.body
      const results = await cache.namespace(request.params.namespace).getManyWithInfo(keys, { allowStale: allowStale ?? false })
      return {
        entries: keys.map((key, index) => {
          const served = results[index]
          return served === undefined ? { key, found: false } : { key, found: true, ...served }
        }),
      }
    },
  )
}
