/**
 * The OpenAI Responses API (`POST /responses`) as the AI cache sees it: its key, which answers may
 * be stored, and its server-sent events (typed events, the last `response.completed`, which carries
 * the whole response).
 * @see https://platform.openai.com/docs/api-reference/responses
 */
import { createHash } from 'node:crypto'
import { AI_KEY_VERSION, canonicalJson } from './canonical.js'
import { eventData } from './sse.js'

/**
 * Fields of a Responses API request that do not change its answer (a deny-list, as for chat):
 * who asks and what for (`user`, `safety_identifier`, `metadata`), how the answer is delivered
 * (`stream`, `stream_options`, `background`), and the provider's storage and billing (`store`,
 * `service_tier`, `prompt_cache_key`, `prompt_cache_retention`). `previous_response_id` and
 * `conversation` are part of the key: they bring in the earlier turns.
 */
export const RESPONSES_NEUTRAL_FIELDS: ReadonlySet<string> = new Set([
  'user',
  'safety_identifier',
  'metadata',
  'stream',
  'stream_options',
  'background',
  'store',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
])

/** The storage key of a Responses API request: `resp:v<version>:<sha-256, hex>` of every field but the neutral ones, canonical, with the context. */
export function responsesKey(body: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>> = {}): string {
  const kept = Object.fromEntries(Object.entries(body).filter(([field]) => !RESPONSES_NEUTRAL_FIELDS.has(field)))
  // A string input is the one user message it stands for.
  if (typeof kept.input === 'string') kept.input = [{ role: 'user', content: [{ type: 'input_text', text: kept.input }] }]
  const digest = createHash('sha256').update(canonicalJson({ v: AI_KEY_VERSION, kind: 'responses', request: kept, context })).digest('hex')
  return `resp:v${AI_KEY_VERSION}:${digest}`
}

/** Only a completed response is stored: not one `queued`, `in_progress`, `incomplete` or `failed`. */
export function isCompletedResponse(body: unknown): boolean {
  return (body as { status?: unknown } | null)?.status === 'completed'
}

/**
 * The response a stream stands for: the `response` of its `response.completed` event, which the
 * stream ends with when it completes; `complete` is false without one (a failed or broken stream).
 */
export function assembleResponseStream(text: string): { readonly complete: boolean; readonly body: unknown } {
  for (const data of eventData(text).reverse()) {
    let event: unknown
    try {
      event = JSON.parse(data)
    } catch {
      continue
    }
    const { type, response } = event as { type?: unknown; response?: unknown }
    if (type === 'response.completed' && isCompletedResponse(response)) return { complete: true, body: response }
  }
  return { complete: false, body: undefined }
}

type Item = { readonly type?: unknown; readonly id?: unknown; readonly content?: unknown }

/**
 * A response written as the events that deliver it: `response.created`, then for each output item
 * its `added` and `done` events, with each text part's whole text as one `response.output_text.delta`,
 * then `response.completed` with the response itself. What a streamed request gets when the cached
 * answer was not streamed: the same answer, in fewer events.
 */
export function responseToSse(response: unknown): string {
  const body = (typeof response === 'object' && response !== null ? response : {}) as { output?: unknown }
  let sequence = 0
  let text = ''
  const event = (type: string, fields: Record<string, unknown>) => {
    text += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`
  }
  event('response.created', { response: { ...body, status: 'in_progress', output: [] } })
  const output = Array.isArray(body.output) ? (body.output as Item[]) : []
  output.forEach((item, outputIndex) => {
    const parts = item.type === 'message' && Array.isArray(item.content) ? (item.content as { type?: unknown; text?: unknown }[]) : []
    event('response.output_item.added', { output_index: outputIndex, item: parts.length === 0 ? item : { ...item, content: [] } })
    parts.forEach((part, contentIndex) => {
      const at = { item_id: item.id, output_index: outputIndex, content_index: contentIndex }
      event('response.content_part.added', { ...at, part: part.type === 'output_text' ? { ...part, text: '' } : part })
      if (part.type === 'output_text' && typeof part.text === 'string') {
        event('response.output_text.delta', { ...at, delta: part.text })
        event('response.output_text.done', { ...at, text: part.text })
      }
      event('response.content_part.done', { ...at, part })
    })
    event('response.output_item.done', { output_index: outputIndex, item })
  })
  event('response.completed', { response: body })
  return text
}
