import type { UpstreamAnswer } from './upstream.js'

/** The path of chat completions, under the upstream's base URL. */
export const CHAT_PATH = '/chat/completions'

/**
 * A cached chat answer: the completion, and when it was streamed, the stream's bytes (as UTF-8
 * text: server-sent events are UTF-8) to replay byte for byte to a request that streams the same way.
 */
export interface ChatRecord {
  readonly body: unknown
  readonly stream?: {
    readonly sse: string
    readonly contentType: string
    /** Whether the stream was asked with `stream_options.include_usage`, and so has a usage chunk. */
    readonly includeUsage: boolean
  }
}

/** Marks an upstream's error answer inside the read-through, so that it is returned and never stored. */
export class UpstreamRefusal extends Error {
  constructor(readonly answer: UpstreamAnswer) {
    super(`the upstream answered ${answer.status}`)
  }
}

export const isOk = (status: number): boolean => status >= 200 && status < 300

/** The error a factory threw, under the cache's FactoryError wrapping. */
export function rootCause(error: unknown): unknown {
  let current = error
  while (current instanceof Error && current.name === 'FactoryError' && current.cause !== undefined) current = current.cause
  return current
}
