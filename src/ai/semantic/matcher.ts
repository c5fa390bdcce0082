import { z } from 'zod'
import { InvalidOptionsError } from '../../errors.js'
import { clopperPearsonUpper } from './stats.js'
import { type Neighbour, checkName } from './vectors.js'

/**
 * Serve a cached answer when its similarity to the query is at least `threshold`: the classic
 * semantic cache (GPTCache's), one number for every entry. Simple, and without any bound on how
 * often it serves a wrong answer: that depends on the embedder and the traffic.
 */
export interface ThresholdMatcherConfig {
  readonly mode: 'threshold'
  /** Cosine similarity, in [-1, 1]. */
  readonly threshold: number
}

/**
 * Verified semantic caching after vCache: thresholds learnt online per entry, so that the share of
 * wrong answers among the cached answers served stays within `delta`. See {@link createMatcher}.
 * @see L. G. Schroeder et al., "vCache: Verified Semantic Prompt Caching", arXiv 2502.03771
 */
export interface VerifiedMatcherConfig {
  readonly mode: 'verified'
  /** The largest tolerated rate of wrong answers among cache hits, in (0, 1): 0.05 for 5 %. */
  readonly delta: number
  /** The share of hits that are also checked upstream in the background (`verify`), in [0, 1]. @default 0.05 */
  readonly sampleRate?: number
  /** The confidence of the upper bound on an entry's error rate, in (0, 1). @default 0.95 */
  readonly confidence?: number
  /** Observations with a similarity in [s − bandWidth, s] count as evidence for a query at s. @default 0.1 */
  readonly bandWidth?: number
  /** Below this similarity the nearest entry is not even explored: a plain `miss`. @default 0.5 */
  readonly minSimilarity?: number
  /** The partition's pooled observations count as at most this many observations of an entry. @default 100 */
  readonly priorWeight?: number
  /** Observations kept per entry (the newest). @default 64 */
  readonly maxObservations?: number
  /** Observations kept per partition for the pooled prior (the newest). @default 4096 */
  readonly poolSize?: number
  /** How many failures a retraction (a wrong answer reported by a user) counts as. @default 3 */
  readonly retractWeight?: number
}

/** How {@link createMatcher} decides, plus the source of randomness (for the `verify` sampling). */
export type MatcherConfig = (ThresholdMatcherConfig | VerifiedMatcherConfig) & {
  /** Uniform numbers in [0, 1); inject a seeded one in tests. @default Math.random */
  readonly random?: () => number
  /** Entries whose state (observations, floors) is kept, over all partitions; the oldest is dropped beyond. @default 100000 */
  readonly maxEntries?: number
}

/**
 * What to do with a query, given its nearest cached entry `id` at `similarity`:
 * - `hit`: serve the cached answer;
 * - `verify`: serve the cached answer, and in the background ask the upstream, judge the two answers
 *   and {@link Matcher.record} the verdict;
 * - `explore`: ask the upstream, serve its (fresh) answer, judge it against the cached one and record
 *   the verdict;
 * - `miss`: no entry is near enough; ask the upstream (nothing to record).
 *
 * `errorBound` (verified mode) is the upper bound on the probability that the entry's answer is wrong
 * at this similarity, which a hit keeps within `delta`.
 */
export type Decision =
  | { readonly kind: 'hit' | 'verify' | 'explore'; readonly id: string; readonly similarity: number; readonly errorBound?: number }
  | { readonly kind: 'miss' }

/**
 * A matcher's settings, defaults applied; the fields of the other mode are NaN (numbers) or their
 * neutral value (`sampleRate` 0).
 */
export interface MatcherSettings extends Readonly<Required<Omit<VerifiedMatcherConfig, 'mode'>>> {
  readonly mode: 'threshold' | 'verified'
  readonly threshold: number
  readonly random: () => number
  readonly maxEntries: number
}

/** The decision half of the semantic layer, per partition (see {@link createMatcher}). */
export interface Matcher {
  /** The config, defaults applied. */
  readonly config: MatcherSettings
  /**
   * Decides on a query from its neighbours in `partition` (as `VectorIndex.nearest` returns them, in
   * any order): only the most similar one is considered.
   * @throws InvalidKeyError (`TC_INVALID_KEY`) for a partition that is not a string of 1 to 1024 characters
   */
  decide(partition: string, neighbours: readonly Neighbour[]): Decision
  /**
   * Records whether entry `id`'s answer was right (`correct`, as a judge said) for a query at
   * `similarity`: after an `explore` or a `verify`.
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a similarity that is not a number in [-1, 1]
   */
  record(partition: string, id: string, similarity: number, correct: boolean): void
  /**
   * A served answer of entry `id` was reported wrong (by a user, say): records `retractWeight`
   * failures at `similarity` (by default the similarity of the entry's last hit), and tightens the
   * neighbourhood: the entry no longer hits at or below that similarity, nor do the other entries
   * that were neighbours of that query at or below theirs; the failures also join the partition's
   * pooled prior, raising the bar of every entry in that band. Without a similarity or a hit
   * remembered, the entry serves no more hits.
   */
  retract(partition: string, id: string, similarity?: number): void
  /** Drops what is known of entry `id` (its answer was removed, expired or replaced). */
  forget(partition: string, id: string): void
  /** Drops what is known of `partition`, or of everything. */
  clear(partition?: string): void
}

