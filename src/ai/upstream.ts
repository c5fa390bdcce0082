import { type Dispatcher, Agent, request } from 'undici'
import { UpstreamError, UpstreamTimeoutError } from '../errors.js'

/** An upstream's answer: its status and JSON body (a 2xx body is what gets cached). */
export interface UpstreamAnswer {
  readonly status: number
  readonly body: unknown
}

/** An upstream's streamed answer: its status, content type and body as bytes. */
export interface UpstreamStream {
  readonly status: number
  readonly contentType: string
  readonly body: AsyncIterable<Uint8Array>
}

/** The model API behind the gateway: any OpenAI-compatible server. */
export interface Upstream {
  /**
   * POSTs `body` to `path` (`/chat/completions`) and returns the answer, whatever its status.
   * @throws UpstreamError (`TC_UPSTREAM_ERROR`) when the upstream cannot be reached or its answer is not JSON
   * @throws UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) when it does not answer in time
   */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<UpstreamAnswer>
  /** As {@link post}, for a streamed answer: the bytes as they come. */
  stream(path: string, body: unknown, signal?: AbortSignal): Promise<UpstreamStream>
  close(): Promise<void>
}

/** Options of {@link httpUpstream}. */
export interface HttpUpstreamOptions {
  /** The base URL, as the openai client's `baseURL`: `https://api.openai.com/v1`. */
  readonly baseUrl: string
  /** The upstream's API key, sent as `Authorization: Bearer`; never stored, logged or answered. @default none */
  readonly apiKey?: string
  /** How long to wait for the upstream's headers, then between chunks of its body, ms. @default 120000 */
  readonly timeoutMs?: number
}

/**
 * An OpenAI-compatible upstream over HTTP (undici, with a keep-alive pool). Only the base URL, the
 * key and the JSON body are sent: never the caller's own headers or tiercache credentials.
 */
export function httpUpstream(options: HttpUpstreamOptions): Upstream {
  const base = options.baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 120_000
  const agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  let closing: Promise<void> | undefined
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`

  const send = async (path: string, body: unknown, signal: AbortSignal | undefined): Promise<Dispatcher.ResponseData> => {
    try {
      return await request(base + path, { method: 'POST', headers, body: JSON.stringify(body), dispatcher: agent, signal })
    } catch (error) {
      throw upstreamFailure(error)
    }
  }

  return {
    async post(path, body, signal) {
      const response = await send(path, body, signal)
      let text: string
      try {
        text = await response.body.text()
      } catch (error) {
        throw upstreamFailure(error)
      }
      try {
        return { status: response.statusCode, body: JSON.parse(text) as unknown }
      } catch {
        throw new UpstreamError(`the upstream answered ${response.statusCode} with a body that is not JSON`)
      }
    },
    async stream(path, body, signal) {
      const response = await send(path, body, signal)
      const contentType = response.headers['content-type']
      return { status: response.statusCode, contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream', body: response.body }
    },
    // Idempotent: the server closes it with the app, and a failed start closes it too.
    close: () => (closing ??= agent.close()),
  }
}

function upstreamFailure(error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamTimeoutError('the upstream did not answer in time', { cause: error })
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return error as Error
  return new UpstreamError('the upstream cannot be reached', { cause: error })
}
