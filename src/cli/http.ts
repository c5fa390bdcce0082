import { ServerUnreachableError, UnexpectedAnswerError } from '../errors.js'
import { CliError } from './errors.js'

/** How long a command waits for the server, ms. */
export const REQUEST_TIMEOUT_MS = 10_000

/** A request to a running tiercache server. */
export interface ServerRequest {
  /** The server's base URL, e.g. `http://127.0.0.1:4100`, without a trailing slash. */
  readonly url: string
  /** Path under the base URL, e.g. `/v1/stats`. */
  readonly path: string
  /** @default 'GET' */
  readonly method?: 'GET' | 'POST'
  /** Sent as JSON. */
  readonly body?: unknown
  /** Sent as `Authorization: Bearer <token>` when given. */
  readonly token?: string
  /** Further request headers, e.g. `x-tiercache-tenant`. */
  readonly headers?: Readonly<Record<string, string>>
  /** Stops waiting for the server (the caller was interrupted): the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/** A server's answer: the parsed JSON and the text it came from. */
export interface ServerAnswer {
  readonly json: unknown
  readonly text: string
}

/**
 * Calls a running tiercache server and parses its JSON answer.
 *
 * @throws ServerUnreachableError (`TC_SERVER_UNREACHABLE`) when the server cannot be reached or does
 *   not answer within {@link REQUEST_TIMEOUT_MS}
 * @throws CliError when it answers an error, with the server's `TC_...` code and message (else
 *   `TC_UNEXPECTED_ANSWER`); a 401 to a request without a key says how to give one
 * @throws UnexpectedAnswerError (`TC_UNEXPECTED_ANSWER`) when a success is not JSON
 */
export async function callServer(request: ServerRequest): Promise<ServerAnswer> {
  const target = request.url + request.path
  let response: Response
  try {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal])
    response = await fetch(target, { ...requestInit(request, 'application/json'), signal })
  } catch (cause) {
    if (request.signal?.aborted === true) throw request.signal.reason
    throw unreachable(request.url, cause)
  }
  const text = await response.text()
  const json = parseJson(text)
  if (!response.ok) throw errorAnswer(response, json, request)
  if (json === undefined) throw new UnexpectedAnswerError(`the server at ${request.url} did not answer JSON; is it a tiercache server?`)
  return { json, text }
}

/** A server's answer whose body is read as it arrives. */
export interface ServerStream {
  /** The answer's `Content-Type`, `''` when it has none. */
  readonly contentType: string
  /**
   * The body's bytes, chunk by chunk.
   * @throws UnexpectedAnswerError (`TC_UNEXPECTED_ANSWER`) when the answer is cut short (the server
   *   failed midway, or the connection broke), or when no byte arrives for {@link REQUEST_TIMEOUT_MS}
   */
  readonly chunks: AsyncIterable<Uint8Array>
}

/**
 * Calls a running tiercache server for an answer too large to hold in memory, such as an export.
 * {@link REQUEST_TIMEOUT_MS} bounds the wait for the answer, then each wait for the next chunk, not
 * the whole transfer.
 * @param accept - the media type asked for, e.g. `application/x-ndjson`
 * @throws CliError as {@link callServer}, when the server cannot be reached or answers an error
 */
export async function streamFromServer(request: ServerRequest, accept: string): Promise<ServerStream> {
  const target = request.url + request.path
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => controller.abort(new DOMException('no answer in time', 'TimeoutError')), REQUEST_TIMEOUT_MS)
  }
  arm()
  let response: Response
  try {
    response = await fetch(target, { ...requestInit(request, accept), signal: controller.signal })
  } catch (cause) {
    clearTimeout(timer)
    throw unreachable(request.url, cause)
  }
  if (!response.ok || response.body === null) {
    const text = await response.text().catch(() => '')
    clearTimeout(timer)
    if (!response.ok) throw errorAnswer(response, parseJson(text), request)
    throw new UnexpectedAnswerError(`the server at ${request.url} answered without a body; is it a tiercache server?`)
  }
  const reader = response.body.getReader()
  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for (;;) {
        arm()
        let read: Awaited<ReturnType<typeof reader.read>>
        try {
          read = await reader.read()
        } catch (cause) {
          const timedOut = controller.signal.aborted
          throw new UnexpectedAnswerError(
            timedOut
              ? `the server at ${request.url} sent nothing for ${REQUEST_TIMEOUT_MS / 1000} s: the answer is incomplete`
              : `the answer from ${target} was cut short: the server failed or the connection broke midway`,
            { cause },
          )
        }
        if (read.done) return
        yield read.value
      }
    } finally {
      clearTimeout(timer)
      // Stops the transfer when the caller stops early (a write that failed).
      await reader.cancel().catch(() => undefined)
    }
  }
  return { contentType: response.headers.get('content-type') ?? '', chunks: chunks() }
}

function requestInit(request: ServerRequest, accept: string): RequestInit {
  const headers: Record<string, string> = { ...request.headers, accept }
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`
  return { method: request.method ?? 'GET', headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) }
}

/**
 * An error answer as a CliError, with the server's `TC_...` code and message when it gave them
 * (else `TC_UNEXPECTED_ANSWER`: not a tiercache server). A 401 to a request that sent no key says how
 * to send one.
 */
function errorAnswer(response: Response, json: unknown, request: ServerRequest): CliError {
  const { code, message } = errorOf(json)
  const hint = response.status === 401 && request.token === undefined ? '; give an API key with --token <key> or TIERCACHE_TOKEN (tiercache keys create makes one)' : ''
  const text = message ?? `the server answered ${response.status} ${response.statusText}`.trim()
  return new CliError(`${text}${hint} (HTTP ${response.status} from ${request.url + request.path})`, 1, code ?? 'TC_UNEXPECTED_ANSWER')
}

function unreachable(url: string, cause: unknown): ServerUnreachableError {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return new ServerUnreachableError(`the server at ${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { cause })
  }
  const code = cause instanceof Error && cause.cause instanceof Error ? (cause.cause as NodeJS.ErrnoException).code : undefined
  return new ServerUnreachableError(
    `cannot reach a tiercache server at ${url}${code === undefined ? '' : ` (${code})`}; start one with 'tiercache serve', or give its address with --url or TIERCACHE_URL`,
    { cause },
  )
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The `TC_...` code and message of an error body: `{ code, message }` or `{ error: { code, message } }`. */
function errorOf(body: unknown): { code?: string; message?: string } {
  if (!isRecord(body)) return {}
  const source = isRecord(body.error) ? body.error : body
  const code = typeof source.code === 'string' && source.code.startsWith('TC_') ? source.code : undefined
  const message = typeof source.message === 'string' && source.message !== '' ? source.message : undefined
  return { code, message }
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
