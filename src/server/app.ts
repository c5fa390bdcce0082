/**
 * Builds and starts the Fastify app of the REST server.
 */
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod'
import type { Cache } from '../cache/cache.js'
import type { Policy } from '../policy/layer.js'
import { type Duration, toMs } from '../core/duration.js'
import { InvalidOptionsError, ListenFailedError, isTiercacheError } from '../errors.js'
import { createPrometheusRegistry } from '../metrics/prometheus.js'
import type { AuditLog } from '../security/audit/index.js'
import type { CredentialStore } from '../security/credentials/index.js'
import { accessControl } from './access.js'
import { createServerAudit } from './audit.js'
import { logCacheEvents } from './cache-events.js'
import { clientErrorHandler, missingHost } from './client-errors.js'
import { handleError, installErrorHandling } from './errors.js'
import { DEFAULT_KEY_CACHE_TTL_MS, keyVerifier } from './key-cache.js'
import { METRICS_LISTENER, type MetricsListener, type MetricsListenerOptions, parseMetricsListenerOptions, startMetricsListener } from './metrics-listener.js'
import { type RateLimitOptions, openRateLimits } from './rate-limits.js'
import type { AiCache } from '../ai/index.js'
import type { HttpCache } from '../http-cache/index.js'
import { adminRoutes } from './routes/admin.js'
import { aiRoutes } from './routes/ai.js'
import { auditRoutes } from './routes/audit.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { entryRoutes } from './routes/entries.js'
import { eventRoutes } from './routes/events.js'
import { httpRoutes } from './routes/http.js'
import { metricsRoutes } from './routes/metrics.js'
import { subjectRoutes } from './routes/subjects.js'
import { warmRoutes } from './routes/warm.js'
import { RequestLog, type ServerLoggerOptions, childLoggerFactory, loggerOption, requestId } from './request-log.js'
import { edgeLimits, routeSchemas } from './schemas.js'
import { zodSerializerCompiler } from './serializers.js'
import { ServerStats, type ServerStatsOptions } from './stats.js'

export type { ServerLoggerOptions } from './request-log.js'
export type { MetricsListenerOptions } from './metrics-listener.js'

/** What `GET /metrics` (and the metrics listener) report besides the cache's instruments. */
export interface ServerMetricsOptions {
  /**
   * Node's process metrics too (CPU, resident memory, heap, event-loop lag, GC: prom-client's
   * `collectDefaultMetrics`, `process_` and `nodejs_` names). @default true
   */
  readonly processMetrics?: boolean
}

