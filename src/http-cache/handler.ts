/**
 * The shared HTTP cache (RFC 9111), framework-agnostic: given a request and a way to ask the origin,
 * it answers from the tiers or from the origin, and stores what it may.
 */
import { InvalidOptionsError } from '../errors.js'
import { badGateway, fromStored, gatewayTimeout, passed } from './answer.js'
import { unconditional } from './conditional.js'
import { type Exchanged, type SignedPost, type Trip, collapsedTrip } from './exchange.js'
import { decideReuse, restorePolicy, softPurgeReuse, staleIfErrorAllows } from './freshness.js'
import { type HttpHeaders, normalizeHeaders, parseDirectives, field, withoutHopByHop } from './headers.js'
import { HttpCounts } from './counts.js'
import { invalidateAfter } from './invalidation.js'
import { type HttpCacheOptions, type ResolvedHttpCacheOptions, resolveHttpCacheOptions } from './options.js'
import { asyncBody, bodySignature, readBody } from './post.js'
import { type HttpPurge, type HttpPurged, purgeHttp, softPurgedAt } from './purge.js'
import { type StoredResponse, lookup } from './store.js'
import type { HttpCacheAnswer, HttpCacheRequest, Origin } from './types.js'

/** The origin statuses under which `stale-if-error` may answer instead (RFC 5861 §4). */
const ERROR_STATUSES = new Set([500, 502, 503, 504])

/** A request as the decisions see it: method upper case, URL normalized, headers lower case without hop-by-hop fields. */
interface Asked {
  readonly method: string
  readonly url: string
  readonly headers: HttpHeaders
  readonly body?: AsyncIterable<Uint8Array>
}

/**
 * A shared HTTP cache in front of an origin, storing responses in the tiers of a `Cache` view. Every
 * answer carries `Cache-Status` (RFC 9211); see docs/http-cache.md for the RFC sections it follows.
 */
