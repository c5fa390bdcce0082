import { seededRandom } from '../../core/seeded-random.js'
import { InvalidOptionsError } from '../../errors.js'
import type { Embedder } from './embedder.js'
import { type Judge, exactJudge } from './judge.js'
import { type MatcherConfig, createMatcher } from './matcher.js'
import { type VectorIndex, memoryVectorIndex } from './vector-index.js'

/** A question of a labelled set, with the questions that share its answer and some that must not. */
export interface LabelledQuestion {
  /** Its answer's id: the answer is the string `answer:<id>`. */
  readonly id: string
  /** Its domain (`wedding`, `travel`): questions of one domain share a partition in {@link evaluate}. */
  readonly domain: string
  readonly text: string
  /** Other wordings of the question: the same answer. */
  readonly paraphrases: readonly string[]
  /** The same question about something else (another city, date, budget, guest count or vendor): another answer. */
  readonly nearMisses: readonly { readonly id: string; readonly text: string }[]
}

/** Questions with their labels, as `test/ai/semantic/labelled-set.json` holds them. */
export interface LabelledSet {
  readonly questions: readonly LabelledQuestion[]
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** How many times the paraphrases and near misses are asked, each time in a new order. @default 3 */
  readonly rounds?: number
  /** Seed of the order of the queries, and of the matcher's randomness unless its config gives one. @default 1 */
  readonly seed?: number
  /** Where the vectors go. @default a fresh memoryVectorIndex */
  readonly index?: VectorIndex
  /** Neighbours asked of the index per query. @default 4 */
  readonly k?: number
  /** Compares the cached and the fresh answer on `explore` and `verify`. @default exactJudge */
  readonly judge?: Judge
}

/** Counts of one kind of query. */
export interface QueryCounts {
  readonly queries: number
  readonly hits: number
  readonly wrongHits: number
}

/** What {@link evaluate} measured. Hits include `verify` decisions (they are served from the cache). */
export interface Evaluation extends QueryCounts {
  /** hits / queries (0 for no queries). */
  readonly hitRate: number
  /** wrongHits / hits (0 for no hits): what a verified matcher keeps within delta. */
  readonly wrongHitRate: number
  readonly explored: number
  readonly verified: number
  readonly misses: number
  readonly byKind: { readonly base: QueryCounts; readonly paraphrase: QueryCounts; readonly nearMiss: QueryCounts }
}

interface Query {
  readonly text: string
  readonly answer: string
  readonly partition: string
  readonly kind: 'base' | 'paraphrase' | 'nearMiss'
}

export { seededRandom } from '../../core/seeded-random.js'

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

/**
 * Replays a labelled set through the semantic layer alone (no exact-match cache in front, so that
 * repeated questions reach it) and counts what it served. Every question of one domain shares a
 * partition, `eval:<domain>`. The stream: every base question once, in order, then the paraphrases
 * and near misses in a seeded shuffled order, `rounds` times (reshuffled each round). Per query the
 * nearest neighbours are looked up and the matcher decides, as the AI cache would:
 * - `hit` / `verify`: the entry's answer is served, and counted wrong unless it is the query's;
 *   `verify` also records the judge's verdict;
 * - `explore`: the fresh answer is served (never wrong), the judge's verdict is recorded, and a base
 *   question judged to differ becomes an entry;
 * - `miss`: a base question becomes an entry.
 * Only base questions become entries, so that the paraphrases and near misses keep testing the
 * decision on the same entries round after round.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for rounds not a positive integer, or an invalid matcher config
 */
export async function evaluate(set: LabelledSet, embedder: Embedder, matcherConfig: MatcherConfig, options: EvaluateOptions = {}): Promise<Evaluation> {
  const rounds = options.rounds ?? 3
  const seed = options.seed ?? 1
  const k = options.k ?? 4
  const judge = options.judge ?? exactJudge
  if (!Number.isInteger(rounds) || rounds < 1) throw new InvalidOptionsError('evaluate: rounds must be a positive integer')
  const matcher = createMatcher({ random: seededRandom(seed ^ 0x5bd1e995), ...matcherConfig })
  const index = options.index ?? memoryVectorIndex({ maxEntries: 1_000_000 })
  const order = seededRandom(seed)

  const bases: Query[] = []
  const followUps: Query[] = []
  for (const q of set.questions) {
    const partition = `eval:${q.domain}`
    bases.push({ text: q.text, answer: `answer:${q.id}`, partition, kind: 'base' })
    for (const text of q.paraphrases) followUps.push({ text, answer: `answer:${q.id}`, partition, kind: 'paraphrase' })
    for (const miss of q.nearMisses) followUps.push({ text: miss.text, answer: `answer:${miss.id}`, partition, kind: 'nearMiss' })
  }
  const stream = [...bases]
  for (let round = 0; round < rounds; round++) stream.push(...shuffled(followUps, order))

  const texts = [...new Set(stream.map((q) => q.text))]
  const vectors = new Map<string, Float32Array>()
  const embedded = await embedder.embed(texts)
  texts.forEach((text, i) => vectors.set(text, embedded[i] as Float32Array))

  const answerOf = new Map<string, string>()
  const counts = { base: { queries: 0, hits: 0, wrongHits: 0 }, paraphrase: { queries: 0, hits: 0, wrongHits: 0 }, nearMiss: { queries: 0, hits: 0, wrongHits: 0 } }
  let explored = 0
  let verified = 0
  let misses = 0
  let entries = 0
  for (const query of stream) {
    const vector = vectors.get(query.text) as Float32Array
    const tally = counts[query.kind]
    tally.queries++
    const decision = matcher.decide(query.partition, await index.nearest(query.partition, vector, k))
    const addEntry = async () => {
      const id = `e${entries++}`
      answerOf.set(id, query.answer)
      await index.add(query.partition, { id, vector })
    }
    if (decision.kind === 'miss') {
      misses++
      if (query.kind === 'base') await addEntry()
      continue
    }
    const cached = answerOf.get(decision.id) as string
    if (decision.kind === 'explore') {
      explored++
      const same = await judge(cached, query.answer)
      matcher.record(query.partition, decision.id, decision.similarity, same)
      if (!same && query.kind === 'base') await addEntry()
      continue
    }
    tally.hits++
    if (cached !== query.answer) tally.wrongHits++
    if (decision.kind === 'verify') {
      verified++
      matcher.record(query.partition, decision.id, decision.similarity, await judge(cached, query.answer))
    }
  }
  if (options.index === undefined) await index.close()
  const queries = stream.length
  const hits = counts.base.hits + counts.paraphrase.hits + counts.nearMiss.hits
  const wrongHits = counts.base.wrongHits + counts.paraphrase.wrongHits + counts.nearMiss.wrongHits
  return {
    queries,
    hits,
    wrongHits,
    hitRate: queries === 0 ? 0 : hits / queries,
    wrongHitRate: hits === 0 ? 0 : wrongHits / hits,
    explored,
    verified,
    misses,
    byKind: counts,
  }
}
