import { z } from 'zod'
import type { Cache, SetOptions } from '../cache/cache.js'
import type { CallContext } from '../cache/policy-hook.js'
import type { Policy } from '../policy/layer.js'
import { type Duration, toMs } from '../core/duration.js'
import { BadRequestError, InvalidOptionsError } from '../errors.js'
import { CHAT_PATH, type ChatRecord, UpstreamRefusal, isOk, rootCause } from './chat-record.js'
import { AiAccounting, type AnswerStatus, type Prices, type Saving } from './accounting.js'
import { type AiStreamAnswer, type Flights, replay, streamChat } from './chat-stream.js'
import { CHAT, EMBEDDINGS, type Operation, RESPONSES } from './operations.js'
import { isDeterministic } from './determinism.js'
import { SemanticLayer, type SemanticLookup, type SemanticOptions } from './semantic-layer.js'
import type { StreamRelay } from './stream-relay.js'
import type { Upstream } from './upstream.js'

/**
 * How an answer was served, as the gateway's `x-tiercache-cache` header says it: from the cache
 * (`HIT`; `SEMANTIC-HIT`, the answer of a differently worded question; or `STALE`, past its ttl
 * because the upstream failed), from the upstream and stored (`MISS`),
 * from the upstream and stored over a cached answer (`REFRESH`), or from the upstream without the
 * cache (`BYPASS`: asked for, or a sampled request; see {@link AiCacheOptions.maxTemperature}).
 */
export type AiCacheStatus = 'HIT' | 'SEMANTIC-HIT' | 'STALE' | 'MISS' | 'REFRESH' | 'BYPASS'

/** Options of {@link createAiCache}. */
export interface AiCacheOptions {
  /** Where answers are stored: a cache or a view of one (its scope partitions the answers). */
  readonly cache: Cache
  /** The model API that answers misses (see `httpUpstream`). */
  readonly upstream: Upstream
  /**
   * Requests up to this temperature are deterministic enough to cache; above it, only with a
   * `seed`. A request without `temperature` has the provider's default, 1. @default 0
   */
  readonly maxTemperature?: number
  /** What to do with a request above {@link maxTemperature} without a seed: `'bypass'` the cache, or `'cache'` its first answer. @default 'bypass' */
  readonly sampled?: 'bypass' | 'cache'
  /**
   * Per cache type, its own `maxTemperature` and `sampled`: a type whose answers may be one draw
   * among many (`{ 'venue-ideas': { sampled: 'cache' } }`) caches sampled requests while the others
   * bypass. @default none: every type has the AI cache's
   */
  readonly cacheTypes?: Readonly<Record<string, { readonly maxTemperature?: number; readonly sampled?: 'bypass' | 'cache' }>>
  /** How long an answer is fresh. @default '1h' */
  readonly ttl?: Duration
  /** How long past its ttl an answer is kept, to be served (`STALE`) when the upstream fails. @default 0 */
  readonly grace?: Duration
  /**
   * The policy layer (docs/policies.md) that gives each cache type its ttl and its context key: a
   * ttl policy named as the cache type sets its answers' ttl and grace (from the call's context, as
   * for any entry), and a key builder named as it buckets the call's context into the key.
   * @default none: every cache type has {@link ttl} and {@link grace}, and no context enters the key
   */
  readonly policy?: Policy
  /** Prices by model, for the money saved (see `Prices`). @default none: tokens are counted, money is not */
  readonly prices?: Prices
  /**
   * Where streams in progress are shared across processes, so that an identical streamed request
   * waiting in another process follows the stream live (`redisStreamRelay` of `tiercache/redis`).
   * @default none: a request waiting in another process gets the stored answer once complete
   */
  readonly relay?: StreamRelay
  /**
   * Semantic matching, opt-in (docs/ai.md): a chat request whose key misses may be answered with
   * the cached answer of a differently worded question in the same partition (`SEMANTIC-HIT`).
   * @default none: exact matching only
   */
  readonly semantic?: SemanticOptions
}