const unit = z.number().min(0).max(1)
const similarity = z.number().min(-1).max(1)
const shared = {
  random: z.custom<() => number>((value) => typeof value === 'function', 'random must be a function').default(() => Math.random),
  maxEntries: z.number().int().min(1).default(100_000),
}
const configSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('threshold'), threshold: similarity, ...shared }),
  z.object({
    mode: z.literal('verified'),
    delta: z.number().gt(0).lt(1),
    sampleRate: unit.default(0.05),
    confidence: z.number().gt(0).lt(1).default(0.95),
    bandWidth: z.number().gt(0).max(2).default(0.1),
    minSimilarity: similarity.default(0.5),
    priorWeight: z.number().min(0).default(100),
    maxObservations: z.number().int().min(1).default(64),
    poolSize: z.number().int().min(0).default(4096),
    retractWeight: z.number().gt(0).default(3),
    ...shared,
  }),
])

/** One observation: a query at `similarity` reached the entry, and its answer was wrong `failures` times out of `weight`. */
interface Observation {
  readonly id: string
  readonly similarity: number
  readonly weight: number
  readonly failures: number
}

interface EntryState {
  readonly observations: Observation[]
  /** Hits only strictly above this similarity (raised by retractions). */
  floor: number
  lastHit?: { readonly similarity: number; readonly others: readonly Neighbour[] }
}

const SEPARATOR = '\u0000'
/** A retraction raises a floor just past the similarity it happened at. */
const EPSILON = 1e-6

/**
 * A {@link Matcher}: the decision whether a query's nearest cached entry may answer it.
 *
 * **Threshold mode** hits when the similarity is at least `threshold` (and above a floor raised by
 * {@link Matcher.retract}), and misses otherwise.
 *
 * **Verified mode** (after vCache, arXiv 2502.03771) learns per entry. Each entry keeps observations
 * (the similarity of a query that reached it, and whether its answer was right for that query, as a
 * judge said after an `explore` or a `verify`). For a query at similarity s to entry e, the evidence
 * is the observations with a similarity in [s − bandWidth, s]: e's own, plus the partition's pooled
 * observations of the other entries, scaled to count as at most `priorWeight` observations (the prior
 * that lets a new entry hit before it has its own history; an entry with a failure of its own in the
 * band is known to differ from the others there, and gets no prior). The decision bounds e's error rate at s
 * from above with the one-sided Clopper–Pearson bound at `confidence` on these (weighted) counts, and
 * hits only when the bound is at most `delta`; else it explores. Of the hits, a `sampleRate` share are
 * `verify` decisions, so that evidence keeps coming where the cache answers.
 *
 * Why this bounds the rate of wrong hits: vCache's premise is that the probability of a right answer
 * does not decrease with similarity. Then every observation at a similarity s' ≤ s was wrong with a
 * probability at least e's error rate at s, the failure count dominates a binomial with that rate,
 * and the Clopper–Pearson bound covers the rate with probability at least `confidence` (and the band
 * only ever takes observations below s, never above). So each hit is wrong with probability at most
 * `delta`, but for the `1 − confidence` chance that the bound fails. The pooled part is valid as far as
 * the partition's entries are alike (exchangeable), which a partition by model, system prompt and
 * history makes plausible; an entry that failed in the band loses the prior, so that it must then
 * earn its hits on its own observations. vCache
 * fits a logistic curve per entry instead, which needs fewer observations but rests on its shape; the
 * bound here is distribution-free.
 *
 * State is in process memory: a restart (or another instance) relearns from scratch, exploring more
 * at first, which costs upstream calls, not wrong answers.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an invalid config
 */