/** Options of {@link buildServer}. */
export interface BuildServerOptions {
  /**
   * The cache the routes serve. Each tenant's entries live in a scope of their own
   * (`cache.withContext`), encrypted in the shared tiers: the cache needs a key ring when it has
   * Redis or PostgreSQL (`TIERCACHE_KEYS`, or `security.encryption`).
   */
  readonly cache: Cache
  /**
   * The API keys every `/v1` request must present (`Authorization: Bearer <key>`); see
   * `openCredentialStore`. The caller keeps owning it (and closes it after the app).
   */
  readonly credentials: CredentialStore
  /**
   * Where authentication failures, refusals, purges, clears, erasures and exports are recorded, and what
   * `GET /v1/audit` reads; see `openAuditLog`. Give it an `onError`: a failed write never fails a
   * request, and is reported only there. The caller keeps owning it. @default none: nothing is
   * recorded, and `GET /v1/audit` answers 404
   */
  readonly audit?: AuditLog
  /**
   * Per-key rate limits by plan (see {@link RateLimitOptions}), or `false` for none.
   * @default in process memory, with the plans free (1,000 an hour), pro (5,000 an hour), unlimited
   */
  readonly rateLimits?: RateLimitOptions | false
  /**
   * Logging (pino). One line per request (`request completed`: the method, the route pattern, the
   * status and the time taken, never the URL, which holds the key, nor bodies or values) at level
   * `debug`, so that a server logging at `info` pays nothing per request; refusals, failures and tier
   * events at `info` and above. @default false
   */
  readonly logger?: ServerLoggerOptions
  /**
   * How long a verified API key is held in memory (ms, or a string such as `'5s'`), so that a busy key
   * is looked up in the database once per period, not on every request; `0` looks up every request.
   * A key revoked (`tiercache keys revoke`) stops working on every server within this time.
   * Failed verifications are never held. @default 5 s
   */
  readonly keyCacheTtl?: Duration
  /** Largest request body accepted, in bytes; larger ones answer 413 `TC_PAYLOAD_TOO_LARGE`. @default 2 MiB */
  readonly bodyLimit?: number
  /** Close the cache when the app closes. @default false: the caller owns the cache. */
  readonly closeCacheOnClose?: boolean
  /**
   * Serve the dashboard at `/dashboard`: an open page that reads `GET /v1/stats` with a key the user
   * enters (docs/dashboard.md). @default true
   */
  readonly dashboard?: boolean
  /**
   * What `GET /v1/stats` reads: `history` (the stats history of the SQL tier, from
   * `openStatsHistory`, which the caller keeps owning; without it, reports count this instance since
   * it started), the bounds of the top-keys sketches (`topKeys: { capacity (100), maxTenants (1000),
   * largest (10) }`) and overrides of the suggestions' thresholds. A tenant's report counts only the
   * series labelled with its tenant: create the cache with `metrics: { tenants: { max } }` (as
   * `tiercache serve` does), or tenants see zeros.
   */
  readonly stats?: ServerStatsOptions
  /** See {@link ServerMetricsOptions}. @default { processMetrics: true } */
  readonly metrics?: ServerMetricsOptions
  /**
   * The policy layer the cache was created with (`createCache({ policies: policy })`): `GET /v1/rules`
   * lists its invalidation rules. `POST /v1/events` emits through the cache (`cache.emit` of the
   * caller's tenant view), whose rules it follows. @default none: `GET /v1/rules` answers `[]`
   */
  readonly policy?: Policy
  /**
   * The AI gateway (docs/ai.md): `POST /v1/ai/chat/completions` answers through it, storing in the
   * caller's tenant view. What it saved (its `accounting`) is in `GET /v1/stats` (an `ai` section) and
   * `GET /metrics` (`tiercache_ai_*`). Its upstream is closed with the app. @default none: no AI routes
   */
  readonly ai?: AiCache
  /**
   * The HTTP cache (docs/http-cache.md) in front of an origin, e.g. a proxy's `httpCache`
   * (`startProxy`, `tiercache serve --http-origin`), storing in `cache`'s tiers: how it served its
   * responses per route group is in `GET /v1/stats` (an `http` section, to a service key),
   * `GET /metrics` (`tiercache_http_responses_total`) and the dashboard, and `POST /v1/http/purge`
   * purges its namespace by default, with its clock. The app waits for its background revalidations
   * when it closes. @default none: `POST /v1/http/purge` acts on the namespace `http` of `cache`
   */
  readonly http?: HttpCache
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** The cache the routes serve; closed when the app closes. */
  readonly cache: Cache
  /** See {@link BuildServerOptions.credentials}; closed when the app closes. */
  readonly credentials: CredentialStore
  /** See {@link BuildServerOptions.audit}; closed when the app closes. */
  readonly audit?: AuditLog
  /** See {@link BuildServerOptions.rateLimits}. */
  readonly rateLimits?: RateLimitOptions | false
  /** Interface to listen on. @default '127.0.0.1' (local only; pass '0.0.0.0' to expose it) */
  readonly host?: string
  /** TCP port; `0` picks a free one (see the returned `url`). @default 4100 */
  readonly port?: number
  /** See {@link BuildServerOptions.logger}. @default false */
  readonly logger?: ServerLoggerOptions
  /** See {@link BuildServerOptions.keyCacheTtl}. @default 5 s */
  readonly keyCacheTtl?: Duration
  /** See {@link BuildServerOptions.bodyLimit}. @default 2 MiB */
  readonly bodyLimit?: number
  /** See {@link BuildServerOptions.dashboard}. @default true */
  readonly dashboard?: boolean
  /** See {@link BuildServerOptions.stats}; its history is closed when the app closes. */
  readonly stats?: ServerStatsOptions
  /** See {@link BuildServerOptions.metrics}. @default { processMetrics: true } */
  readonly metrics?: ServerMetricsOptions
  /** See {@link BuildServerOptions.policy}. */
  readonly policy?: Policy
  /** See {@link BuildServerOptions.ai}. */
  readonly ai?: AiCache
  /** See {@link BuildServerOptions.http}; not closed by the app (a proxy's listener is its owner's to close). */
  readonly http?: HttpCache
  /**
   * A second listener that serves `GET /metrics` only, without an API key, for Prometheus: e.g.
   * `{ host: '10.0.0.5', port: 9464 }` on an interface only the monitoring network reaches. Anyone
   * who can connect to it reads every tenant's metrics: bind it where only Prometheus gets in. Closed
   * with the app. @default none (metrics only at `GET /metrics` of the REST server, with a key)
   */
  readonly metricsListener?: MetricsListenerOptions
}