/** Options of one call of {@link AiCache.chat}. */
export interface AiCallOptions {
  /**
   * The kind of answer (`venue-recommendations`, `timeline`): part of the key, tagged `ai.type:<type>`,
   * and the name of its ttl policy and key builder in the policy layer. @default 'default'
   */
  readonly cacheType?: string
  /** The namespace the answer is stored in (one per application, say). @default 'ai' */
  readonly namespace?: string
  /** Ask the upstream and store nothing. @default false */
  readonly bypass?: boolean
  /** Ask the upstream and store its answer over the cached one. @default false */
  readonly refresh?: boolean
  /** A cached answer older than this (ms) is refreshed as with {@link refresh}. @default none */
  readonly maxAgeMs?: number
  /** This answer's ttl. @default the AI cache's */
  readonly ttl?: Duration
  /** Tags of the stored answer, for `invalidateTags` (the documents a RAG answer used, say). @default [] */
  readonly tags?: readonly string[]
  /**
   * Context fields of the call (`market`, `date`, `budget`, ...): the fields the cache type's key
   * builder declares are bucketed into the key, and the ttl policy reads its multipliers' fields.
   * Fields the builder declares are also read from the request's `metadata`; these win over them.
   * @default none
   */
  readonly context?: CallContext
  /** Whether the semantic layer may answer this call (when the AI cache has one). @default true */
  readonly semantic?: boolean
}

/** What {@link AiCache.invalidate} removes: the union of the answers each given field selects. */
export interface AiInvalidation {
  /** @default 'ai' */
  readonly namespace?: string
  readonly cacheType?: string
  readonly model?: string
  /** Tags the answers were stored with (`x-tiercache-tags`, {@link AiCallOptions.tags}). */
  readonly tags?: readonly string[]
}

/** An answer of the gateway: the upstream's status and body, or the cached body with status 200. */
export interface AiAnswer {
  readonly status: number
  readonly body: unknown
  readonly cache: AiCacheStatus
  /** Milliseconds since the upstream produced the answer; 0 when it just did. */
  readonly ageMs: number
  /** Why the cache was bypassed: `'requested'` or `'sampled'`. */
  readonly bypassReason?: 'requested' | 'sampled'
  /** What serving it from the cache saved (the stored answer's usage, priced); absent when it came from the upstream. */
  readonly saved?: Saving
  /** For a `SEMANTIC-HIT`: the cosine similarity of the question to the cached one that answered. */
  readonly similarity?: number
}

const CACHE_TYPE = /^[A-Za-z0-9_-]{1,64}$/

/** @throws BadRequestError (`TC_BAD_REQUEST`) for a cache type that is not 1 to 64 of A-Z a-z 0-9 _ - */
function checkCacheType(type: string): string {
  if (!CACHE_TYPE.test(type)) throw new BadRequestError('the cache type must be 1 to 64 of A-Z a-z 0-9 _ -')
  return type
}

const servedFromCache = (status: AiCacheStatus): boolean => status === 'HIT' || status === 'SEMANTIC-HIT' || status === 'STALE'

/** The namespace of answers whose call names none. */
export const DEFAULT_NAMESPACE = 'ai'

/** The tag every answer of cache type `type` carries. */
export const typeTag = (type: string): string => `ai.type:${type}`
/** The tag every answer of `model` carries. */
export const modelTag = (model: string): string => `ai.model:${model}`

type Settings = z.output<typeof optionsSchema> & {
  readonly ttlMs: number
  readonly graceMs: number
  readonly policy: Policy | undefined
  readonly relay: StreamRelay | undefined
}

/** What every view of one AI cache shares: its settings, streams in flight, the accounting, the semantic layer, the views made. */
interface Shared {
  readonly settings: Settings
  readonly views: WeakMap<Cache, AiCache>
  readonly flights: Flights
  readonly accounting: AiAccounting
  readonly semantic: SemanticLayer | undefined
}

/** Where a request is stored: the view, the key, the write options, and the context the key holds (cache type, buckets). */
interface Place {
  readonly view: Cache
  readonly key: string
  readonly write: SetOptions
  readonly keyContext: Readonly<Record<string, string>>
}

/** A request to a model: its `model`, and every other field as sent. */
type ModelRequest = Readonly<Record<string, unknown>> & { readonly model: string }

/** A planned request: where it is stored, and whether the call asks to refresh it. */
type Planned = Place & { readonly request: ModelRequest; readonly refresh: boolean }