export class HttpCache {
  /** The options in force. */
  readonly options: ResolvedHttpCacheOptions
  /** How the responses were served, per route group, since this cache was made (the metrics read them). */
  readonly counts: HttpCounts
  private readonly background = new Set<Promise<void>>()

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) and the errors of {@link resolveHttpCacheOptions} */
  constructor(options: HttpCacheOptions) {
    this.options = resolveHttpCacheOptions(options)
    this.counts = new HttpCounts(this.options.routeGroup)
  }

  /**
   * Answers `request` from the cache or from `origin`. `GET` and `HEAD` are looked up and stored
   * (`HEAD` answered from a stored `GET`); other methods go to the origin, and their non-error answers
   * invalidate the URLs of RFC 9111 §4.4. Never rejects for the origin's failures: it answers 502 (or
   * a stale response, under `stale-if-error`).
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `request.url` is not an absolute URL
   */
  async handle(request: HttpCacheRequest, origin: Origin): Promise<HttpCacheAnswer> {
    let target: URL
    try {
      target = new URL(request.url)
    } catch (cause) {
      throw new InvalidOptionsError('the request URL must be absolute (scheme and host)', { cause })
    }
    const asked: Asked = { method: request.method.toUpperCase(), url: target.href, headers: withoutHopByHop(normalizeHeaders(request.headers)), ...(request.body === undefined ? {} : { body: asyncBody(request.body) }) }
    const answer = await this.route(asked, origin)
    this.counts.record(target, field(answer.headers, 'cache-status') ?? '')
    return answer
  }

  private route(asked: Asked, origin: Origin): Promise<HttpCacheAnswer> {
    if (asked.method === 'GET' || asked.method === 'HEAD') return this.read(asked, origin)
    if (asked.method === 'POST' && this.options.cachesPost(new URL(asked.url).pathname)) return this.readPost(asked, origin)
    return this.forward(asked, origin)
  }

  /**
   * A `POST` declared a read: keyed by the signature of its body and decided as a `GET` would be,
   * without validators either way (a 304 answers `GET` and `HEAD` only, RFC 9110 §15.4.5) and
   * without the invalidations of RFC 9111 §4.4. A body past 1 MiB is passed on, not stored.
   */
  private async readPost(asked: Asked, origin: Origin): Promise<HttpCacheAnswer> {
    const read = await readBody(asked.body)
    if (read.kind === 'too-long') return this.pass({ ...asked, body: read.body }, origin, 'miss')
    const post = { label: `POST ${bodySignature(read.bytes, field(asked.headers, 'content-type'))}`, body: read.bytes }
    return this.read({ ...asked, headers: unconditional(asked.headers), body: asyncBody([read.bytes]) }, origin, post)
  }

  /**
   * Purges stored responses by surrogate key, URL or prefix, hard or soft, in every tier and instance;
   * see {@link purgeHttp}.
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an invalid purge
   */
  purge(purge: HttpPurge): Promise<HttpPurged> {
    return purgeHttp(this.options.cache, purge, this.options.now)
  }

  /** Resolves once the background revalidations started so far (stale-while-revalidate) are done. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background])
  }

  /** A method the cache does not store: to the origin, then the invalidations of RFC 9111 §4.4. */
  private async forward(asked: Asked, origin: Origin): Promise<HttpCacheAnswer> {
    let response
    try {
      response = await origin(asked)
    } catch (error) {
      this.options.onError(error)
      return badGateway(this.options.name, 'method')
    }
    const headers = withoutHopByHop(normalizeHeaders(response.headers))
    try {
      await invalidateAfter(this.options.cache, asked.method, asked.url, response.status, headers)
    } catch (error) {
      this.options.onError(error)
    }
    return passed(this.options.name, { status: response.status, headers, body: response.body }, asked.method, { fwd: 'method' })
  }

  /** `GET` or `HEAD` (or a `post` declared a read): the stored response if it may serve, else the origin (RFC 9111 §4). */
  private async read(asked: Asked, origin: Origin, post?: SignedPost): Promise<HttpCacheAnswer> {
    const { name } = this.options
    const request = parseDirectives(field(asked.headers, 'cache-control'))
    const found = await lookup(this.options.cache, post?.label ?? 'GET', asked.url, asked.headers)
    if (found.state === 'hit') {
      const policy = restorePolicy(found.stored.policy, this.options)
      const purgedAt = await softPurgedAt(this.options.cache, asked.url, found.stored, this.options.surrogateKeyHeader)
      const reuse = purgedAt === undefined ? decideReuse(policy, asked.headers) : softPurgeReuse(policy, asked.headers)
      const notBefore = purgedAt === undefined ? undefined : purgedAt + 1
      if (reuse.kind === 'fresh') return fromStored(name, found.stored, policy, asked.method, asked.headers, { hit: true })
      if (reuse.kind === 'stale') return fromStored(name, found.stored, policy, asked.method, asked.headers, { hit: true, detail: 'stale' })
      if (reuse.kind === 'stale-while-revalidate') {
        this.inBackground(collapsedTrip(this.options, origin, { url: asked.url, headers: asked.headers, key: found.key, previous: found.stored, notBefore, post }))
        return fromStored(name, found.stored, policy, asked.method, asked.headers, { hit: true, detail: 'stale-while-revalidate' })
      }
      if (request.has('only-if-cached')) return gatewayTimeout(name)
      return this.revalidate(asked, origin, { key: found.key, previous: found.stored, notBefore, post }, reuse.why === 'request' ? 'request' : 'stale')
    }
    if (request.has('only-if-cached')) return gatewayTimeout(name)
    const fwd = found.state === 'vary-miss' ? 'vary-miss' : 'miss'
    // HEAD, no-store and Range requests are not stored (RFC 9111 §3, §5.2.1.5, §3.3): passed on as asked.
    if (asked.method === 'HEAD' || request.has('no-store') || asked.headers['range'] !== undefined) return this.pass(asked, origin, fwd)
    let made: Exchanged
    try {
      made = await collapsedTrip(this.options, origin, { url: asked.url, headers: asked.headers, key: found.key, post })
    } catch (error) {
      this.options.onError(error)
      return badGateway(name, fwd)
    }
    return this.answerMade(asked, made, { fwd })
  }

  /** Validates `stored` with the origin (RFC 9111 §4.3); on failure, `stale-if-error` may answer it (RFC 5861 §4). */
  private async revalidate(asked: Asked, origin: Origin, at: Pick<Trip, 'key' | 'notBefore' | 'post'> & { readonly previous: StoredResponse }, fwd: 'request' | 'stale'): Promise<HttpCacheAnswer> {
    const { name } = this.options
    const stored = at.previous
    const staleAnswer = (fwdStatus?: number) => {
      const policy = restorePolicy(stored.policy, this.options)
      if (!staleIfErrorAllows(policy, asked.headers)) return undefined
      return fromStored(name, stored, policy, asked.method, asked.headers, { fwd, ...(fwdStatus === undefined ? {} : { fwdStatus }), detail: 'stale-if-error' })
    }
    let made: Exchanged
    try {
      made = await collapsedTrip(this.options, origin, { url: asked.url, headers: asked.headers, ...at })
    } catch (error) {
      this.options.onError(error)
      return staleAnswer() ?? badGateway(name, fwd)
    }
    if (made.kind === 'pass' && ERROR_STATUSES.has(made.response.status)) return staleAnswer(made.response.status) ?? this.answerMade(asked, made, { fwd })
    return this.answerMade(asked, made, { fwd })
  }

  /** The answer from a trip to the origin: the stored response (`stored`), or the origin's as is. */
  private answerMade(asked: Asked, made: Exchanged, parts: { readonly fwd: 'miss' | 'vary-miss' | 'request' | 'stale' }): HttpCacheAnswer {
    if (made.kind === 'pass') return passed(this.options.name, made.response, asked.method, parts)
    const policy = restorePolicy(made.stored.policy, this.options)
    const shown = made.answered === undefined ? made.stored : { ...made.stored, headers: made.answered }
    return fromStored(this.options.name, shown, policy, asked.method, asked.headers, { ...parts, fwdStatus: made.fwdStatus, stored: !made.collapsed, collapsed: made.collapsed })
  }

  /** To the origin as asked, not stored. */
  private async pass(asked: Asked, origin: Origin, fwd: 'miss' | 'vary-miss'): Promise<HttpCacheAnswer> {
    try {
      const body = asked.method === 'GET' || asked.method === 'HEAD' ? {} : { body: asked.body }
      const response = await origin({ method: asked.method, url: asked.url, headers: asked.headers, ...body })
      return passed(this.options.name, { status: response.status, headers: withoutHopByHop(normalizeHeaders(response.headers)), body: response.body }, asked.method, { fwd })
    } catch (error) {
      this.options.onError(error)
      return badGateway(this.options.name, fwd)
    }
  }

  private inBackground(work: Promise<unknown>): void {
    const done: Promise<void> = work.then(
      () => {},
      (error: unknown) => this.options.onError(error),
    )
    this.background.add(done)
    void done.finally(() => this.background.delete(done))
  }
}

/**
 * A shared HTTP cache (RFC 9111) storing in `options.cache`'s tiers; see {@link HttpCache}.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options
 */
export function createHttpCache(options: HttpCacheOptions): HttpCache {
  return new HttpCache(options)
}
