/**
 * The endpoints of an OpenAI-compatible upstream that the AI cache answers, each with how its
 * requests are keyed, which answers may be stored, and how its streams are read and written.
 */
import { chatKey, embeddingsKey } from './canonical.js'
import { CHAT_PATH } from './chat-record.js'
import { assembleResponseStream, isCompletedResponse, responseToSse, responsesKey } from './responses.js'
import { assembleStream, completionToSse } from './sse.js'

/** How an endpoint's server-sent events are read and written. */
export interface StreamFormat {
  /** The answer a stored stream stands for, and whether the stream ended as a complete one does. */
  assemble(text: string): { readonly complete: boolean; readonly body: unknown }
  /** A cached answer written as the stream that delivers it. */
  write(body: unknown, includeUsage: boolean): string
  /** Whether a request's stream carries a usage chunk: stored bytes answer only a request that streams the same way. */
  includesUsage(request: Readonly<Record<string, unknown>>): boolean
}

/** An endpoint of the upstream, as the AI cache answers it. */
export interface Operation {
  readonly path: string
  readonly key: (request: Readonly<Record<string, unknown>>, context: Readonly<Record<string, string>>) => string
  /** Whether a 2xx answer is complete enough to store. */
  readonly storable: (body: unknown) => boolean
  /** Whether requests sampled above the AI cache's `maxTemperature` bypass it. */
  readonly sampled: boolean
  /** Whether semantic matching applies. */
  readonly semantic: boolean
  /** How its streams are read and written; none for an endpoint that does not stream. */
  readonly stream?: StreamFormat
}

const always = (): boolean => true

/** `stream_options.include_usage` of a chat request. */
export const includesUsage = (request: Readonly<Record<string, unknown>>): boolean => {
  const options = request.stream_options
  return typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true
}

export const CHAT: Operation = {
  path: CHAT_PATH,
  key: chatKey,
  storable: always,
  sampled: true,
  semantic: true,
  stream: { assemble: assembleStream, write: completionToSse, includesUsage },
}

export const EMBEDDINGS: Operation = { path: '/embeddings', key: embeddingsKey, storable: always, sampled: false, semantic: false }

export const RESPONSES: Operation = {
  path: '/responses',
  key: responsesKey,
  storable: isCompletedResponse,
  sampled: true,
  semantic: false,
  // A response's stream always ends with the whole response, usage included.
  stream: { assemble: assembleResponseStream, write: (body) => responseToSse(body), includesUsage: () => false },
}
