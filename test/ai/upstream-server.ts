import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the fake upstream received: each call's path, body and headers. */
export interface UpstreamCall {
  readonly path: string
  readonly body: Record<string, unknown>
  readonly authorization: string | undefined
}

/**
 * A small OpenAI-compatible upstream for tests: `POST /v1/chat/completions` answers
 * `answer #<n> to: <last message text>` with usage, streamed as server-sent events when asked;
 * `POST /v1/embeddings` answers small vectors (see `embed`), `POST /v1/responses` the Responses API
 * (see `respond`).
 * A last message containing `fail:<status>` answers that status with an OpenAI error body, and one
 * containing `break-stream` ends its stream after the first event, without `[DONE]`. While `hold()` is on, answers wait
 * until `release()` (with `hold('mid-stream')`, streams wait after their first event): the gate for
 * concurrency tests.
 */
export interface FakeUpstream {
  /** The base URL, as the openai client's `baseURL`: `http://127.0.0.1:<port>/v1`. */
  readonly url: string
  readonly calls: UpstreamCall[]
  hold(where?: 'before' | 'mid-stream'): void
  release(): void
  /** Resolves once `n` calls have arrived. */
  arrived(n: number): Promise<void>
  close(): Promise<void>
}

function lastText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : []
  const content = messages.at(-1)?.content
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('')
  return ''
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
}

/** The words of `text`, as a stream's content deltas. */
function chunksOf(text: string): string[] {
  return text.split(/(?<= )/)
}

/**
 * `POST /v1/embeddings`: for each input, a 4-dimensional vector of its length, its first character
 * code, its word count and the call's number, as floats or base64 (as the openai client asks).
 */
function embed(body: Record<string, unknown>, call: number, response: ServerResponse): void {
  const inputs = Array.isArray(body.input) ? (body.input as unknown[]) : [body.input]
  const data = inputs.map((input, index) => {
    const text = String(input)
    const vector = new Float32Array([text.length, text.charCodeAt(0) || 0, text.split(/\s+/).length, call])
    const embedding = body.encoding_format === 'base64' ? Buffer.from(vector.buffer).toString('base64') : [...vector]
    return { object: 'embedding', index, embedding }
  })
  const tokens = inputs.reduce<number>((sum, input) => sum + String(input).length, 0)
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ object: 'list', data, model: String(body.model), usage: { prompt_tokens: tokens, total_tokens: tokens } }))
}

/** The text of a Responses API request's input: the string, or the last item's text parts. */
function inputText(body: Record<string, unknown>): string {
  if (typeof body.input === 'string') return body.input
  const items = Array.isArray(body.input) ? (body.input as { content?: unknown }[]) : []
  const content = items.at(-1)?.content
  if (typeof content === 'string') return content
  return Array.isArray(content) ? content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('') : ''
}

/**
 * `POST /v1/responses`: `answer #<n> to: <input text>`, as a completed response, or its events when
 * streamed (a delta per word, then `response.completed`); an input containing `queued` answers a
 * queued response (as `background: true` does), not completed.
 */
function respond(body: Record<string, unknown>, call: number, response: ServerResponse): void {
  const question = inputText(body)
  const text = `answer #${call} to: ${question}`
  const message = { type: 'message', id: `msg_${call}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }
  const usage = { input_tokens: question.length, output_tokens: text.length, total_tokens: question.length + text.length }
  const base = { id: `resp_${call}`, object: 'response', created_at: 1_700_000_000, model: String(body.model) }
  if (question.includes('queued')) {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ ...base, status: 'queued', output: [], usage: null }))
    return
  }
  const done = { ...base, status: 'completed', output: [message], usage }
  if (body.stream !== true) {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify(done))
    return
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' })
  let sequence = 0
  const event = (type: string, fields: Record<string, unknown>) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`)
  const at = { item_id: message.id, output_index: 0, content_index: 0 }
  event('response.created', { response: { ...base, status: 'in_progress', output: [], usage: null } })
  event('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } })
  event('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } })
  for (const piece of chunksOf(text)) event('response.output_text.delta', { ...at, delta: piece })
  event('response.output_text.done', { ...at, text })
  event('response.content_part.done', { ...at, part: message.content[0] })
  event('response.output_item.done', { output_index: 0, item: message })
  event('response.completed', { response: done })
  response.end()
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const calls: UpstreamCall[] = []
  let held: Promise<void> | undefined
  let heldWhere: 'before' | 'mid-stream' = 'before'
  let open: (() => void) | undefined
  const waiters: { n: number; resolve: () => void }[] = []

  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request)
    calls.push({ path: request.url ?? '', body, authorization: request.headers.authorization })
    for (const waiter of waiters.filter((w) => calls.length >= w.n)) waiter.resolve()
    if (heldWhere === 'before') await held
    if (request.url?.endsWith('/embeddings') === true) return embed(body, calls.length, response)
    if (request.url?.endsWith('/responses') === true) return respond(body, calls.length, response)
    const text = lastText(body)
    const failure = /fail:(\d{3})/.exec(text)
    if (failure !== null) {
      response.writeHead(Number(failure[1]), { 'content-type': 'application/json' })
      response.end(JSON.stringify({ error: { message: `failing as asked (${failure[1]})`, type: 'server_error', code: null, param: null } }))
      return
    }
    const content = `answer #${calls.length} to: ${text}`
    const usage = { prompt_tokens: text.length, completion_tokens: content.length, total_tokens: text.length + content.length }
    const base = { id: `chatcmpl-${calls.length}`, created: 1_700_000_000, model: String(body.model) }
    if (body.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      const event = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`)
      event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })
      if (heldWhere === 'mid-stream') await held
      if (text.includes('break-stream')) {
        response.end()
        return
      }
      for (const piece of chunksOf(content)) event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })
      event({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
      event({ ...base, object: 'chat.completion.chunk', choices: [], usage })
      response.end('data: [DONE]\n\n')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }], usage }))
  }

  const server: Server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    hold(where = 'before') {
      heldWhere = where
      held = new Promise((resolve) => (open = resolve))
    },
    release() {
      open?.()
      held = undefined
      heldWhere = 'before'
    },
    arrived: (n) => (calls.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