/** What {@link startServer} resolves. */
export interface StartedServer {
  readonly app: FastifyInstance
  /** Base URL of the REST server, e.g. `http://127.0.0.1:4100`. */
  readonly url: string
  /** Base URL of the metrics listener, with `metricsListener` only: scrape `${metricsUrl}/metrics`. */
  readonly metricsUrl?: string
}

/** Default of {@link BuildServerOptions.bodyLimit}: 2 MiB, room for a 1 MiB value (the cache's default limit) as JSON. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024

/**
 * Fails at start, rather than on every request, when the cache cannot hold tenants' entries.
 * @throws InvalidOptionsError
 */
function checkScopedStorage(cache: Cache): void {
  try {
    cache.withContext({ role: 'authenticated', tenantId: 'startup-check' })
  } catch (cause) {
    if (!isTiercacheError(cause)) throw cause
    throw new InvalidOptionsError(`the server keeps each tenant's entries in a scope of its own, which this cache cannot: ${cause.message}`, { cause })
  }
}

/** What the app closes when it closes: asked then, since startServer owns them only once it listens. */
interface Ownership {
  readonly cache: () => boolean
  /** The credential store and the audit log. */
  readonly storage: () => boolean
}

/** The app, and the registry its `/metrics` answers with (which the metrics listener shares). */
interface Built {
  readonly app: FastifyInstance
  readonly registry: Registry
}

