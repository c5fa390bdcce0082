import { InvalidOptionsError, InvalidValueError, UpstreamError } from '../../errors.js'
import type { Upstream } from '../upstream.js'
import { type FeatureWeights, textFeatures } from './text-features.js'
import { MAX_DIMENSIONS, normalize } from './vectors.js'

/**
 * Turns texts into vectors for the semantic index: one `Float32Array` per text, in order, every
 * one of the same length and L2-normalised (see {@link normalize}), so that a dot product is a
 * cosine similarity.
 */
export interface Embedder {
  /**
   * Names the embedding space (model and settings): vectors of two embedders with different ids
   * must never be compared, so callers put it in the partition.
   */
  readonly id: string
  /**
   * The vectors of `texts`, in order; `[]` for no texts.
   * @throws whatever the embedding source throws (see each embedder); an aborted `signal` rejects with its reason
   */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>
}

/** What {@link functionEmbedder} wraps: any function from texts to vectors (arrays of numbers). */
export type EmbedFunction = (texts: readonly string[], signal?: AbortSignal) => Promise<readonly ArrayLike<number>[]> | readonly ArrayLike<number>[]

/**
 * An {@link Embedder} from a function of your own (a local model, another SDK): its vectors are
 * copied into `Float32Array`s and normalised.
 * @param id - the embedding space's name (see {@link Embedder.id})
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an empty id
 * @example functionEmbedder('minilm-l6', async (texts) => model.embed(texts))
 */
export function functionEmbedder(id: string, fn: EmbedFunction): Embedder {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionsError('an embedder needs a non-empty id')
  return {
    id,
    async embed(texts, signal) {
      if (texts.length === 0) return []
      signal?.throwIfAborted()
      const vectors = await fn(texts, signal)
      return checkVectors(vectors, texts.length, (message) => new InvalidValueError(`embedder ${id}: ${message}`))
    },
  }
}

/**
 * Vectors as returned by an embedding source, checked (count, one length, finite numbers),
 * copied and normalised.
 */
function checkVectors(vectors: readonly ArrayLike<number>[], count: number, fail: (message: string) => Error): Float32Array[] {
  if (!Array.isArray(vectors) || vectors.length !== count) throw fail(`expected ${count} vectors, got ${Array.isArray(vectors) ? vectors.length : 'none'}`)
  const out: Float32Array[] = []
  let dimensions: number | undefined
  for (const vector of vectors) {
    const length = (vector as ArrayLike<number> | undefined)?.length
    if (typeof length !== 'number' || length === 0 || length > MAX_DIMENSIONS) throw fail('a vector is not an array of 1 to 65536 numbers')
    if (dimensions !== undefined && length !== dimensions) throw fail(`vectors of ${dimensions} and ${length} dimensions in one answer`)
    dimensions = length
    const copy = new Float32Array(length)
    for (let i = 0; i < length; i++) {
      const x = vector[i]
      if (typeof x !== 'number' || !Number.isFinite(x)) throw fail('a vector component is not a finite number')
      copy[i] = x
    }
    out.push(normalize(copy))
  }
  return out
}

/** Options of {@link upstreamEmbedder}. */
export interface UpstreamEmbedderOptions {
  /** The OpenAI-compatible API (see `httpUpstream`). */
  readonly upstream: Upstream
  /** The embedding model, as the API names it: `text-embedding-3-small`. */
  readonly model: string
  /** Ask the model for vectors of this many dimensions (OpenAI's `dimensions` field). @default the model's own */
  readonly dimensions?: number
  /** Texts sent per request; longer lists are split. @default 256 */
  readonly batchSize?: number
}

/**
 * An {@link Embedder} on an OpenAI-compatible `POST /embeddings`: sends `{ model, input: texts }`
 * (and `dimensions` when given) and reads `data[i].embedding` (in `data[i].index` order when the
 * answer gives indexes). Its id is `upstream:<model>[:<dimensions>]`.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an empty model, or dimensions or batchSize that are not positive integers
 * @throws (from `embed`) UpstreamError (`TC_UPSTREAM_ERROR`) for a non-2xx answer or one without a vector per text;
 *   UpstreamError / UpstreamTimeoutError as {@link Upstream.post} throws them
 */
