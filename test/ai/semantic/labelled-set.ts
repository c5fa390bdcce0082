import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { LabelledSet } from '../../../src/ai/semantic/evaluate.js'

/**
 * The labelled set of the semantic cache tests (and of bench/suites/ai-semantic.js, which reads the
 * same JSON): hand-written questions of a wedding planner and a travel assistant. Each base question
 * has 1 to 3 paraphrases (the same answer, `answer:<id>`) and 1 to 3 near misses (the same question
 * about another city, date, budget, guest count or vendor: an answer of their own).
 */
const schema = z.object({
  description: z.string(),
  questions: z
    .array(
      z.object({
        id: z.string().min(1),
        domain: z.enum(['wedding', 'travel']),
        text: z.string().min(1),
        paraphrases: z.array(z.string().min(1)).min(1).max(3),
        nearMisses: z.array(z.object({ id: z.string().min(1), text: z.string().min(1) })).min(1).max(3),
      }),
    )
    .min(60),
})

export const LABELLED_SET_PATH = new URL('./labelled-set.json', import.meta.url)

export const LABELLED_SET: LabelledSet = schema.parse(JSON.parse(readFileSync(LABELLED_SET_PATH, 'utf8')))

/** The answer string of an answer id, as the evaluation's judge compares them. */
export function answerOf(id: string): string {
  return `answer:${id}`
}