async function build(options: BuildServerOptions, owns: Ownership): Promise<Built> {
  const { cache, credentials } = options
  // Checked at run time too: without a store, every request would fail, and not with a 401.
  if (typeof (credentials as Partial<CredentialStore> | undefined)?.verify !== 'function') {
    throw new InvalidOptionsError('the server needs credentials: a CredentialStore, e.g. from openCredentialStore')
  }
  checkScopedStorage(cache)
  const keyCacheTtlMs = options.keyCacheTtl === undefined ? DEFAULT_KEY_CACHE_TTL_MS : toMs(options.keyCacheTtl, 'keyCacheTtl')
  const app = Fastify({
    logger: loggerOption(options.logger),
    logController: new RequestLog(),
    childLoggerFactory,
    genReqId: requestId,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    frameworkErrors: handleError,
    clientErrorHandler,
    // Refused by missingHost instead, with the documented error body.
    http: { requireHostHeader: false },
    routerOptions: {
      // Keys are path parameters: a 1024-character key may be 9 KiB percent-encoded. The default of
      // 100 would turn longer keys into 404s; Node's header size limit bounds the URL anyway.
      maxParamLength: 65_536,
    },
  })

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(zodSerializerCompiler)
  installErrorHandling(app)
  // JSON only: a text/plain body would otherwise parse as a string and fail later with a vaguer message.
  app.removeContentTypeParser('text/plain')

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tiercache',
        description: 'REST API of a tiercache server. Every error answers { error: { code, message } } with a stable TC_... code.',
        version: '1.0.0',
      },
      tags: [
        { name: 'entries', description: 'Read and write entries' },
        { name: 'admin', description: 'Purge by tags, clearing a namespace, statistics, audit log, health' },
        { name: 'subjects', description: "Erasure and export of a tenant's or a user's entries (GDPR art. 17 and 20)" },
        { name: 'events', description: 'Invalidation rules: emit an event, list the rules' },
        { name: 'http', description: 'The shared HTTP cache: purges by surrogate key, URL or prefix' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key, tc_<id>_<secret>, from tiercache keys create.' },
        },
      },
    },
    transform: jsonSchemaTransform,
  })

  const limits = await openRateLimits(options.rateLimits, app.log)
  const audit = createServerAudit(options.audit)
  const stats = new ServerStats(cache, options.stats, options.ai?.accounting, options.http)
  const registry = createPrometheusRegistry({
    cache,
    processMetrics: options.metrics?.processMetrics ?? true,
    ...(options.ai === undefined ? {} : { ai: options.ai.accounting }),
    ...(options.http === undefined ? {} : { http: options.http }),
  })
  try {
    const checkAccess = accessControl(app, { cache, credentials, keys: keyVerifier(credentials, keyCacheTtlMs), limits, audit })
    // One onRequest hook for every check, each a step of the request's cost: a request without Host
    // is not valid HTTP/1.1, and is refused before its key is looked at.
    app.addHook('onRequest', (request, reply, done) => {
      const malformed = missingHost(request)
      if (malformed === undefined) checkAccess(request, reply, done)
      else done(malformed)
    })
    const edge = edgeLimits(options.cache.limits)
    const schemas = routeSchemas(edge)
    await app.register(entryRoutes, { schemas, topKeys: stats.topKeys, maxKeyLength: edge.maxKeyLength })
    await app.register(adminRoutes, { cache, schemas, stats, audit })
    await app.register(auditRoutes, { log: options.audit })
    await app.register(subjectRoutes, { audit })
    await app.register(eventRoutes, { policy: options.policy, audit })
    await app.register(warmRoutes, { cache, policy: options.policy, topKeys: stats.topKeys })
    await app.register(metricsRoutes, { registry, audit })
    await app.register(httpRoutes, { cache, audit, ...(options.http === undefined ? {} : { http: options.http }) })
    if (options.ai !== undefined) await app.register(aiRoutes, { ai: options.ai })
    if (options.dashboard ?? true) await app.register(dashboardRoutes)
  } catch (error) {
    // The limiter may hold a Redis connection of its own.
    await limits.close()
    throw error
  }

  const stopLogging = logCacheEvents(cache, app.log)
  app.addHook('onClose', async () => {
    stopLogging()
    await limits.close()
    await options.ai?.upstream.close()
    // Its background revalidations write to the cache: they end before it closes.
    await options.http?.idle()
    // The audit log's close waits for the events being written; the cache goes last.
    if (owns.storage()) await Promise.all([options.audit?.close(), credentials.close(), options.stats?.history?.close()])
    if (owns.cache()) await cache.close()
  })
  return { app, registry }
}