const optionsSchema = z.object({
  maxTemperature: z.number().min(0).max(2).default(0),
  sampled: z.enum(['bypass', 'cache']).default('bypass'),
  cacheTypes: z
    .record(z.string().regex(CACHE_TYPE, 'a cache type is 1 to 64 of A-Z a-z 0-9 _ -'), z.strictObject({ maxTemperature: z.number().min(0).max(2).optional(), sampled: z.enum(['bypass', 'cache']).optional() }))
    .default({}),
  ttl: z.union([z.number(), z.string()]).default('1h'),
  grace: z.union([z.number(), z.string()]).default(0),
})

/** A chat completion request as far as the gateway needs to read it; every other field is kept as sent. */
const chatRequestSchema = z.looseObject({
  model: z.string({ error: 'model is required: a string' }).min(1, 'model must not be empty'),
  messages: z.array(z.unknown(), { error: 'messages is required: an array' }).min(1, 'messages must not be empty'),
})

/**
 * Caches an OpenAI-compatible API's answers (docs/ai.md): the key is the canonical form of every
 * field that can change the answer (see `canonical.ts`), identical requests in flight make one
 * upstream call (the cache's single flight, across processes with Redis), and only 2xx answers are
 * stored.
 */
export class AiCache {
  readonly #settings: Settings
  readonly #shared: Shared

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options */
  constructor(
    readonly cache: Cache,
    readonly upstream: Upstream,
    options: Omit<AiCacheOptions, 'cache' | 'upstream'> = {},
    shared?: Shared,
  ) {
    this.#shared = shared ?? sharedOf(cache, options)
    this.#settings = this.#shared.settings
  }

  /** What the answers saved, per namespace, tenant, model and cache type, in every view of this AI cache. */
  get accounting(): AiAccounting {
    return this.#shared.accounting
  }

