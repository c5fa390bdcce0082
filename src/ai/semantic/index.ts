/**
 * Semantic matching for the AI cache (docs/ai.md, issue 11): an opt-in layer that answers a request
 * from a cached answer to a differently worded one. It works on partitions (the caller's hash of
 * everything in a request but the text embedded), ids (cached answers) and texts or vectors: the
 * embedder turns texts into vectors, a vector index finds a partition's nearest cached answers, and
 * the matcher decides whether the nearest may answer, in threshold or verified mode (after vCache,
 * arXiv 2502.03771).
 *
 * `postgresVectorIndex` is not re-exported here: its types name the optional `postgres` peer, and
 * this module's must compile without it (test/consumer). Import it from `./postgres-index.js` (a
 * subpath export of its own, like `tiercache/postgres`).
 */
export { type EmbedFunction, type Embedder, type HashingEmbedderOptions, type UpstreamEmbedderOptions, functionEmbedder, hashingEmbedder, upstreamEmbedder } from './embedder.js'
export {
  type EvaluateOptions,
  type Evaluation,
  type LabelledQuestion,
  type LabelledSet,
  type QueryCounts,
  evaluate,
  seededRandom,
} from './evaluate.js'
export { type EmbeddingJudgeOptions, type Judge, chatAnswerText, embeddingJudge, exactJudge } from './judge.js'
export {
  type Decision,
  type Matcher,
  type MatcherConfig,
  type MatcherSettings,
  type ThresholdMatcherConfig,
  type VerifiedMatcherConfig,
  createMatcher,
} from './matcher.js'
export { type SqliteVectorIndexOptions, sqliteVectorIndex } from './sqlite-index.js'
export { clopperPearsonUpper } from './stats.js'
export type { FeatureWeights } from './text-features.js'
export { type MemoryVectorIndexOptions, type VectorIndex, memoryVectorIndex } from './vector-index.js'
export { type Neighbour, type VectorRecord, cosineSimilarity, normalize } from './vectors.js'
