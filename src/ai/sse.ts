/**
 * Server-sent events of a streamed chat completion: reading one into the completion it stands for,
 * and writing a completion as one. The format is the OpenAI API's: `data: <chunk JSON>` events of
 * `chat.completion.chunk` objects, ended by `data: [DONE]`.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 */

/** The terminal event of an OpenAI-compatible stream. */
const DONE = '[DONE]'

/** The `data` of each event of `text`, in order (`event:`, `id:` and comment lines are not needed here). */
export function eventData(text: string): string[] {
  const events: string[] = []
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    const data = block
      .split(/\r\n|\n|\r/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    if (data.length > 0) events.push(data.join('\n'))
  }
  return events
}

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Merges a chunk's `delta` into the message being assembled: strings are appended (content,
 * refusal, a provider's reasoning text), `role` is set, `tool_calls` are merged by `index`, objects
 * merged member by member, other values set. A generic merge, so that fields this code does not
 * know (a provider's own) are kept rather than dropped.
 */
function mergeDelta(target: Json, delta: Json): void {
  for (const [field, value] of Object.entries(delta)) {
    const current = target[field]
    if (field === 'role' || value === null) {
      if (current === undefined || value !== null) target[field] = value
    } else if (typeof value === 'string') {
      target[field] = (typeof current === 'string' ? current : '') + value
    } else if (field === 'tool_calls' && Array.isArray(value)) {
      const calls = Array.isArray(current) ? (current as Json[]) : []
      for (const call of value) {
        if (!isRecord(call)) continue
        const { index, ...rest } = call
        const position = typeof index === 'number' ? index : calls.length
        const into = calls[position] ?? {}
        mergeDelta(into, rest)
        calls[position] = into
      }
      target[field] = calls
    } else if (isRecord(value)) {
      const into = isRecord(current) ? current : {}
      mergeDelta(into, value)
      target[field] = into
    } else if (Array.isArray(value) && Array.isArray(current)) {
      target[field] = [...(current as unknown[]), ...(value as unknown[])]
    } else {
      target[field] = value
    }
  }
}

/** A streamed completion read back: the completion it assembles to, and whether it ended with `[DONE]`. */
export interface AssembledStream {
  readonly complete: boolean
  readonly body: Json
}

/**
 * The `chat.completion` a stream of `chat.completion.chunk` events stands for: the envelope of the
 * first chunk (`id`, `created`, `model`, `system_fingerprint`, ...), each choice's deltas merged into
 * its `message`, its last `finish_reason` and its `logprobs` concatenated, and the `usage` of the
 * usage chunk (sent with `stream_options.include_usage`). Events that are not JSON chunks are skipped;
 * `complete` is false unless the stream ended with `[DONE]`, and only a complete stream is cached.
 */
export function assembleStream(text: string): AssembledStream {
  const body: Json = { object: 'chat.completion' }
  const choices: Json[] = []
  let complete = false
  for (const data of eventData(text)) {
    if (data.trim() === DONE) {
      complete = true
      continue
    }
    let chunk: unknown
    try {
      chunk = JSON.parse(data)
    } catch {
      continue
    }
    if (!isRecord(chunk)) continue
    for (const [field, value] of Object.entries(chunk)) {
      if (field === 'choices' || field === 'object') continue
      if (field === 'usage') {
        if (value !== null) body.usage = value
      } else if (!(field in body)) body[field] = value
    }
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if (!isRecord(choice)) continue
      const index = typeof choice.index === 'number' ? choice.index : 0
      const into = choices[index] ?? { index, message: {}, finish_reason: null, logprobs: null }
      choices[index] = into
      if (isRecord(choice.delta)) mergeDelta(into.message as Json, choice.delta)
      if (choice.finish_reason !== undefined && choice.finish_reason !== null) into.finish_reason = choice.finish_reason
      if (isRecord(choice.logprobs)) {
        const logprobs = isRecord(into.logprobs) ? into.logprobs : {}
        mergeDelta(logprobs, choice.logprobs)
        into.logprobs = logprobs
      }
    }
  }
  body.choices = choices.filter((choice) => choice !== undefined)
  return { complete, body }
}

/**
 * A completion written as the stream that delivers it: per choice, one chunk with its whole message
 * as the delta and one with its `finish_reason`; then, when `includeUsage`, a chunk with the usage and
 * no choices; then `[DONE]`. What a streamed request gets when the cached answer was not streamed (or
 * was streamed with another `include_usage`): the same answer, not the same bytes.
 */
export function completionToSse(completion: unknown, includeUsage: boolean): string {
  const body = isRecord(completion) ? completion : {}
  const { choices, usage, object: _object, ...envelope } = body
  const chunk = (rest: Json) => `data: ${JSON.stringify({ ...envelope, object: 'chat.completion.chunk', ...rest })}\n\n`
  let text = ''
  for (const choice of Array.isArray(choices) ? choices : []) {
    if (!isRecord(choice)) continue
    const message = isRecord(choice.message) ? choice.message : {}
    const toolCalls = Array.isArray(message.tool_calls)
      ? (message.tool_calls as unknown[]).map((call, index) => (isRecord(call) ? { index, ...call } : call))
      : undefined
    const delta = toolCalls === undefined ? message : { ...message, tool_calls: toolCalls }
    const index = choice.index ?? 0
    text += chunk({ choices: [{ index, delta, logprobs: choice.logprobs ?? null, finish_reason: null }] })
    text += chunk({ choices: [{ index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }] })
  }
  if (includeUsage && usage !== undefined) text += chunk({ choices: [], usage })
  return `${text}data: ${DONE}\n\n`
}
