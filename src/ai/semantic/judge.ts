import { InvalidOptionsError } from '../../errors.js'
import type { Embedder } from './embedder.js'
import { dot } from './vectors.js'

/**
 * Says whether a cached answer is as good as a fresh one for the query that got it: the verdict a
 * verified matcher learns from (`Matcher.record`). Answers are compared as text (the assistant
 * message's content).
 */
export type Judge = (cached: string, fresh: string) => Promise<boolean> | boolean

/** The text with its ends trimmed and every run of white space made one space. */
function collapse(text: string): string {
  return text.trim().replace(/\s+/g, ' ')
}

/**
 * A {@link Judge} that takes two answers as the same when they are equal once trimmed and with
 * white space runs collapsed (case and punctuation count). Right for deterministic answers (labels,
 * JSON, extracted fields); a model's free prose rarely repeats itself word for word, so for it this
 * judge is strict: it finds answers wrong that a reader would accept, which only costs hits.
 */
export const exactJudge: Judge = (cached, fresh) => collapse(cached) === collapse(fresh)

/** Options of {@link embeddingJudge}. */
export interface EmbeddingJudgeOptions {
  /** Embeds the two answers. */
  readonly embedder: Embedder
  /** Cosine similarity from which two answers count as the same, in [-1, 1]. @default 0.9 */
  readonly minSimilarity?: number
}

/**
 * A {@link Judge} that takes two answers as the same when their embeddings have a cosine similarity
 * of at least `minSimilarity` (or they are equal, as {@link exactJudge} has it, without embedding).
 * As good as the embedder: answers that differ in one figure ("$3,000" and "$8,000") embed close
 * with most models, so keep `minSimilarity` high, or use an LLM as the judge (vCache's choice).
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a minSimilarity not in [-1, 1]
 * @throws (from the judge) whatever the embedder throws
 */
export function embeddingJudge(options: EmbeddingJudgeOptions): Judge {
  const { embedder } = options
  const minSimilarity = options.minSimilarity ?? 0.9
  if (typeof minSimilarity !== 'number' || !(minSimilarity >= -1 && minSimilarity <= 1)) {
    throw new InvalidOptionsError('embeddingJudge: minSimilarity must be a number in [-1, 1]')
  }
  return async (cached, fresh) => {
    if (collapse(cached) === collapse(fresh)) return true
    const [a, b] = await embedder.embed([cached, fresh])
    if (a === undefined || b === undefined || a.length !== b.length) return false
    return dot(a, b) >= minSimilarity
  }
}

/**
 * The text of a chat completion's first choice (`choices[0].message.content`, a string or text
 * parts), what a {@link Judge} compares; undefined for a body without one (a tool call, say).
 */
export function chatAnswerText(body: unknown): string | undefined {
  const choices = (body as { choices?: unknown } | null)?.choices
  const message = Array.isArray(choices) ? (choices[0] as { message?: { content?: unknown } } | undefined)?.message : undefined
  const content = message?.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return undefined
  const texts = content.map((part: unknown) => (part as { type?: unknown; text?: unknown } | null)).filter((part) => part?.type === 'text' && typeof part.text === 'string')
  return texts.length === 0 ? undefined : texts.map((part) => part?.text as string).join('')
}