  /** The same AI cache storing in `view` (a tenant's view, say): answers are partitioned by its scope. */
  forView(view: Cache): AiCache {
    // One per view: the server makes a tenant's view once, and asks for its AI cache on every request.
    const views = this.#shared.views
    let made = views.get(view)
    if (made === undefined || made.upstream !== this.upstream) views.set(view, (made = new AiCache(view, this.upstream, {}, this.#shared)))
    return made
  }

  /**
   * Wraps a function that calls a model itself (a provider's SDK, say) in this AI cache: the
   * wrapped function answers a chat completion request from the cache, or calls `fn` on a miss and
   * stores what it returns, with the semantics of {@link chat} (keys, single flight, bypass of
   * sampled requests, semantic matching). What `fn` throws is thrown, and nothing is stored.
   * @example
   * const create = ai.wrap((request: ChatCompletionCreateParamsNonStreaming) => openai.chat.completions.create(request))
   * const completion = await create({ model: 'gpt-4o-mini', temperature: 0, messages }, { cacheType: 'timeline' })
   * @throws BadRequestError (`TC_BAD_REQUEST`) as {@link chat}, from the wrapped function
   */
  wrap<Request extends object, Completion>(fn: (request: Request, signal?: AbortSignal) => Promise<Completion>): (request: Request, options?: AiCallOptions) => Promise<Completion> {
    const upstream: Upstream = {
      post: async (_path, body, signal) => ({ status: 200, body: await fn(body as Request, signal) }),
      stream: () => Promise.reject(new BadRequestError('a wrapped function answers requests without stream: true')),
      close: async () => {},
    }
    const wrapped = new AiCache(this.cache, upstream, {}, this.#shared)
    return async (request, options) => (await wrapped.chat(request, options)).body as Completion
  }

  /**
   * Answers a chat completion request (`POST /chat/completions`, not streamed) from the cache or
   * the upstream. A cached streamed answer to the same request answers it too, assembled.
   * @throws BadRequestError (`TC_BAD_REQUEST`) for a body without `model` or `messages`, `stream: true`, or a bad option
   * @throws UpstreamError (`TC_UPSTREAM_ERROR`), UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) when the
   *   upstream fails and no stale answer can stand in; an upstream's error answer is returned, not thrown
   */
  async chat(body: unknown, options: AiCallOptions = {}): Promise<AiAnswer> {
    const request = parseChatRequest(body)
    if (request.stream === true) throw new BadRequestError('chat() answers requests without stream: true; use chatStream()')
    return this.#answered(CHAT, request, options)
  }

  /**
   * Answers an embeddings request (`POST /embeddings`) from the cache or the upstream. Embeddings
   * are deterministic: every request is cached, keyed by every field but `user`.
   * @throws BadRequestError (`TC_BAD_REQUEST`) for a body without `model` or `input`, or a bad option
   * @throws UpstreamError (`TC_UPSTREAM_ERROR`), UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) as {@link chat}
   */
  async embeddings(body: unknown, options: AiCallOptions = {}): Promise<AiAnswer> {
    const request = parseEmbeddingsRequest(body)
    return this.#answered(EMBEDDINGS, request, options)
  }

  /** {@link #answer}, with what it saved, counted. */
  async #answered(operation: Operation, request: ModelRequest, options: AiCallOptions): Promise<AiAnswer> {
    const answer = await this.#answer(operation, request, options)
    const saved = servedFromCache(answer.cache) ? this.accounting.savingOf(request.model, answer.body) : undefined
    return this.#counted(request, options, saved === undefined ? answer : { ...answer, saved })
  }

  async #answer(operation: Operation, request: ModelRequest, options: AiCallOptions): Promise<AiAnswer> {
    const plan = await this.#plan(operation, request, options)
    const { path } = operation
    if (plan.kind === 'bypass') return { ...(await this.upstream.post(path, request)), cache: 'BYPASS', ageMs: 0, bypassReason: plan.reason }
    const { view, key, write } = plan
    if (plan.refresh) {
      const answer = await this.upstream.post(path, request)
      const stored = isOk(answer.status) && operation.storable(answer.body)
      if (stored) await view.set(key, { body: answer.body } satisfies ChatRecord, write)
      return { ...answer, cache: stored ? 'REFRESH' : 'MISS', ageMs: 0 }
    }
    // A fresh L1 hit, without the read-through's promises: the gateway's hot path.
    const held = view.getWithInfoNow<ChatRecord>(key)
    if (held !== undefined) return { status: 200, body: held.value.body, cache: 'HIT', ageMs: held.ageMs }
    const semantic = operation.semantic ? await this.#semantic(plan, options) : undefined
    const hit = semantic?.hit
    if (hit !== undefined) {
      const cache = hit.similarity === undefined ? 'HIT' : 'SEMANTIC-HIT'
      return { status: 200, body: hit.served.value.body, cache, ageMs: hit.served.ageMs, ...(hit.similarity === undefined ? {} : { similarity: hit.similarity }) }
    }
    try {
      const served = await view.getOrSetWithInfo<ChatRecord>(
        key,
        async ({ signal }) => {
          const answer = await this.upstream.post(path, request, signal)
          if (!isOk(answer.status) || !operation.storable(answer.body)) throw new UpstreamRefusal(answer)
          return { body: answer.body }
        },
        write,
      )
      // The semantic layer's bookkeeping: its failure must not fail the answer.
      if (served.source === 'origin') await semantic?.stored(served.value.body).catch(() => {})
      const cache: AiCacheStatus = served.source === 'origin' ? 'MISS' : served.stale ? 'STALE' : 'HIT'
      return { status: 200, body: served.value.body, cache, ageMs: served.source === 'origin' ? 0 : served.ageMs }
    } catch (error) {
      const cause = rootCause(error)
      if (cause instanceof UpstreamRefusal) return { ...cause.answer, cache: 'MISS', ageMs: 0 }
      throw cause
    }
  }

  /**
   * Answers a streamed chat completion request (`stream: true`): a miss streams the upstream's
   * events as they come and stores them once the stream ends with `[DONE]`; identical requests
   * meanwhile follow that stream; a hit replays the stored events byte for byte (usage chunk
   * included) when they were asked with the same `stream_options.include_usage`, and otherwise the
   * cached completion written as a stream (so a non-streamed answer serves a streamed request).
   * @throws BadRequestError (`TC_BAD_REQUEST`) for a body without `model`, `messages` or `stream: true`, or a bad option
   * @throws UpstreamError (`TC_UPSTREAM_ERROR`), UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) when the
   *   upstream fails before it streams and no stale answer can stand in
   */
  async chatStream(body: unknown, options: AiCallOptions = {}): Promise<AiStreamAnswer> {
    const request = parseChatRequest(body)
    if (request.stream !== true) throw new BadRequestError('chatStream() answers requests with stream: true; use chat()')
    return this.#stream(CHAT, request, options)
  }

  /**
   * Answers a Responses API request (`POST /responses`, not streamed) as {@link chat} answers a
   * chat completion: keyed by every field but the neutral ones (`RESPONSES_NEUTRAL_FIELDS`;
   * `previous_response_id` is in the key), and only a `completed` response is stored.
   * @throws BadRequestError (`TC_BAD_REQUEST`) for a body without `model`, with `stream: true`, or a bad option
   * @throws UpstreamError (`TC_UPSTREAM_ERROR`), UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) as {@link chat}
   */
  async responses(body: unknown, options: AiCallOptions = {}): Promise<AiAnswer> {
    const request = parseResponsesRequest(body)
    if (request.stream === true) throw new BadRequestError('responses() answers requests without stream: true; use responsesStream()')
    return this.#answered(RESPONSES, request, options)
  }

  /**
   * Answers a streamed Responses API request as {@link chatStream} answers a chat completion: a
   * stream is stored once its `response.completed` event arrives, and a cached response not
   * streamed is written as its events.
   * @throws as {@link chatStream}
   */
  async responsesStream(body: unknown, options: AiCallOptions = {}): Promise<AiStreamAnswer> {
    const request = parseResponsesRequest(body)
    if (request.stream !== true) throw new BadRequestError('responsesStream() answers requests with stream: true; use responses()')
    return this.#stream(RESPONSES, request, options)
  }

  async #stream(operation: Operation, request: ModelRequest, options: AiCallOptions): Promise<AiStreamAnswer> {
    const format = operation.stream
    if (format === undefined) throw new BadRequestError(`${operation.path} does not stream`)
    const plan = await this.#plan(operation, request, options)
    if (plan.kind === 'bypass') {
      const answer = await this.upstream.stream(operation.path, request)
      return this.#counted(request, options, { ...answer, cache: 'BYPASS', ageMs: 0, bypassReason: plan.reason })
    }
    const saving = (completion: unknown) => this.accounting.savingOf(request.model, completion)
    const semantic = operation.semantic ? await this.#semantic(plan, options) : undefined
    const hit = semantic?.hit
    if (hit !== undefined) {
      const answer = replay(format, hit.served, format.includesUsage(request), saving)
      return this.#counted(request, options, hit.similarity === undefined ? answer : { ...answer, cache: 'SEMANTIC-HIT', similarity: hit.similarity })
    }
    const { relay } = this.#settings
    const streamPlan = { ...plan, path: operation.path, format, ...(relay === undefined ? {} : { relay }), ...(semantic === undefined ? {} : { onStored: semantic.stored }) }
    return this.#counted(request, options, await streamChat(streamPlan, this.upstream, this.#shared.flights, saving))
  }

  /** The semantic layer's lookup for a planned chat request, when the AI cache has one and the call does not turn it off. */
  async #semantic(plan: Planned, options: AiCallOptions): Promise<SemanticLookup | undefined> {
    const layer = this.#shared.semantic
    const { view, key, write, request } = plan
    // A user's questions are matched exactly only: their vectors would keep the user's words in this
    // process's memory, where user entries are not kept (the security policy's `tiers`).
    if (layer === undefined || options.semantic === false || view.scope.level === 'user') return undefined
    const askFresh = async () => {
      const fresh = await this.upstream.post(CHAT_PATH, request)
      if (!isOk(fresh.status)) return undefined
      await view.set(key, { body: fresh.body } satisfies ChatRecord, write)
      return fresh.body
    }
    try {
      return await layer.lookup(view, key, request, plan.keyContext, write, askFresh)
    } catch {
      // The embedder or the index failed: this call is matched exactly only, as without the layer.
      return undefined
    }
  }

