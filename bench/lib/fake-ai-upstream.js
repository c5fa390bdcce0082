// The ai-gateway suite's model API: a small OpenAI-compatible server (plain node:http, in the
// benchmark's process) answering `POST /v1/chat/completions` with one fixed, realistic completion of
// about 1 KB of content, as a `chat.completion` JSON body, or with `"stream": true` as server-sent
// events the way the OpenAI API sends them: a role chunk, content chunks of about ten words, a
// finish chunk, the usage chunk when `stream_options.include_usage` is set, then `data: [DONE]`.
//
// It counts every request it receives: the suite checks that the gateway called it during warm-up
// only, never while loaded. Being in-process is fine for that reason: under load it does no work.
import { Buffer } from 'node:buffer'
import { createServer } from 'node:http'

/** The completion's text: 1,004 bytes (172 words, so 18 content chunks), the same for every request. */
export const CONTENT =
  'Here are venues in Austin that comfortably seat 120 guests for a ceremony and reception. ' +
  'Laguna Gloria, the Contemporary Austin sculpture park on Lake Austin, offers a lawn under live oaks and a villa for cocktails; ' +
  'its seated capacity is about 150 and outside caterers are allowed from an approved list. ' +
  'Barr Mansion in East Austin is an 1898 farmhouse with an organic kitchen on site, a ballroom for 200 and gardens for the ceremony. ' +
  'Chapel Dulcinea in the Hill Country seats 125 in a glass-walled chapel among oaks; pair it with a reception at a nearby ranch. ' +
  'The Driskill downtown has a historic ballroom for 180 seated, in-house catering, and rooms for out-of-town guests. ' +
  'Prospect House, twenty minutes west, has a pavilion for 250 and a rooftop deck with views of the hills at sunset. ' +
  'Book ten to fourteen months ahead for Saturdays in spring or fall, the busiest seasons; ' +
  'Fridays and Sundays often cost 20 to 30 percent less. Budget roughly $8,000 to $25,000 for the venue alone, before catering.'

const CREATED = 1764748800
const ID = 'chatcmpl-bench0000000000000000000001'
const FINGERPRINT = 'fp_bench01'
const WORDS_PER_CHUNK = 10

function usageOf(request) {
  const prompt = JSON.stringify(request.messages ?? []).length
  const completionTokens = Math.ceil(CONTENT.length / 4)
  const promptTokens = Math.ceil(prompt / 4)
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

function completion(request) {
  return {
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: request.model,
    choices: [{ index: 0, message: { role: 'assistant', content: CONTENT, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: usageOf(request),
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  }
}

/** The events of the streamed completion, each a `data: <json>\n\n` string. */
function events(request) {
  const includeUsage = request.stream_options?.include_usage === true
  const chunk = (choices, usage) =>
    `data: ${JSON.stringify({
      id: ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: request.model,
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
      choices,
      ...(includeUsage ? { usage: usage ?? null } : {}),
    })}\n\n`
  const delta = (value, finishReason = null) => [{ index: 0, delta: value, logprobs: null, finish_reason: finishReason }]
  const words = CONTENT.split(' ')
  const out = [chunk(delta({ role: 'assistant', content: '', refusal: null }))]
  for (let i = 0; i < words.length; i += WORDS_PER_CHUNK) {
    const last = i + WORDS_PER_CHUNK >= words.length
    out.push(chunk(delta({ content: words.slice(i, i + WORDS_PER_CHUNK).join(' ') + (last ? '' : ' ') })))
  }
  out.push(chunk(delta({}, 'stop')))
  if (includeUsage) out.push(chunk([], usageOf(request)))
  out.push('data: [DONE]\n\n')
  return out
}

function sendJson(response, status, body) {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

/**
 * Starts the fake upstream on a free loopback port. `url` is its base URL, as `--ai-upstream` takes
 * it (`http://127.0.0.1:<port>/v1`); `calls` the requests it has received; `lastStream` the bytes of
 * the last stream it sent (to check the gateway replays them byte for byte).
 * @returns {Promise<{ url: string, readonly calls: number, readonly lastStream: Buffer | undefined, close(): Promise<void> }>}
 */
export async function startFakeAiUpstream() {
  let calls = 0
  let lastStream
  const server = createServer((request, response) => {
    calls++
    const chunks = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        sendJson(response, 404, { error: { message: `no route ${request.method} ${request.url}`, type: 'invalid_request_error', param: null, code: 'not_found' } })
        return
      }
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        sendJson(response, 400, { error: { message: 'the body is not JSON', type: 'invalid_request_error', param: null, code: null } })
        return
      }
      if (body.stream !== true) {
        sendJson(response, 200, completion(body))
        return
      }
      const sent = events(body)
      lastStream = Buffer.from(sent.join(''), 'utf8')
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
      // One write per event, as a model API sends them while it generates.
      for (const event of sent) response.write(event)
      response.end()
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get calls() {
      return calls
    },
    get lastStream() {
      return lastStream
    },
    close() {
      // The gateway's keep-alive pool holds connections open: close them with the server.
      const closed = new Promise((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      return closed
    },
  }
}
