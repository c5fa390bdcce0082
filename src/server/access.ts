/**
 * Who may call what: every `/v1` request presents an API key (`Authorization: Bearer <key>`), is
 * counted against the key's rate limit, and is checked against the role its route declares. The
 * tenant whose entries the request reaches comes from the key, never from the request; only a
 * `service` key may name another, with `X-Tiercache-Tenant`, and only on routes that allow it.
 *
 * Order: 401 (no valid key) → 429 (over the key's limit) → 403 (header not allowed here, or not a
 * service key) → 400 (malformed tenant header) → 403 (missing role). Only then is the body parsed
 * and validated, so an unauthenticated client learns nothing about the routes but that they exist.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { Cache } from '../cache/cache.js'
import { BadRequestError, ForbiddenError, InternalError, RateLimitedError, UnauthorizedError } from '../errors.js'
import { type CredentialStore, type Principal, type Role, TENANT_PATTERN, parseKey } from '../security/credentials/index.js'
import type { ServerAudit } from './audit.js'
import type { KeyVerifier } from './key-cache.js'
import type { RateDecision } from '../security/rate-limit/index.js'
import { IN_REDIS, type ServerRateLimits, retryAfterSeconds, setRateLimitHeaders } from './rate-limits.js'
import { logOf } from './request-log.js'

/** The header a service key names the tenant it acts for with. */
export const TENANT_HEADER = 'x-tiercache-tenant'

/** What a `/v1` route requires of the key that calls it; every `/v1` route declares one. */
export interface RouteAccess {
  /** The role the key must hold: `read`, `write` or `admin` (no role implies another). */
  readonly role: Exclude<Role, 'service'>
  /**
   * Whether a `service` key may act for another tenant here, naming it in `X-Tiercache-Tenant`.
   * Elsewhere the header is refused (403). @default false
   */
  readonly acrossTenants?: boolean
}

/** Who is calling, once authenticated and authorized. */
export interface Caller {
  /** The verified key. */
  readonly principal: Principal
  /** The tenant the request acts on: the key's own, or the one a service key named. */
  readonly tenant: string
  /** The cache in that tenant's scope: every cache call of the route goes through it. */
  readonly view: Cache
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** tiercache: what the route requires of its caller's API key (see `RouteAccess`). */
    access?: RouteAccess
  }
  interface FastifyRequest {
    /** tiercache: the authenticated caller of a `/v1` route; null elsewhere. */
    caller: Caller | null
  }
}

/** An `onRequest` check in callback style: calls `done` once, with the refusal or nothing. */
export type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: (error?: FastifyError) => void) => void

/** What the access checks need. */
export interface AccessOptions {
  readonly cache: Cache
  readonly credentials: CredentialStore
  /** `credentials.verify` with verified keys held for a while (see `key-cache.ts`). */
  readonly keys: KeyVerifier
  readonly limits: ServerRateLimits
  readonly audit: ServerAudit
}

const REALM = 'Bearer realm="tiercache"'

/** True for the paths that need a key: `/v1` and everything under it. */
function isApiPath(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?')
}

/**
 * The caller of a `/v1` route, as the access hook left it.
 * @throws InternalError when there is none (a route outside the hook's reach: a bug)
 */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null) throw new InternalError('route reached without an authenticated caller')
  return request.caller
}