  /** Counts `answer` in {@link accounting}. */
  #counted<A extends { readonly cache: AnswerStatus; readonly saved?: Saving }>(request: ModelRequest, options: AiCallOptions, answer: A): A {
    const labels = { namespace: options.namespace ?? DEFAULT_NAMESPACE, tenant: this.cache.scope.tenantId ?? '_public', model: request.model, cacheType: options.cacheType ?? 'default' }
    this.accounting.record(labels, answer.cache, answer.saved)
    return answer
  }

  /**
   * Removes answers from every tier and every instance's L1: those of `cacheType`, of `model`, and
   * those carrying any of `tags` (the union of what is given), in the namespace; with none of them,
   * every answer of the namespace. In a tenant's view, only that tenant's answers.
   * @throws InvalidNamespaceError, InvalidTagError for a bad namespace or tag; BadRequestError (`TC_BAD_REQUEST`) for a bad cache type
   */
  async invalidate(selector: AiInvalidation = {}): Promise<void> {
    if (selector.cacheType !== undefined) checkCacheType(selector.cacheType)
    const view = this.cache.namespace(selector.namespace ?? DEFAULT_NAMESPACE)
    const tags = [
      ...(selector.cacheType === undefined ? [] : [typeTag(selector.cacheType)]),
      ...(selector.model === undefined ? [] : [modelTag(selector.model)]),
      ...(selector.tags ?? []),
    ]
    await (tags.length === 0 ? view.clear() : view.invalidateTags(tags))
  }

  /**
   * Removes the answer to `body` stored with `options` (the same cache type, namespace and context
   * as when it was asked): for an answer reported wrong. With semantic matching, also the cached
   * answer nearest to it in its partition (the one a `SEMANTIC-HIT` served), whose neighbourhood the
   * matcher tightens. Resolves true when an answer was held.
   * @throws BadRequestError (`TC_BAD_REQUEST`) as {@link chat}
   */
  async retract(body: unknown, options: AiCallOptions = {}): Promise<boolean> {
    const request = parseChatRequest(body)
    const { view, key, keyContext } = this.#place(CHAT, request, options)
    const own = await view.delete(key)
    const layer = this.#shared.semantic
    if (layer === undefined) return own
    // A semantic hit answered from another question's entry: that is the one to remove.
    const probe = await layer.probe(view, request, keyContext)
    const neighbour = probe === undefined ? undefined : await layer.retract(probe)
    const other = neighbour !== undefined && neighbour !== key && (await view.delete(neighbour))
    return own || other
  }

  /** Where a request is stored and how, or why it bypasses the cache. */
  async #plan(
    operation: Operation,
    request: ModelRequest,
    options: AiCallOptions,
  ): Promise<{ readonly kind: 'bypass'; readonly reason: 'requested' | 'sampled' } | (Planned & { readonly kind: 'cache' })> {
    const place = this.#place(operation, request, options)
    if (options.bypass === true) return { kind: 'bypass', reason: 'requested' }
    const own = this.#settings.cacheTypes[options.cacheType ?? 'default']
    const { maxTemperature, sampled: onSampled } = { maxTemperature: this.#settings.maxTemperature, sampled: this.#settings.sampled, ...own }
    const sampled = operation.sampled && onSampled === 'bypass' && !isDeterministic(request, maxTemperature)
    if (sampled) return { kind: 'bypass', reason: 'sampled' }
    let refresh = options.refresh === true
    if (!refresh && options.maxAgeMs !== undefined) {
      const cached = await place.view.getWithInfo(place.key)
      refresh = cached !== undefined && cached.ageMs > options.maxAgeMs
    }
    return { kind: 'cache', ...place, request, refresh }
  }

  /** The view, key and write options of a request. */
  #place(operation: Operation, request: ModelRequest, options: AiCallOptions): Place {
    const cacheType = checkCacheType(options.cacheType ?? 'default')
    const view = this.cache.namespace(options.namespace ?? DEFAULT_NAMESPACE)
    const { policy, ttlMs, graceMs } = this.#settings
    const context = contextOf(request, options.context, policy, cacheType)
    const buckets = policy?.keys.names().includes(cacheType) === true ? policy.keys.build(cacheType, {}, context) : undefined
    const keyContext = { type: cacheType, ...(buckets === undefined ? {} : { buckets }) }
    const key = operation.key(request, keyContext)
    const tags = [typeTag(cacheType), modelTag(request.model), ...(options.tags ?? [])]
    // A ttl given with the call wins over the policy's; the policy's over the AI cache's own.
    const write: SetOptions =
      policy?.ttl.names().includes(cacheType) === true
        ? { policy: cacheType, context, tags, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) }
        : { ttl: options.ttl ?? ttlMs, grace: graceMs, tags }
    return { view, key, write, keyContext }
  }
}

