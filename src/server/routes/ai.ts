/**
 * The AI gateway (docs/ai.md): `POST /v1/ai/chat/completions`, OpenAI-compatible, so that the
 * official client works with `baseURL: '<server>/v1/ai'` and its tiercache API key as `apiKey`.
 * Answers are stored in the caller's tenant view, so tenants never share one.
 */
import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { type AiAnswer, type AiCache, type AiCallOptions, type AiStreamAnswer } from '../../ai/index.js'
import type { CallContext } from '../../cache/policy-hook.js'
import { toMs } from '../../core/duration.js'
import { BadRequestError, isTiercacheError } from '../../errors.js'
import { callerOf } from '../access.js'

/** Options of {@link aiRoutes}. */
export interface AiRoutesOptions {
  readonly ai: AiCache
}

const security = [{ bearerAuth: [] }]

/** The request headers the gateway reads, beside `Cache-Control`. */
export const AI_HEADERS = {
  cacheType: 'x-tiercache-cache-type',
  bypass: 'x-tiercache-bypass',
  refresh: 'x-tiercache-refresh',
  ttl: 'x-tiercache-ttl',
  tags: 'x-tiercache-tags',
  context: 'x-tiercache-context',
  namespace: 'x-tiercache-namespace',
  scope: 'x-tiercache-scope',
  semantic: 'x-tiercache-semantic',
  user: 'x-tiercache-user',
} as const

/**
 * The AI cache in the caller's scope: its tenant's, or with `x-tiercache-scope: user` its user's
 * (the user of `x-tiercache-user`, else of the request's `safety_identifier` or `user` field), so
 * that one user's answers never reach another, and `POST /v1/erase` of the user removes them.
 * @throws BadRequestError (`TC_BAD_REQUEST`) for another scope, or user scope without a user
 */
function cacheOf(request: FastifyRequest, ai: AiCache, userId?: string): AiCache {
  const { view, tenant } = callerOf(request)
  const scope = header(request, AI_HEADERS.scope)
  if (scope === undefined && userId === undefined) return ai.forView(view)
  if (scope !== undefined && scope !== 'user' && scope !== 'tenant') throw new BadRequestError(`header ${AI_HEADERS.scope} must be user or tenant`)
  if (scope === 'tenant') return ai.forView(view)
  const body = (request.body ?? {}) as { readonly user?: unknown; readonly safety_identifier?: unknown }
  const user = userId ?? header(request, AI_HEADERS.user) ?? [body.safety_identifier, body.user].find((field): field is string => typeof field === 'string' && field !== '')
  if (user === undefined) throw new BadRequestError(`user scope needs a user: the header ${AI_HEADERS.user}, or the request's safety_identifier or user field`)
  return ai.forView(ai.cache.withContext({ role: view.scope.role ?? 'authenticated', tenantId: tenant, userId: user }, { scope: 'user' }))
}

/** `x-tiercache-context`: a JSON object of strings, numbers and booleans. @throws BadRequestError */
function contextHeader(request: FastifyRequest): CallContext | undefined {
  const value = header(request, AI_HEADERS.context)
  if (value === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new BadRequestError(`header ${AI_HEADERS.context} must be a JSON object, such as {"market":"Austin","budget":12000}`)
  }
  const fields = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.entries(parsed) : undefined
  if (fields === undefined || !fields.every(([, field]) => ['string', 'number', 'boolean'].includes(typeof field))) {
    throw new BadRequestError(`header ${AI_HEADERS.context} must be a JSON object of strings, numbers and booleans`)
  }
  return Object.fromEntries(fields) as CallContext
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return typeof value === 'string' ? value.trim() : undefined
}

/**
 * The call's options from its headers: `x-tiercache-bypass: true` or `Cache-Control: no-store`
 * bypasses, `x-tiercache-refresh: true` or `Cache-Control: no-cache` refreshes, `Cache-Control:
 * max-age=<s>` refreshes an older answer (RFC 9111 §5.2.1), `x-tiercache-ttl` (`5m`), and
 * `x-tiercache-tags` (comma-separated), `x-tiercache-cache-type`, `x-tiercache-context` (a JSON object), `x-tiercache-namespace`, `x-tiercache-semantic: false`; `x-tiercache-scope` and
 * `x-tiercache-user` are read by `cacheOf`.
 * @throws BadRequestError (`TC_BAD_REQUEST`) for a header that cannot be read
 */
