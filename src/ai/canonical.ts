import { createHash } from 'node:crypto'

/**
 * The version of the canonical form: part of every AI storage key, raised whenever the form
 * changes (or the stored record's shape does), so that entries of an older version are never read
 * as a newer one's. 2: answers stored as `{ body, stream? }`.
 */
export const AI_KEY_VERSION = 2

/**
 * Fields of a chat completion request that do not change its answer, and so stay out of the key.
 * A deny-list, not an allow-list: a field the list does not name (a new OpenAI parameter, a
 * provider's own) is part of the key, so that no parameter is ever silently ignored.
 *
 * - `user`, `safety_identifier`, `metadata`: who asks and what for, not what is asked (tiercache reads
 *   its context fields from `metadata`; they enter the key through the policy layer's buckets);
 * - `stream`, `stream_options`: how the answer is delivered (a streamed and a non-streamed request
 *   share an entry);
 * - `store`, `service_tier`, `prompt_cache_key`, `prompt_cache_retention`: the provider's storage,
 *   latency and billing, not the answer.
 */
export const ANSWER_NEUTRAL_FIELDS: ReadonlySet<string> = new Set([
  'user',
  'safety_identifier',
  'metadata',
  'stream',
  'stream_options',
  'store',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
])

/** A JSON value. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json }

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no whitespace, so that two
 * requests that differ only in key order or formatting have one form. Arrays keep their order: the
 * order of messages, content parts and tools can change an answer. `undefined` members are dropped,
 * as `JSON.stringify` drops them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  // Plain loops and one string: this runs on every request of the gateway.
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      out += (i === 0 ? '' : ',') + (item === undefined ? 'null' : canonicalJson(item))
    }
    return `${out}]`
  }
  const record = value as Readonly<Record<string, unknown>>
  let out = '{'
  for (const key of Object.keys(record).sort()) {
    const member = record[key]
    if (member === undefined) continue
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`
  }
  return `${out}}`
}

/**
 * A message as the key sees it: string content becomes the one text part it stands for
 * (`"hi"` and `[{ "type": "text", "text": "hi" }]` ask the same thing).
 */
function canonicalMessage(message: unknown): unknown {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message
  const { content, ...rest } = message as Record<string, unknown>
  return typeof content === 'string' ? { ...rest, content: [{ type: 'text', text: content }] } : message
}

/**
 * The answer-changing part of a chat completion request, in canonical form: every field but
 * {@link ANSWER_NEUTRAL_FIELDS}, messages normalized, plus the context fields the policy layer
 * bucketed (which is how two requests for the same market and season share an answer).
 */
export function canonicalChatRequest(body: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>> = {}): string {
  const kept: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(body)) {
    if (ANSWER_NEUTRAL_FIELDS.has(field)) continue
    kept[field] = field === 'messages' && Array.isArray(value) ? value.map(canonicalMessage) : value
  }
  return canonicalJson({ v: AI_KEY_VERSION, kind: 'chat', request: kept, context })
}

/**
 * The storage key of a chat completion request: `chat:v<version>:<sha-256 of the canonical form,
 * hex>`. The prompt never appears in a key, only its hash.
 */
export function chatKey(body: Readonly<Record<string, unknown>>, context?: Readonly<Record<string, string>>): string {
  const digest = createHash('sha256').update(canonicalChatRequest(body, context)).digest('hex')
  return `chat:v${AI_KEY_VERSION}:${digest}`
}

/** Fields of an embeddings request that do not change its answer: who asks. */
export const EMBEDDINGS_NEUTRAL_FIELDS: ReadonlySet<string> = new Set(['user'])

/**
 * The storage key of an embeddings request: `emb:v<version>:<sha-256, hex>` of every field but
 * {@link EMBEDDINGS_NEUTRAL_FIELDS} (the input, the model, `dimensions`, `encoding_format`, a
 * provider's own), canonical, with the bucketed context.
 */
export function embeddingsKey(body: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>> = {}): string {
  const kept = Object.fromEntries(Object.entries(body).filter(([field]) => !EMBEDDINGS_NEUTRAL_FIELDS.has(field)))
  const digest = createHash('sha256').update(canonicalJson({ v: AI_KEY_VERSION, kind: 'embeddings', request: kept, context })).digest('hex')
  return `emb:v${AI_KEY_VERSION}:${digest}`
}

/** What the semantic layer needs of a chat request: the partition it may match in, and the text it embeds. */
export interface SemanticParts {
  /** sha-256 (hex) of the canonical request with the last message's content left out. */
  readonly partition: string
  /** The text of the last message. */
  readonly text: string
}

/**
 * Splits a chat request for semantic matching: the text of its last message, when that message is
 * the user's and holds text only, and a hash of everything else (model, system prompt, history,
 * tools, parameters, context), so that only requests equal in all of it but the wording of the
 * question can match. Undefined for a request that cannot be matched (the last message a tool's
 * result, an image in it, no text).
 */
export function semanticParts(body: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>> = {}): SemanticParts | undefined {
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) return undefined
  const last = canonicalMessage(messages[messages.length - 1]) as { role?: unknown; content?: unknown } | null
  if (last === null || typeof last !== 'object' || last.role !== 'user' || !Array.isArray(last.content)) return undefined
  const parts = last.content as { type?: unknown; text?: unknown }[]
  if (parts.length === 0 || !parts.every((part) => part !== null && part.type === 'text' && typeof part.text === 'string')) return undefined
  const text = parts.map((part) => part.text as string).join('')
  if (text.trim() === '') return undefined
  const rest = canonicalChatRequest({ ...body, messages: [...messages.slice(0, -1), { ...last, content: null }] }, context)
  return { partition: createHash('sha256').update(`semantic:${rest}`).digest('hex'), text }
}
