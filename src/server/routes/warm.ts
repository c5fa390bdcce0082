/**
 * `POST /v1/warm` and `GET /v1/warm/:id`: the warming jobs of the policy layer (docs/warming.md) over
 * HTTP. A run writes in the caller's tenant scope, and only that tenant's admins see it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Cache } from '../../cache/cache.js'
import { UnknownWarmRunError } from '../../errors.js'
import type { TopKeys } from '../../metrics/top-keys.js'
import type { Policy } from '../../policy/layer.js'
import type { HotKeySource } from '../../policy/warm/hot-keys.js'
import { JOB_NAME } from '../../policy/warm/schema.js'
import { Warmer, type WarmRunStatus } from '../../policy/warm/warmer.js'
import { callerOf } from '../access.js'
import { errorResponseSchema } from '../schemas.js'

/** Options of {@link warmRoutes}. */
export interface WarmRoutesOptions {
  readonly cache: Cache
  /** The policy layer whose `warm` section declares the jobs: the one the cache was created with. */
  readonly policy: Policy | undefined
  /** The server's per-tenant sketches of the busiest keys: where jobs with `hot` find them. */
  readonly topKeys: TopKeys
}

const errors = { '4xx': errorResponseSchema, '5xx': errorResponseSchema }
const security = [{ bearerAuth: [] }]

/** Most keys one request may name. */
export const MAX_WARM_REQUEST_KEYS = 10_000

/** `POST /v1/warm`. */
export const warmBodySchema = z.strictObject({
  job: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required: the name of a job of the warm section' : 'must be a string') })
    .regex(JOB_NAME, 'must be 1 to 128 of A-Z a-z 0-9 . _ : -')
    .describe('The job, as the warm section names it.'),
  keys: z
    .array(z.string().min(1).max(1024))
    .min(1)
    .max(MAX_WARM_REQUEST_KEYS)
    .optional()
    .describe("Load only these keys, through the job's sources (its source with {key}), instead of the whole job."),
})

const progressSchema = z.object({ done: z.number(), total: z.number(), loaded: z.number(), failed: z.number() })

const reportSchema = z.object({
  job: z.string(),
  namespace: z.string(),
  total: z.number(),
  loaded: z.number(),
  failed: z.number(),
  skipped: z.number(),
  failures: z.array(z.object({ key: z.string(), code: z.string(), message: z.string() })).describe('The first 1,000 failures.'),
  startedAt: z.number(),
  durationMs: z.number(),
  stopped: z.boolean(),
})

/** `GET /v1/warm/:id`, and the body of `POST /v1/warm`'s 202 (with `joined`). */
export const warmStatusSchema = z.object({
  id: z.string(),
  job: z.string(),
  trigger: z.enum(['schedule', 'request']),
  state: z.enum(['running', 'done', 'stopped']),
  startedAt: z.number().describe('Epoch ms.'),
  progress: progressSchema,
  report: reportSchema.optional().describe('Once the run has ended.'),
})

const startedSchema = warmStatusSchema.extend({
  joined: z.boolean().describe('True when the job was already running for this tenant: this is that run.'),
})

/** The server's top-keys sketches as a job's hot keys: the busiest keys of the view's tenant and namespace. */
function hotKeysOf(topKeys: TopKeys): HotKeySource {
  return {
    hotKeys: (view, limit) =>
      topKeys
        .top(view.scope.tenantId ?? '', topKeys.capacity)
        .filter((hit) => hit.namespace === view.name)
        .slice(0, limit)
        .map((hit) => hit.key),
  }
}

function shown(status: WarmRunStatus): z.output<typeof warmStatusSchema> {
  const { report, ...rest } = status
  return { ...rest, ...(report === undefined ? {} : { report: { ...report, failures: [...report.failures] } }) }
}

/**
 * Registers, both for role admin of the key's own tenant:
 * - `POST /v1/warm` `{ job, keys? }` → 202 `{ id, job, trigger, state, startedAt, progress, joined }`
 *   and `Location: /v1/warm/<id>`: starts a run of the declared job in the tenant's scope, the whole
 *   job or only `keys`; a whole-job run already going on for the tenant is joined (`joined: true`)
 *   rather than started twice. 404 `TC_UNKNOWN_WARM_JOB` for a job the configuration does not declare;
 *   400 `TC_INVALID_OPTIONS` for keys the job has no source for;
 * - `GET /v1/warm/:id` → 200 the run's status, with its report once ended; 404 `TC_UNKNOWN_WARM_RUN`
 *   for an id not known (or forgotten: the last 100 finished runs are kept, or another tenant's).
 *
 * The runs stop when the app closes.
 */
export const warmRoutes: FastifyPluginAsyncZod<WarmRoutesOptions> = async (app, { cache, policy, topKeys }) => {
  const warmer = new Warmer(cache, policy?.config, { hotKeys: hotKeysOf(topKeys) })
  app.addHook('onClose', () => warmer.close())

  app.post(
    '/v1/warm',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: 'Start a warming job',
        description:
          "Starts a run of a job of the policy configuration's warm section, in the key's tenant: loads its keys (or only keys, through the job's sources) " +
          'into every tier. Answers 202 at once with the run id; GET /v1/warm/{id} tells its progress and report. Role admin.',
        tags: ['admin'],
        security,
        body: warmBodySchema,
        response: { 202: startedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { view, tenant } = callerOf(request)
      const { job, keys } = request.body
      const run = warmer.start(job, { cache: view, owner: tenant, ...(keys === undefined ? {} : { keys }) })
      return reply
        .code(202)
        .header('location', `/v1/warm/${run.id}`)
        .send({ ...shown(run.status()), joined: run.joined })
    },
  )

  app.get(
    '/v1/warm/:id',
    {
      config: { access: { role: 'admin' } },
      schema: {
        summary: 'Status of a warming run',
        description: 'The progress of a run started by POST /v1/warm, and its report once it has ended: keys loaded, failed (each with its code), skipped. Role admin.',
        tags: ['admin'],
        security,
        params: z.object({ id: z.string().max(64) }),
        response: { 200: warmStatusSchema, ...errors },
      },
    },
    async (request) => {
      const { tenant } = callerOf(request)
      const status = warmer.status(request.params.id, tenant)
      if (status === undefined) throw new UnknownWarmRunError(`no warming run ${JSON.stringify(request.params.id)} for this tenant: it never started, or was forgotten (the last 100 are kept)`)
      return shown(status)
    },
  )
}