export function createMatcher(input: MatcherConfig): Matcher {
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new InvalidOptionsError(`invalid matcher config: ${z.prettifyError(parsed.error)}`)
  const settings = parsed.data
  const verified = settings.mode === 'verified' ? settings : undefined
  const config: MatcherSettings = Object.freeze({
    mode: settings.mode,
    threshold: settings.mode === 'threshold' ? settings.threshold : NaN,
    delta: verified?.delta ?? NaN,
    sampleRate: verified?.sampleRate ?? 0,
    confidence: verified?.confidence ?? NaN,
    bandWidth: verified?.bandWidth ?? NaN,
    minSimilarity: verified?.minSimilarity ?? NaN,
    priorWeight: verified?.priorWeight ?? 0,
    maxObservations: verified?.maxObservations ?? 0,
    poolSize: verified?.poolSize ?? 0,
    retractWeight: verified?.retractWeight ?? 3,
    random: settings.random,
    maxEntries: settings.maxEntries,
  })
  const entries = new Map<string, EntryState>()
  const pools = new Map<string, Observation[]>()

  const entryOf = (partition: string, id: string): EntryState => {
    const key = partition + SEPARATOR + id
    let entry = entries.get(key)
    if (entry === undefined) {
      entry = { observations: [], floor: -Infinity }
      entries.set(key, entry)
      if (entries.size > config.maxEntries) entries.delete(entries.keys().next().value as string)
    }
    return entry
  }

  const observe = (partition: string, id: string, observation: Observation): void => {
    if (verified === undefined) return
    const entry = entryOf(partition, id)
    entry.observations.push(observation)
    if (entry.observations.length > config.maxObservations) entry.observations.shift()
    if (config.poolSize === 0) return
    let pool = pools.get(partition)
    if (pool === undefined) {
      pool = []
      pools.set(partition, pool)
      // Pools of partitions no entry is known in any more would pile up: keep as many as entries.
      if (pools.size > config.maxEntries) pools.delete(pools.keys().next().value as string)
    }
    pool.push(observation)
    if (pool.length > config.poolSize) pool.shift()
  }

  /** The upper bound on entry `id`'s error rate at `s` (verified mode). */
  const errorBound = (partition: string, id: string, entry: EntryState | undefined, s: number): number => {
    const low = s - config.bandWidth
    let trials = 0
    let failures = 0
    for (const o of entry?.observations ?? []) {
      if (o.similarity >= low && o.similarity <= s) {
        trials += o.weight
        failures += o.failures
      }
    }
    let poolTrials = 0
    let poolFailures = 0
    // The pool is a prior for entries that have not failed near s: once one has, it is known to
    // differ from the others there, and only its own observations count.
    for (const o of failures > 0 ? [] : (pools.get(partition) ?? [])) {
      if (o.id !== id && o.similarity >= low && o.similarity <= s) {
        poolTrials += o.weight
        poolFailures += o.failures
      }
    }
    const scale = poolTrials > config.priorWeight ? config.priorWeight / poolTrials : 1
    return clopperPearsonUpper(failures + scale * poolFailures, trials + scale * poolTrials, config.confidence)
  }

  const checkSimilarity = (value: number): void => {
    if (typeof value !== 'number' || !(value >= -1 && value <= 1)) throw new InvalidOptionsError(`a similarity must be a number in [-1, 1], not ${String(value)}`)
  }

  return {
    config,
    decide(partition, neighbours) {
      checkName(partition, 'partition')
      let nearest: Neighbour | undefined
      for (const n of neighbours) if (nearest === undefined || n.similarity > nearest.similarity) nearest = n
      if (nearest === undefined || !Number.isFinite(nearest.similarity)) return { kind: 'miss' }
      const { id, similarity: s } = nearest
      const entry = entries.get(partition + SEPARATOR + id)
      const floor = entry?.floor ?? -Infinity
      const remember = () => {
        entryOf(partition, id).lastHit = { similarity: s, others: neighbours.filter((n) => n.id !== id) }
      }
      if (verified === undefined) {
        if (s < config.threshold || s <= floor) return { kind: 'miss' }
        remember()
        return { kind: 'hit', id, similarity: s }
      }
      if (s < config.minSimilarity) return { kind: 'miss' }
      const bound = errorBound(partition, id, entry, s)
      if (s <= floor || bound > config.delta) return { kind: 'explore', id, similarity: s, errorBound: bound }
      remember()
      const kind = config.sampleRate > 0 && config.random() < config.sampleRate ? 'verify' : 'hit'
      return { kind, id, similarity: s, errorBound: bound }
    },
    record(partition, id, similarity, correct) {
      checkName(partition, 'partition')
      checkName(id, 'id')
      checkSimilarity(similarity)
      observe(partition, id, { id, similarity, weight: 1, failures: correct ? 0 : 1 })
    },
    retract(partition, id, similarity) {
      checkName(partition, 'partition')
      checkName(id, 'id')
      if (similarity !== undefined) checkSimilarity(similarity)
      const entry = entryOf(partition, id)
      const s = similarity ?? entry.lastHit?.similarity
      if (s === undefined) {
        entry.floor = Infinity
        return
      }
      observe(partition, id, { id, similarity: s, weight: config.retractWeight, failures: config.retractWeight })
      entry.floor = Math.max(entry.floor, s + EPSILON)
      for (const other of entry.lastHit?.others ?? []) {
        const state = entryOf(partition, other.id)
        state.floor = Math.max(state.floor, other.similarity + EPSILON)
      }
      delete entry.lastHit
    },
    forget(partition, id) {
      entries.delete(partition + SEPARATOR + id)
    },
    clear(partition) {
      if (partition === undefined) {
        entries.clear()
        pools.clear()
        return
      }
      pools.delete(partition)
      for (const key of [...entries.keys()]) if (key.startsWith(partition + SEPARATOR)) entries.delete(key)
    },
  }
}
