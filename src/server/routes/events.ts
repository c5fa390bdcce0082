/**
 * `POST /v1/events` and `GET /v1/rules`: the invalidation rules of the policy layer (docs/rules.md)
 * over HTTP. An event is emitted by the caller's tenant view, so it invalidates in that tenant's scope
 * only.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { EventTargets } from '../../cache/policy-hook.js'
import { namespaceSchema } from '../../core/validate.js'
import { BadRequestError, isTiercacheError } from '../../errors.js'
import type { Policy } from '../../policy/layer.js'
import { EVENT_NAME, MAX_RULE_TARGETS } from '../../policy/rules/schema.js'
import { callerOf } from '../access.js'
import type { ServerAudit } from '../audit.js'
import { errorResponseSchema } from '../schemas.js'

/** Options of {@link eventRoutes}. */
export interface EventRoutesOptions {
  /** The policy layer whose rules `GET /v1/rules` lists: the one the cache was created with. */
  readonly policy: Policy | undefined
  readonly audit: ServerAudit
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
const security = [{ bearerAuth: [] }]

/** Most params in one event. */
const MAX_EVENT_PARAMS = 64

const paramValueSchema = z.union([z.string().max(1024, 'must be at most 1024 characters'), z.number().finite()], {
  error: 'must be a string or a finite number',
})

/** `POST /v1/events`. */
export const emitBodySchema = z.strictObject({
  event: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required: the event name, e.g. flight.updated' : 'must be a string') })
    .max(128)
    .regex(EVENT_NAME, 'must be dotted words of [A-Za-z0-9_-], e.g. flight.updated')
    .describe('The event, as the rules name it: flight.updated.'),
  params: z
    .record(z.string(), paramValueSchema)
    .refine((params) => Object.keys(params).length <= MAX_EVENT_PARAMS, `must have at most ${MAX_EVENT_PARAMS} params`)
    .optional()
    .describe('The values of the rule\'s {param} templates: { "id": "BA117" }. Params the rule does not declare are ignored.'),
  namespace: namespaceSchema
    .optional()
    .describe("Where a rule without `in` removes its tags, in the key's tenant. Default: the cache's default namespace."),
})

const targetsSchema = z.object({
  tags: z.array(z.string()).describe('The tags removed.'),
  namespaces: z.array(z.string()).describe('The namespaces cleared whole.'),
  tagsIn: z.array(z.string()).optional().describe("The namespaces the tags were removed in, when the rule names them (in); else the request's namespace."),
})

/** `POST /v1/events`: what the event invalidated. */
export const emitResponseSchema = z.object({ event: z.string(), invalidated: targetsSchema })

/** `GET /v1/rules`: the rules of the policy layer. */
export const rulesResponseSchema = z.object({
  rules: z.array(
    z.object({
      event: z.string(),
      params: z.array(z.string()),
      tags: z.array(z.string()).describe('Tag templates: template:{id}.'),
      namespaces: z.array(z.string()).describe('Namespaces cleared, as templates.'),
      in: z.array(z.string()).max(MAX_RULE_TARGETS).optional().describe('Where the tags are removed, as templates.'),
      description: z.string().optional(),
    }),
  ),
})

/** What an event invalidated, as the audit log's target: names only, never values of entries. */
function auditTarget(event: string, targets: EventTargets | undefined, namespace: string | undefined): string {
  const parts = [`event=${event}`]
  if (namespace !== undefined) parts.push(`namespace=${namespace}`)
  if (targets !== undefined) {
    if (targets.tags.length > 0) parts.push(`tags=${targets.tags.join(',')}`)
    if (targets.tagsIn !== undefined) parts.push(`in=${targets.tagsIn.join(',')}`)
    if (targets.namespaces.length > 0) parts.push(`namespaces=${targets.namespaces.join(',')}`)
  }
  return parts.join(' ')
}

/**
 * Registers:
 * - `POST /v1/events` (role write; a service key may name a tenant) with `{ event, params?,
 *   namespace? }` → 200 `{ event, invalidated: { tags, namespaces, tagsIn? } }`: the caller's tenant
 *   view emits the event (`cache.emit`): the tags of its rule are removed (in the rule's `in`
 *   namespaces, else in `namespace`), its namespaces cleared, from every tier and every instance,
 *   in that tenant's scope only. Recorded in the audit log (`cache.invalidate`, target
 *   `event=... tags=... namespaces=...`). An event no rule declares answers 404 `TC_UNKNOWN_EVENT`;
 *   a missing or unusable param 400 `TC_BAD_REQUEST`;
 * - `GET /v1/rules` (role read) → 200 `{ rules }`: every rule, by event name, with its templates;
 *   `[]` when the server was given no policy.
 */
export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, { policy, audit }) => {
  app.post(
    '/v1/events',
    {
      config: { access: { role: 'write', acrossTenants: true } },
      schema: {
        summary: 'Emit an event',
        description:
          "Invalidates what the event's rule names, with its {param} templates filled in: removes the tags (in the rule's in namespaces, else in namespace) " +
          "and clears the namespaces, in the key's tenant only, from every tier and every instance. Role write. " +
          'A service key may act for another tenant by naming it in X-Tiercache-Tenant.',
        tags: ['events'],
        security,
        body: emitBodySchema,
        response: { 200: emitResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { view, tenant, principal } = callerOf(request)
      const { event, params = {}, namespace } = request.body
      const record = {
        action: 'cache.invalidate' as const,
        keyId: principal.id,
        tenant,
        ...(tenant === principal.tenant ? {} : { detail: `by a service key of tenant ${principal.tenant}` }),
      }
      let targets: EventTargets
      try {
        targets = await (namespace === undefined ? view : view.namespace(namespace)).emit(event, params)
      } catch (error) {
        // A param the rule cannot use is the body's fault: answered as the other body problems are.
        if (isTiercacheError(error, 'TC_INVALID_OPTIONS')) throw new BadRequestError(`body.params: ${error.message}`, { cause: error })
        // Nothing was invalidated for an event no rule declares; anything else failed midway.
        if (!isTiercacheError(error, 'TC_UNKNOWN_EVENT')) await audit.record(request, { ...record, target: auditTarget(event, undefined, namespace), outcome: 'error' })
        throw error
      }
      await audit.record(request, { ...record, target: auditTarget(event, targets, namespace), outcome: 'ok' })
      return {
        event,
        invalidated: { tags: [...targets.tags], namespaces: [...targets.namespaces], ...(targets.tagsIn === undefined ? {} : { tagsIn: [...targets.tagsIn] }) },
      }
    },
  )

  app.get(
    '/v1/rules',
    {
      config: { access: { role: 'read' } },
      schema: {
        summary: 'List the invalidation rules',
        description: 'Every rule of the policy layer, by event name: its params, the tags it removes and the namespaces it clears, as templates. Role read.',
        tags: ['events'],
        security,
        response: { 200: rulesResponseSchema, ...errors },
      },
    },
    () => ({
      rules: (policy?.rules.list() ?? []).map(({ in: where, ...rule }) => ({
        ...rule,
        params: [...rule.params],
        tags: [...rule.tags],
        namespaces: [...rule.namespaces],
        ...(where === undefined ? {} : { in: [...where] }),
      })),
    }),
  )
}