export function callOptionsOf(request: FastifyRequest): AiCallOptions {
  const cacheControl = (header(request, 'cache-control') ?? '').toLowerCase().split(',').map((directive) => directive.trim())
  const flag = (name: string) => {
    const value = header(request, name)
    if (value === undefined) return false
    if (value === 'true' || value === '1') return true
    if (value === 'false' || value === '0') return false
    throw new BadRequestError(`header ${name} must be true or false`)
  }
  const maxAge = cacheControl.find((directive) => directive.startsWith('max-age='))
  const maxAgeSeconds = maxAge === undefined ? undefined : Number(maxAge.slice('max-age='.length))
  if (maxAgeSeconds !== undefined && !(Number.isInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) throw new BadRequestError('Cache-Control max-age must be whole seconds')
  const ttl = header(request, AI_HEADERS.ttl)
  let ttlMs: number | undefined
  try {
    ttlMs = ttl === undefined ? undefined : toMs(/^\d+$/.test(ttl) ? Number(ttl) : ttl, AI_HEADERS.ttl)
  } catch (error) {
    throw new BadRequestError(isTiercacheError(error) ? error.message : `header ${AI_HEADERS.ttl} must be a duration`, { cause: error })
  }
  const tags = header(request, AI_HEADERS.tags)
  return {
    cacheType: header(request, AI_HEADERS.cacheType),
    bypass: flag(AI_HEADERS.bypass) || cacheControl.includes('no-store'),
    refresh: flag(AI_HEADERS.refresh) || cacheControl.includes('no-cache'),
    maxAgeMs: maxAgeSeconds === undefined ? undefined : maxAgeSeconds * 1000,
    ttl: ttlMs,
    tags: tags === undefined || tags === '' ? undefined : tags.split(',').map((tag) => tag.trim()),
    context: contextHeader(request),
    namespace: header(request, AI_HEADERS.namespace),
    semantic: header(request, AI_HEADERS.semantic) === undefined ? undefined : flag(AI_HEADERS.semantic),
  }
}

function headers(reply: FastifyReply, answer: AiAnswer | AiStreamAnswer): FastifyReply {
  reply.header('x-tiercache-cache', answer.cache).header('age', String(Math.floor(answer.ageMs / 1000)))
  if (answer.bypassReason !== undefined) reply.header('x-tiercache-bypass-reason', answer.bypassReason)
  if (answer.similarity !== undefined) reply.header('x-tiercache-similarity', answer.similarity.toFixed(4))
  if (answer.saved !== undefined) {
    reply.header('x-tiercache-tokens-saved', String(answer.saved.promptTokens + answer.saved.completionTokens))
    if (answer.saved.costUsd !== undefined) reply.header('x-tiercache-cost-saved', answer.saved.costUsd.toFixed(6))
  }
  return reply
}

/** The JSON of answers' bodies, by body: a cached body is one object while L1 holds it, written once. */
const json = new WeakMap<object, string>()

function jsonOf(body: unknown): string {
  if (typeof body !== 'object' || body === null) return JSON.stringify(body) ?? 'null'
  let text = json.get(body)
  if (text === undefined) json.set(body, (text = JSON.stringify(body)))
  return text
}

/** A streamed answer: its bytes at once (a replay, with a content length), or as they come. */
function sendStream(reply: FastifyReply, answer: AiStreamAnswer): FastifyReply {
  headers(reply, answer).header('content-type', answer.contentType)
  const bytes = answer.body
  return reply.code(answer.status).send(bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Readable.from(bytes))
}

function send(reply: FastifyReply, answer: AiAnswer): FastifyReply {
  return headers(reply, answer).code(answer.status).type('application/json; charset=utf-8').send(jsonOf(answer.body))
}

/**
 * Registers `POST /v1/ai/responses` (the Responses API, as chat completions), `POST /v1/ai/embeddings`, `POST /v1/ai/invalidate` and `POST /v1/ai/retract` (role
 * write, in the caller's tenant), and `POST /v1/ai/chat/completions` (role write): the body is a chat completion request,
 * passed to the upstream as sent on a miss; the answer is the upstream's, or the cached one, with
 * `x-tiercache-cache: HIT | SEMANTIC-HIT | STALE | MISS | REFRESH | BYPASS`, `Age` (seconds),
 * `x-tiercache-similarity` for a semantic hit, and on a hit
 * `x-tiercache-tokens-saved` (prompt and completion tokens) and `x-tiercache-cost-saved` (US dollars,
 * when the model has a price). An upstream's
 * error answer passes through with its status and body, and is not stored; an upstream that cannot
 * be reached answers 502 `TC_UPSTREAM_ERROR`, one that times out 504 `TC_UPSTREAM_TIMEOUT`.
 * `stream: true` requests are answered as server-sent events: streamed from the upstream on a miss
 * and stored once complete, replayed on a hit (see `AiCache.chatStream`).
 */
export const aiRoutes: FastifyPluginAsyncZod<AiRoutesOptions> = async (app, { ai }) => {
  app.post(
    '/v1/ai/chat/completions',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Create a chat completion, cached',
        description:
          'OpenAI-compatible chat completions through the cache: the key is the canonical form of every field that can change the answer, ' +
          "partitioned by the key's tenant. Role write. Headers: x-tiercache-cache-type, x-tiercache-bypass, x-tiercache-refresh, " +
          'x-tiercache-ttl, x-tiercache-tags, x-tiercache-context, x-tiercache-namespace, Cache-Control no-store / no-cache / max-age.',
        tags: ['ai'],
        security,
        body: z.looseObject({}).describe('A chat completion request, as the OpenAI API takes it.'),
      },
    },
    async (request, reply) => {
      const options = callOptionsOf(request)
      const { body } = request
      const cache = cacheOf(request, ai)
      if (body.stream !== true) return send(reply, await cache.chat(body, options))
      return sendStream(reply, await cache.chatStream(body, options))
    },
  )
  app.post(
    '/v1/ai/responses',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Create a response (Responses API), cached',
        description:
          "The OpenAI Responses API through the cache, as chat completions: keyed by every field that can change the answer (previous_response_id included), partitioned by the key's tenant; " +
          'only completed responses are stored. Role write. The headers of chat completions apply.',
        tags: ['ai'],
        security,
        body: z.looseObject({}).describe('A Responses API request, as the OpenAI API takes it.'),
      },
    },
    async (request, reply) => {
      const options = callOptionsOf(request)
      const { body } = request
      const cache = cacheOf(request, ai)
      if (body.stream !== true) return send(reply, await cache.responses(body, options))
      return sendStream(reply, await cache.responsesStream(body, options))
    },
  )
  app.post(
    '/v1/ai/embeddings',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Create embeddings, cached',
        description:
          "OpenAI-compatible embeddings through the cache, keyed by every field but user, partitioned by the key's tenant. Role write. " +
          'The headers of chat completions apply.',
        tags: ['ai'],
        security,
        body: z.looseObject({}).describe('An embeddings request, as the OpenAI API takes it.'),
      },
    },
    async (request, reply) => send(reply, await cacheOf(request, ai).embeddings(request.body, callOptionsOf(request))),
  )

  app.post(
    '/v1/ai/invalidate',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Remove cached AI answers',
        description:
          "Removes the caller's tenant's answers of a cache type, of a model, and carrying any of the tags (the union); with none of them, " +
          'every answer of the namespace. Role write.',
        tags: ['ai'],
        security,
        body: z.strictObject({
          namespace: z.string().optional().describe("The namespace of the answers. Default 'ai'."),
          cacheType: z.string().optional(),
          model: z.string().optional(),
          tags: z.array(z.string()).max(1000).optional().describe('Tags given with x-tiercache-tags: the documents an answer used, say.'),
          userId: z.string().optional().describe("The user whose user-scoped answers to remove; without it, the tenant's."),
        }),
      },
    },
    async (request) => {
      const { userId, ...selector } = request.body
      await cacheOf(request, ai, userId).invalidate(selector)
      return { invalidated: request.body }
    },
  )

  app.post(
    '/v1/ai/retract',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Retract a wrong cached AI answer',
        description:
          'Removes the answer stored for a chat completion request, as asked with the same cache type, namespace and context: ' +
          'for an answer reported wrong. Role write.',
        tags: ['ai'],
        security,
        body: z.strictObject({
          request: z.looseObject({}).describe('The chat completion request whose answer is wrong.'),
          cacheType: z.string().optional(),
          namespace: z.string().optional(),
          context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
          userId: z.string().optional().describe('The user of a user-scoped answer.'),
        }),
      },
    },
    async (request) => {
      const { request: chat, userId, ...options } = request.body
      return { retracted: await cacheOf(request, ai, userId).retract(chat, options) }
    },
  )
}