/** The route pattern and method, for audit targets: never the URL, which holds keys. */
function routeName(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? '(no route)'}`
}

type Presented = { readonly kind: 'none' } | { readonly kind: 'other-scheme' } | { readonly kind: 'bearer'; readonly token: string }

/** The bearer token of an `Authorization` header (RFC 6750 §2.1); the scheme is case-insensitive. */
function presentedToken(header: string | undefined): Presented {
  if (header === undefined || header.trim() === '') return { kind: 'none' }
  const match = /^Bearer +([^\s]+) *$/i.exec(header)
  return match?.[1] === undefined ? { kind: 'other-scheme' } : { kind: 'bearer', token: match[1] }
}

/**
 * The access checks of `app`: installs an `onRoute` hook that refuses to register a `/v1` route
 * without `config.access`, and returns the `onRequest` check, for the app's one `onRequest` hook to
 * run (see app.ts), that authenticates, rate-limits and authorizes every `/v1` request and leaves
 * its {@link Caller} on `request.caller`. Refusals are answered 401 `TC_UNAUTHORIZED` (with
 * `WWW-Authenticate: Bearer`, RFC 6750 §3), 429 `TC_RATE_LIMITED` (with `Retry-After`) and 403
 * `TC_FORBIDDEN`, and recorded in the audit log.
 */
export function accessControl(app: FastifyInstance, options: AccessOptions): OnRequest {
  const { cache, credentials, keys, limits, audit } = options
  app.decorateRequest('caller', null)
  // One view per tenant and role, made once: withContext validates the context, which every request
  // would otherwise pay for. Views are immutable; the bound only caps memory (the oldest goes first).
  const views = new Map<string, Cache>()
  const viewOf = (role: 'service' | 'authenticated', tenant: string): Cache => {
    const id = role === 'service' ? `s:${tenant}` : `a:${tenant}`
    let view = views.get(id)
    if (view === undefined) {
      view = cache.withContext({ role, tenantId: tenant })
      if (views.size >= 10_000) views.delete(views.keys().next().value as string)
      views.set(id, view)
    }
    return view
  }

  // The caller of a key acting in its own tenant, made once per verified principal: a held key's
  // principal is the same object on every request, and callers are immutable.
  const ownCallers = new WeakMap<Principal, Caller>()
  const ownCallerOf = (principal: Principal): Caller => {
    let caller = ownCallers.get(principal)
    if (caller === undefined) {
      caller = { principal, tenant: principal.tenant, view: viewOf(principal.roles.includes('service') ? 'service' : 'authenticated', principal.tenant) }
      ownCallers.set(principal, caller)
    }
    return caller
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (isApiPath(route.url) && route.config?.access === undefined) {
      throw new InternalError(`route ${String(route.method)} ${route.url} declares no access (config.access)`)
    }
  })

  const refuseUnauthenticated = async (request: FastifyRequest, reply: FastifyReply, presented: Presented): Promise<never> => {
    const token = presented.kind === 'bearer' ? presented.token : undefined
    // The id part of a key is public; the secret never leaves this function.
    const keyId = token === undefined ? undefined : parseKey(token)?.id
    let tenant: string | undefined
    let detail: string
    if (presented.kind === 'none') detail = 'no Authorization header'
    else if (presented.kind === 'other-scheme') detail = 'Authorization is not a Bearer credential'
    else if (keyId === undefined) detail = 'bearer token is not an API key'
    else {
      // Attributed to the tenant of the key it claims to be, so that the tenant's admins see it.
      const known = await credentials.get(keyId).catch(() => undefined)
      tenant = known?.tenant
      detail = known === undefined ? 'unknown key id' : known.revokedAt !== null ? 'revoked key' : 'wrong secret'
    }
    await audit.refusal(request, `${request.ip}\u0000${keyId ?? ''}`, {
      action: 'auth.failure',
      outcome: 'denied',
      ...(keyId === undefined ? {} : { keyId }),
      ...(tenant === undefined ? {} : { tenant }),
      target: routeName(request),
      detail,
    })
    if (presented.kind === 'bearer') {
      reply.header('www-authenticate', `${REALM}, error="invalid_token", error_description="the API key is invalid or revoked"`)
      throw new UnauthorizedError('invalid API key: it is malformed, unknown or revoked')
    }
    reply.header('www-authenticate', REALM)
    throw new UnauthorizedError('an API key is required: send Authorization: Bearer <key>')
  }

  const forbid = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, reason: string, insufficientRole: boolean): Promise<never> => {
    await audit.refusal(request, principal.id, {
      action: 'auth.failure',
      outcome: 'denied',
      keyId: principal.id,
      tenant: principal.tenant,
      target: routeName(request),
      detail: reason,
    })
    if (insufficientRole) reply.header('www-authenticate', `${REALM}, error="insufficient_scope"`)
    throw new ForbiddenError(reason)
  }

  /** Why `decision` refuses the request, as the refusal to answer; undefined when it does not. */
  const rateRefusal = (request: FastifyRequest, reply: FastifyReply, principal: Principal, decision: RateDecision | undefined | null): Promise<never> | undefined => {
    if (decision === undefined) {
      return forbid(request, reply, principal, `the key's rate-limit plan '${principal.plan}' is not configured on this server`, false)
    }
    if (decision === null) return undefined
    setRateLimitHeaders(reply, decision)
    if (decision.allowed) return undefined
    return audit
      .refusal(request, principal.id, {
        action: 'rate_limit.refusal',
        outcome: 'denied',
        keyId: principal.id,
        tenant: principal.tenant,
        target: routeName(request),
        detail: `plan=${principal.plan} limit=${decision.limit}`,
      })
      .then(() => {
        reply.header('retry-after', String(retryAfterSeconds(decision.retryAfterMs)))
        throw new RateLimitedError(`rate limit of the key's plan exceeded; retry in ${retryAfterSeconds(decision.retryAfterMs)} s`, decision.retryAfterMs)
      })
  }

  /**
   * The checks after the rate limit: leaves the caller on `request.caller` and answers undefined, or
   * answers the refusal (a promise that rejects with the error to answer).
   */
  const admit = (request: FastifyRequest, reply: FastifyReply, access: RouteAccess | undefined, principal: Principal): Promise<never> | undefined => {
    let tenant = principal.tenant
    const named = request.headers[TENANT_HEADER]
    if (named !== undefined) {
      if (access?.acrossTenants !== true) {
        return forbid(request, reply, principal, `${TENANT_HEADER} is not accepted on this route`, false)
      }
      if (!principal.roles.includes('service')) {
        return forbid(request, reply, principal, `only a service key may name a tenant with ${TENANT_HEADER}`, false)
      }
      if (typeof named !== 'string' || !TENANT_PATTERN.test(named)) {
        return Promise.reject(new BadRequestError(`header ${TENANT_HEADER}: must be one tenant id of 1 to 64 letters, digits, '.', '_' or '-'`))
      }
      tenant = named
    }

    // An unknown route: authenticated, so the 404 that follows tells nothing to strangers.
    if (access === undefined) return undefined
    if (!principal.roles.includes(access.role)) {
      return forbid(request, reply, principal, `this route needs a key with the ${access.role} role`, true)
    }
    if (named === undefined) {
      request.caller = ownCallerOf(principal)
      return undefined
    }
    request.caller = { principal, tenant, view: viewOf(principal.roles.includes('service') ? 'service' : 'authenticated', tenant) }
    return undefined
  }

  /** The rate limiter's decision; null (the request let through) when the limiter fails. */
  const limitFailed = (request: FastifyRequest, error: unknown): null => {
    // The limiter answers from process memory when Redis fails; an error here is a bug, and the
    // request is let through rather than failed for it.
    logOf(request).error({ err: error }, 'rate limit check failed; request allowed')
    return null
  }

  /** The checks with a key not held, or a limiter in Redis: with a lookup and awaits. */
  const check = async (request: FastifyRequest, reply: FastifyReply, access: RouteAccess | undefined, header: string | undefined, held: Principal | undefined): Promise<void> => {
    let principal = held
    if (principal === undefined) {
      const presented = presentedToken(header)
      principal = presented.kind === 'bearer' ? await keys.verify(presented.token) : undefined
      if (principal === undefined) return refuseUnauthenticated(request, reply, presented)
    }
    const decision = await limits.consume(principal).catch((error: unknown) => limitFailed(request, error))
    await (rateRefusal(request, reply, principal, decision) ?? admit(request, reply, access, principal))
  }

  // A callback check, not an async one: with the key held and the counts in memory (the common case)
  // the request passes without a promise or a microtask; profiles put those hops high on a cached GET.
  return (request, reply, done) => {
    // By the matched route first, so that no spelling of the URL can reach a /v1 route unchecked;
    // by the URL for requests that match no route.
    // Read once: Fastify builds a new object on every read of routeOptions.
    const route = request.routeOptions
    const access = route.config.access
    // A route outside /v1 that declares access (GET /metrics) is checked the same way.
    if (access === undefined && !isApiPath(route.url ?? '') && !isApiPath(request.url)) {
      done()
      return
    }

    const header = request.headers.authorization
    // A key verified a moment ago is answered from memory, without a database lookup; sent as
    // `Bearer <key>` exactly (what clients send), it is found without parsing the header: a held key
    // is one that parsed, so the parse would give the same key.
    const principal = header?.startsWith('Bearer ') === true ? keys.held(header.slice(7)) : undefined
    let decision: RateDecision | undefined | null | typeof IN_REDIS = IN_REDIS
    if (principal !== undefined) {
      try {
        decision = limits.consumeNow(principal)
      } catch (error) {
        decision = limitFailed(request, error)
      }
    }
    if (principal === undefined || decision === IN_REDIS) {
      check(request, reply, access, header, principal).then(() => done(), (error: unknown) => done(error as FastifyError))
      return
    }
    const refusal = rateRefusal(request, reply, principal, decision) ?? admit(request, reply, access, principal)
    if (refusal === undefined) done()
    else refusal.catch((error: unknown) => done(error as FastifyError))
  }
}
