/**
 * The AI cache's semantic matching (docs/ai.md): after the exact key misses, a chat request may be
 * answered with the cached answer of a differently worded question, when the two are equal in all
 * but the wording of the last user message (the partition) and the matcher says the nearest is
 * close enough. Partitions hold the view's scope, so tenants and users never match each other's.
 */
import type { Cache } from '../cache/cache.js'
import type { Served } from '../core/entry.js'
import { createHash } from 'node:crypto'
import type { SetOptions } from '../cache/cache.js'
import type { Removal } from '../cache/removal.js'
import { semanticParts } from './canonical.js'
import type { ChatRecord } from './chat-record.js'
import type { Embedder } from './semantic/embedder.js'
import { type Judge, chatAnswerText, exactJudge } from './semantic/judge.js'
import { type Decision, type Matcher, type MatcherConfig, createMatcher } from './semantic/matcher.js'
import { type VectorIndex, memoryVectorIndex } from './semantic/vector-index.js'
import { fromBytes, toBytes } from './semantic/vectors.js'

/** Options of the semantic layer (`createAiCache({ semantic })`). */
export interface SemanticOptions {
  /** Turns the embedded text into vectors: `upstreamEmbedder`, `hashingEmbedder`, or a `functionEmbedder` of yours. */
  readonly embedder: Embedder
  /**
   * When the nearest cached question may answer: `{ mode: 'threshold', threshold: 0.9 }` (cosine
   * similarity), or `{ mode: 'verified', delta: 0.05 }`, which keeps the rate of wrong hits under
   * `delta` by checking a share of them upstream (after vCache, arXiv 2502.03771; see `createMatcher`).
   */
  readonly matcher: MatcherConfig
  /** Where the vectors are kept. @default memoryVectorIndex() (in this process) */
  readonly index?: VectorIndex
  /** Whether a fresh answer stands for a cached one, in verified mode. @default exactJudge */
  readonly judge?: Judge
  /** Neighbours asked of the index per request. @default 4 */
  readonly k?: number
}

/** Where a request sits in the index: its partition, its vector, and the view its partition's vectors are stored in. */
export interface Probe {
  readonly partition: string
  readonly vector: Float32Array
  readonly vectors: Cache
}

/** How a vector is stored as an entry: little-endian float32 bytes. */
interface StoredVector {
  readonly v: Uint8Array
}

/** How many partitions a process keeps track of (loaded from storage, reachable by removals). */
const LOADED_PARTITIONS = 10_000

/** A decision of the matcher, with the cached answer it points at. */
export type SemanticDecision =
  | { readonly kind: 'miss' }
  | { readonly kind: 'hit' | 'verify' | 'explore'; readonly id: string; readonly similarity: number; readonly served: Served<ChatRecord> }

/** What {@link SemanticLayer.lookup} found. */
export interface SemanticLookup {
  /** A cached answer to serve: the request's own (fresh), or a semantic hit's, with its similarity. */
  readonly hit?: { readonly served: Served<ChatRecord>; readonly similarity?: number }
  /** To call once the upstream's answer to the request is stored under its key: indexes it, and learns from it. */
  stored(fresh: unknown): Promise<void>
}

const NOTHING_TO_LEARN = async (): Promise<void> => {}

export class SemanticLayer {
  readonly embedder: Embedder
  readonly index: VectorIndex
  readonly matcher: Matcher
  readonly #judge: Judge
  readonly #k: number
  /** Partitions this process has probed (and loaded the stored vectors of), oldest first. */
  readonly #loaded = new Set<string>()

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an invalid matcher config */
  constructor(options: SemanticOptions) {
    this.embedder = options.embedder
    this.index = options.index ?? memoryVectorIndex()
    this.matcher = createMatcher(options.matcher)
    this.#judge = options.judge ?? exactJudge
    this.#k = options.k ?? 4
  }

  /**
   * Exact match first: the request's own fresh answer under `key`; then the matcher's decision on
   * the nearest answers of its partition. A `verify` decision serves the hit and also calls
   * `askFresh` in the background (which asks the upstream and stores its answer under `key`), to
   * judge the hit; an `explore` decision serves nothing, and learns once the caller stored the
   * upstream's answer (`stored`). Fails only as the embedder or the index fails.
   */
  async lookup(
    view: Cache,
    key: string,
    request: Readonly<Record<string, unknown>>,
    context: Readonly<Record<string, string>>,
    write: SetOptions,
    askFresh: () => Promise<unknown>,
  ): Promise<SemanticLookup> {
    const own = await view.getWithInfo<ChatRecord>(key)
    if (own !== undefined && !own.stale) return { hit: { served: own }, stored: NOTHING_TO_LEARN }
    const probe = await this.probe(view, request, context)
    if (probe === undefined) return { stored: NOTHING_TO_LEARN }
    const decision = await this.decide(view, probe)
    const stored = async (fresh: unknown) => {
      await this.remember(probe, key, write)
      if (decision.kind !== 'miss') await this.learn(probe, decision, fresh)
    }
    if (decision.kind === 'miss' || decision.kind === 'explore') return { stored }
    if (decision.kind === 'verify') {
      // The judge's verdict only teaches the matcher; a failure to get it costs nothing but the lesson.
      void askFresh()
        .then((fresh) => (fresh === undefined ? undefined : stored(fresh)))
        .catch(() => {})
    }
    return { hit: { served: decision.served, similarity: decision.similarity }, stored }
  }