/**
 * Builds the REST server's Fastify app without listening: use `app.inject()` in tests, or add
 * plugins and routes before `app.listen()`. Routes, with the role their API key needs (every `/v1`
 * route needs `Authorization: Bearer <key>`; "across" marks the routes where a service key may act
 * for another tenant by naming it in `X-Tiercache-Tenant`):
 *
 * | route | role | answer |
 * |---|---|---|
 * | `GET /v1/entries/:namespace/:key[?allowStale=true]` | read, across | 200 `{ value, source, stale, ageMs, freshUntil }`, 404 `TC_NOT_FOUND` |
 * | `PUT /v1/entries/:namespace/:key` `{ value, ttl?, grace?, tags? }` | write, across | 204, no body |
 * | `DELETE /v1/entries/:namespace/:key` | write, across | 200 `{ deleted }` |
 * | `POST /v1/entries/:namespace/batch-get` `{ keys (1..1000), allowStale? }` | read, across | 200 `{ entries: [{ key, found, value?, ... }] }` |
 * | `GET /v1/entries/:namespace[?limit=&after=]` | read, across | 200 `{ keys, next }` |
 * | `POST /v1/purge` `{ tags, namespace }` | write, across | 200 `{ purged }`: the entries carrying any tag |
 * | `POST /v1/invalidate` `{ tags, namespace }` | write, across | 200 `{ invalidated }`: the same as purge |
 * | `POST /v1/clear` `{ namespace }` | admin | 200 `{ cleared }`: every entry of the namespace |
 * | `POST /v1/events` `{ event, params?, namespace? }` | write, across | 200 `{ event, invalidated: { tags, namespaces, tagsIn? } }`: what the event's rule names, in the tenant's scope; 404 `TC_UNKNOWN_EVENT` |
 * | `GET /v1/rules` | read | 200 `{ rules }`: the invalidation rules of `policy` |
 * | `POST /v1/warm` `{ job, keys? }` | admin | 202 `{ id, state, progress, joined, ... }`: a run of a warming job of `policy`, in the tenant's scope; 404 `TC_UNKNOWN_WARM_JOB` |
 * | `GET /v1/warm/:id` | admin | 200 `{ id, job, state, progress, report? }`; 404 `TC_UNKNOWN_WARM_RUN` |
 * | `GET /v1/stats[?range=&namespace=]` | read, across | 200 `StatsReport` (docs/stats.md) |
 * | `GET /v1/audit[?since=&limit=]` | admin | 200 `{ events }` |
 * | `POST /v1/erase` `{ userId? }` | admin | 200 `{ erased: 'user' \| 'tenant' }` |
 * | `GET /v1/export[?userId=]` | admin | 200 `application/x-ndjson`, one entry per line, streamed |
 * | `POST /v1/ai/chat/completions` (with `ai`) | write | the OpenAI API's chat completion, cached, streamed with `stream: true` (docs/ai.md); errors in the OpenAI shape |
 * | `POST /v1/ai/embeddings` (with `ai`) | write | the OpenAI API's embeddings, cached |
 * | `POST /v1/ai/invalidate` `{ namespace?, cacheType?, model?, tags? }`, `POST /v1/ai/retract` `{ request, ... }` (with `ai`) | write | 200 `{ invalidated }`, 200 `{ retracted }` |
 * | `POST /v1/http/purge` `{ keys?, urls?, prefixes?, soft?, namespace? }` | write, with service | 200 `{ tags, soft }`: the HTTP cache's stored responses carrying a surrogate key, of a URL or under a prefix, removed or (`soft`) marked stale, in every tier and instance |
 * | `GET /metrics` | admin and service | 200 `text/plain; version=0.0.4`: Prometheus metrics of every tenant (docs/metrics.md) |
 * | `GET /health` | none | 200 `{ status: 'ok' \| 'degraded', tiers }` |
 * | `GET /openapi.json` | none | the OpenAPI 3.1 document |
 * | `GET /dashboard` | none (its data: a read key) | the dashboard page, reading `GET /v1/stats` (unless `dashboard: false`) |
 *
 * `/metrics` needs a key as the `/v1` routes do; as it spans every tenant, a tenant's own admin key is
 * refused 403: it needs the `service` role besides `admin` (an operator's key).
 *
 * Every entry lives in the scope of the key's tenant (`cache.withContext`): no key of one tenant
 * reaches another's. A request without a valid key answers 401 `TC_UNAUTHORIZED` with
 * `WWW-Authenticate: Bearer`; one without the route's role, or with `X-Tiercache-Tenant` where it is
 * not allowed, 403 `TC_FORBIDDEN`; one over its key's rate limit 429 `TC_RATE_LIMITED` with
 * `Retry-After`. Answers to authenticated requests carry `RateLimit-Limit`, `-Remaining`, `-Reset`.
 *
 * Keys are percent-encoded path segments (`encodeURIComponent`). Durations are milliseconds or
 * strings such as `'5m'`. Every error answers `{ error: { code, message } }`: the catalogue error's
 * code and status (e.g. 400 `TC_INVALID_KEY`, 413 `TC_VALUE_TOO_LARGE`, 503 `TC_CACHE_CLOSED`); other
 * invalid input 400 `TC_BAD_REQUEST` naming the field; a body over `bodyLimit` 413
 * `TC_PAYLOAD_TOO_LARGE`; an unknown route 404 `TC_NOT_FOUND`; anything unexpected 500 `TC_INTERNAL`
 * with a generic message (the details are logged).
 *
 * @throws InvalidOptionsError when the cache cannot keep tenants' entries apart (shared tiers and no
 *   key ring), or the rate-limit options are invalid
 */