/** The call's context: the fields of `metadata` that the cache type's key builder declares, under the call's own. */
function contextOf(request: Readonly<Record<string, unknown>>, given: CallContext | undefined, policy: Policy | undefined, cacheType: string): CallContext {
  const metadata = request.metadata
  if (policy === undefined || typeof metadata !== 'object' || metadata === null || !policy.keys.names().includes(cacheType)) return given ?? {}
  const fromMetadata: Record<string, string | number | boolean> = {}
  for (const field of policy.keys.contextFieldsOf(cacheType)) {
    const value = (metadata as Record<string, unknown>)[field]
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fromMetadata[field] = value
  }
  return { ...fromMetadata, ...given }
}

/** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options */
function sharedOf(cache: Cache, options: Omit<AiCacheOptions, 'cache' | 'upstream'>): Shared {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new InvalidOptionsError(`invalid AI cache options: ${z.prettifyError(parsed.error)}`)
  return {
    settings: { ...parsed.data, ttlMs: toMs(parsed.data.ttl, 'ttl'), graceMs: toMs(parsed.data.grace, 'grace'), policy: options.policy, relay: options.relay },
    views: new WeakMap(),
    flights: new Map(),
    accounting: new AiAccounting(options.prices),
    semantic: semanticOf(cache, options.semantic),
  }
}