export function upstreamEmbedder(options: UpstreamEmbedderOptions): Embedder {
  const { upstream, model, dimensions } = options
  const batchSize = options.batchSize ?? 256
  if (typeof model !== 'string' || model.length === 0) throw new InvalidOptionsError('upstreamEmbedder needs a model')
  for (const [name, value] of [['dimensions', dimensions], ['batchSize', batchSize]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new InvalidOptionsError(`upstreamEmbedder: ${name} must be a positive integer`)
  }
  const fail = (message: string) => new UpstreamError(`the embeddings upstream (${model}) ${message}`)
  const embedBatch = async (texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> => {
    const body = dimensions === undefined ? { model, input: texts } : { model, input: texts, dimensions }
    const answer = await upstream.post('/embeddings', body, signal)
    if (answer.status < 200 || answer.status >= 300) throw fail(`answered ${answer.status}`)
    const data = (answer.body as { data?: unknown } | null)?.data
    if (!Array.isArray(data)) throw fail('answered without a data array')
    const ordered = data.every((item: unknown) => typeof (item as { index?: unknown } | null)?.index === 'number')
      ? [...data].sort((a: { index: number }, b: { index: number }) => a.index - b.index)
      : data
    const vectors = ordered.map((item: unknown) => (item as { embedding?: unknown } | null)?.embedding)
    if (!vectors.every((v): v is number[] => Array.isArray(v))) throw fail('answered an item without an embedding array')
    return checkVectors(vectors, texts.length, (message) => fail(`answered badly: ${message}`))
  }
  return {
    id: dimensions === undefined ? `upstream:${model}` : `upstream:${model}:${dimensions}`,
    async embed(texts, signal) {
      const out: Float32Array[] = []
      for (let i = 0; i < texts.length; i += batchSize) {
        signal?.throwIfAborted()
        out.push(...(await embedBatch(texts.slice(i, i + batchSize), signal)))
      }
      return out
    },
  }
}

/** Options of {@link hashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Length of the vectors. @default 512 */
  readonly dimensions?: number
  /**
   * Weights of the features (see {@link FeatureWeights}).
   * @default { specific: 3, word: 1, bigram: 0.5, trigrams: 0.5 }
   */
  readonly weights?: Partial<FeatureWeights>
}

const DEFAULT_WEIGHTS: FeatureWeights = { specific: 3, word: 1, bigram: 0.5, trigrams: 0.5 }

/**
 * A deterministic {@link Embedder} that needs no model: for tests, benchmarks and offline use. Not a
 * language model: it sees words, not meaning ("cheap" and "low-priced" are close only through its
 * short synonym list), so use a real embedding model in production.
 *
 * The text is lower-cased and split into tokens; stop words are dropped, words lightly stemmed and a
 * few synonyms folded together. The specifics of a question — numbers, currency amounts, dates,
 * months, weekdays, seasons, capitalised names inside a sentence (cities, venues) and vendor or
 * service kinds from a short built-in list (florist, caterer, hostel, ferry) — are weighted
 * `weights.specific` (3) against 1 for other words, so that the same question about another city,
 * date, budget, guest count or vendor moves the vector well away. Word bigrams (0.5) and
 * character trigrams of ordinary words (0.5 per word, spread) are added. Every feature is hashed
 * (FNV-1a, 32 bits) into one of `dimensions` buckets with a sign from a second hash (the "hashing
 * trick", Weinberger et al., ICML 2009), and the vector is normalised.
 *
 * Its id is `hashing:v1:<dimensions>:<weights>`, so that vectors of other settings are never mixed.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for dimensions not an integer from 16 to 65536, or a negative or non-finite weight
 */
export function hashingEmbedder(options: HashingEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? 512
  if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > MAX_DIMENSIONS) {
    throw new InvalidOptionsError(`hashingEmbedder: dimensions must be an integer from 16 to ${MAX_DIMENSIONS}`)
  }
  const weights: FeatureWeights = { ...DEFAULT_WEIGHTS, ...options.weights }
  for (const [name, value] of Object.entries(weights)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidOptionsError(`hashingEmbedder: weight ${name} must be a finite number ≥ 0`)
  }
  const embedOne = (text: string): Float32Array => {
    const vector = new Float32Array(dimensions)
    for (const { name, weight } of textFeatures(text, weights)) {
      const h = fnv1a(name, 0x811c9dc5)
      const sign = fnv1a(name, 0x01000193) & 1 ? 1 : -1
      const bucket = h % dimensions
      vector[bucket] = (vector[bucket] as number) + sign * weight
    }
    return normalize(vector)
  }
  return {
    id: `hashing:v1:${dimensions}:${weights.specific}/${weights.word}/${weights.bigram}/${weights.trigrams}`,
    async embed(texts, signal) {
      signal?.throwIfAborted()
      return texts.map((text) => {
        if (typeof text !== 'string') throw new InvalidValueError('hashingEmbedder embeds strings only')
        return embedOne(text)
      })
    },
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units, from `seed`; unsigned. */
function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // A final avalanche, so that the low bits (the bucket and the sign) depend on every character.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}