  /**
   * The partition and vector of `request` stored in `view`; undefined when it cannot be matched.
   * The first probe of a partition in this process loads the partition's stored vectors.
   */
  async probe(view: Cache, request: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>>): Promise<Probe | undefined> {
    const parts = semanticParts(request, context)
    if (parts === undefined) return undefined
    const [vector] = await this.embedder.embed([parts.text])
    if (vector === undefined) return undefined
    // The embedding space and the partition, hashed into a namespace of the view's scope: the
    // vectors are entries like the answers, sealed at rest, erased and expired with them.
    const space = `${view.name}|${this.embedder.id}|${parts.partition}`
    const vectors = view.namespace(`aiv.${createHash('sha256').update(space).digest('hex').slice(0, 48)}`)
    const probe = { partition: `${view.scope.prefix}${space}`, vector, vectors }
    await this.#load(probe)
    return probe
  }

  /** Loads the stored vectors of the probe's partition into the index, once per process. */
  async #load(probe: Probe): Promise<void> {
    if (this.#loaded.has(probe.partition)) return
    if (this.#loaded.size >= LOADED_PARTITIONS) this.#loaded.delete(this.#loaded.values().next().value as string)
    this.#loaded.add(probe.partition)
    const records: { id: string; vector: Float32Array }[] = []
    try {
      for await (const [id, stored] of probe.vectors.entries<StoredVector>()) {
        const vector = stored.v instanceof Uint8Array ? fromBytes(stored.v, new Float32Array(stored.v.byteLength / 4)) : undefined
        if (vector !== undefined && vector.length === probe.vector.length) records.push({ id, vector })
      }
    } catch {
      // No tier can list the namespace (it is down): the index fills again as answers are stored.
      this.#loaded.delete(probe.partition)
      return
    }
    if (records.length > 0) await this.index.addMany(probe.partition, records)
  }

  /** What the matcher makes of the probe's nearest cached answers; answers gone from the cache are dropped from the index. */
  async decide(view: Cache, probe: Probe): Promise<SemanticDecision> {
    for (;;) {
      const neighbours = await this.index.nearest(probe.partition, probe.vector, this.#k)
      const decision: Decision = this.matcher.decide(probe.partition, neighbours)
      if (decision.kind === 'miss') return decision
      const served = await view.getWithInfo<ChatRecord>(decision.id)
      if (served !== undefined && !served.stale) return { ...decision, served }
      await this.forget(probe, decision.id)
    }
  }

  /** Adds the answer just stored under `id` to the index, and stores its vector as the answer is stored (`write`). */
  async remember(probe: Probe, id: string, write: SetOptions): Promise<void> {
    await this.index.add(probe.partition, { id, vector: probe.vector })
    await probe.vectors.set(id, { v: new Uint8Array(toBytes(probe.vector)) } satisfies StoredVector, write)
  }

  /** Records whether `fresh` (the upstream's answer) agreed with the cached answer an explore or verify decision pointed at. */
  async learn(probe: Probe, decision: { readonly id: string; readonly similarity: number; readonly served: Served<ChatRecord> }, fresh: unknown): Promise<void> {
    const cached = chatAnswerText(decision.served.value.body)
    const answered = chatAnswerText(fresh)
    // An answer without text (a tool call) cannot be judged: counted as a disagreement, the safe side.
    const correct = cached !== undefined && answered !== undefined && (await this.#judge(cached, answered))
    this.matcher.record(probe.partition, decision.id, decision.similarity, correct)
  }

  /**
   * The probe's nearest cached answer was wrong for it: removes that answer's vector and tightens its
   * neighbourhood (`Matcher.retract`). Resolves with the retracted answer's id, if there was one.
   */
  async retract(probe: Probe): Promise<string | undefined> {
    const [nearest] = await this.index.nearest(probe.partition, probe.vector, 1)
    if (nearest === undefined) return undefined
    this.matcher.retract(probe.partition, nearest.id, nearest.similarity)
    await Promise.all([this.index.remove(probe.partition, nearest.id), probe.vectors.delete(nearest.id)])
    return nearest.id
  }

  /**
   * Drops what this process holds of the partitions a removal reaches, whether asked here or heard
   * from another instance: a scope's erasure (a tenant's vectors must not outlive it in any
   * process's memory) or a namespace's clear. Removals of keys and tags leave vectors whose answers
   * are gone; the next lookup that meets one drops it.
   */
  onRemoval(removal: Removal): void {
    const prefix = removal.kind === 'scope' ? removal.prefix : removal.kind === 'clear' ? (removal.namespace === undefined ? '' : `${removal.namespace}|`) : undefined
    if (prefix === undefined) return
    for (const partition of [...this.#loaded]) {
      if (!partition.startsWith(prefix)) continue
      this.#loaded.delete(partition)
      this.matcher.clear(partition)
      void this.index.clear(partition).catch(() => {})
    }
  }

  /** Drops entry `id` from the partition: its answer is gone (expired, invalidated, erased). */
  async forget(probe: Probe, id: string): Promise<void> {
    this.matcher.forget(probe.partition, id)
    await Promise.all([this.index.remove(probe.partition, id), probe.vectors.delete(id)])
  }
}