/** The semantic layer, told of the cache's removals (erasures and clears, here or on other instances). */
function semanticOf(cache: Cache, options: SemanticOptions | undefined): SemanticLayer | undefined {
  if (options === undefined) return undefined
  const layer = new SemanticLayer(options)
  cache.on('removal', ({ removal }) => layer.onRemoval(removal))
  return layer
}

/**
 * An AI cache in front of `upstream`, storing in `cache`.
 * @example
 * const ai = createAiCache({ cache: createCache(), upstream: httpUpstream({ baseUrl: 'https://api.openai.com/v1', apiKey }) })
 * const answer = await ai.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0 })
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options
 */
export function createAiCache(options: AiCacheOptions): AiCache {
  const { cache, upstream, ...rest } = options
  return new AiCache(cache, upstream, rest)
}

/** An embeddings request as far as the gateway needs to read it; every other field is kept as sent. */
const embeddingsRequestSchema = z.looseObject({
  model: z.string({ error: 'model is required: a string' }).min(1, 'model must not be empty'),
  input: z.union([z.string(), z.array(z.unknown()).min(1, 'input must not be empty')], { error: 'input is required: a string or an array' }),
})

/** A Responses API request as far as the gateway needs to read it; every other field is kept as sent. */
const responsesRequestSchema = z.looseObject({
  model: z.string({ error: 'model is required: a string' }).min(1, 'model must not be empty'),
})

/** @throws BadRequestError (`TC_BAD_REQUEST`) naming what is missing */
export function parseResponsesRequest(body: unknown): z.output<typeof responsesRequestSchema> {
  const parsed = responsesRequestSchema.safeParse(body)
  if (!parsed.success) throw new BadRequestError(`invalid Responses API request: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/** @throws BadRequestError (`TC_BAD_REQUEST`) naming what is missing */
export function parseEmbeddingsRequest(body: unknown): z.output<typeof embeddingsRequestSchema> {
  const parsed = embeddingsRequestSchema.safeParse(body)
  if (!parsed.success) throw new BadRequestError(`invalid embeddings request: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}

/** @throws BadRequestError (`TC_BAD_REQUEST`) naming what is missing */
export function parseChatRequest(body: unknown): z.output<typeof chatRequestSchema> {
  const parsed = chatRequestSchema.safeParse(body)
  if (!parsed.success) throw new BadRequestError(`invalid chat completion request: ${z.prettifyError(parsed.error)}`)
  return parsed.data
}