export function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const closeCache = options.closeCacheOnClose ?? false
  return build(options, { cache: () => closeCache, storage: () => false }).then(({ app }) => app)
}

/**
 * Builds the app, listens, and returns it with its URL (e.g. `http://127.0.0.1:4100`), and the
 * metrics listener's when `metricsListener` asks for one. The cache, the credential store and the
 * audit log are closed when the app closes (`await app.close()`), after the metrics listener; if
 * listening fails (either listener), the app is closed, they are left open, and the error is
 * rethrown. Signal handling is the caller's.
 * @throws InvalidOptionsError as {@link buildServer}, and for a `metricsListener` port outside 0..65535
 * @throws ListenFailedError (`TC_LISTEN_FAILED`, Node's error as `cause`) when the port is in use
 *   (`EADDRINUSE`), needs privileges (`EACCES`), or the host is not this machine's (`EADDRNOTAVAIL`);
 *   other listen errors are rethrown as they are
 */
export async function startServer(options: StartServerOptions): Promise<StartedServer> {
  let listening = false
  const { host = '127.0.0.1', port = 4100, metricsListener, ...rest } = options
  // Checked before anything opens.
  const metricsAt = metricsListener === undefined ? undefined : parseMetricsListenerOptions(metricsListener)
  const { app, registry } = await build(rest, { cache: () => listening, storage: () => listening })
  let listener: MetricsListener | undefined
  // preClose runs before the onClose hooks that close the cache: no scrape meets a closed cache.
  app.addHook('preClose', async () => {
    await listener?.close()
  })
  try {
    const url = await app.listen({ host, port })
    if (metricsAt !== undefined) {
      try {
        listener = await startMetricsListener(registry, metricsAt, app.log)
      } catch (error) {
        throw listenError(error, metricsAt.host, metricsAt.port, ` for the ${METRICS_LISTENER}`)
      }
    }
    listening = true
    return { app, url, ...(listener === undefined ? {} : { metricsUrl: listener.url }) }
  } catch (error) {
    await app.close()
    throw listenError(error, host, port)
  }
}

const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another process',
  EACCES: 'this process may not use the port (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the host is not an address of this machine',
}

function listenError(error: unknown, host: string, port: number, what = ''): unknown {
  const reason = LISTEN_FAILURES[(error as NodeJS.ErrnoException | undefined)?.code ?? '']
  if (reason === undefined) return error
  return new ListenFailedError(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}${what}: ${reason}`, { cause: error })
}
