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
}

/** A server's answer: the parsed JSON and the text it came from. */
export interface ServerAnswer {
  readonly json: unknown
  readonly text: string
}

/**
 * Calls a running tiercache server and parses its JSON answer.
 *
 * @throws CliError when the server cannot be reached or does not answer within
 *   {@link REQUEST_TIMEOUT_MS}, when it answers an error (with the server's `TC_...` code and
 *   message when the body carries them), or when a success is not JSON
 */
export async function callServer(request: ServerRequest): Promise<ServerAnswer> {
  const target = request.url + request.path
  const headers: Record<string, string> = { accept: 'application/json' }
  if (request.body !== undefined) headers['content-type'] = 'application/json'
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`
  let response: Response
  try {
    response = await fetch(target, {
      method: request.method ?? 'GET',
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
  } catch (cause) {
    throw unreachable(request.url, cause)
  }
  const text = await response.text()
  const json = parseJson(text)
  if (!response.ok) {
    const { code, message } = errorOf(json)
    throw new CliError(`${message ?? `the server answered ${response.status} ${response.statusText}`.trim()} (HTTP ${response.status} from ${target})`, 1, code)
  }
  if (json === undefined) throw new CliError(`the server at ${request.url} did not answer JSON; is it a tiercache server?`)
  return { json, text }
}

function unreachable(url: string, cause: unknown): CliError {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return new CliError(`the server at ${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, 1, undefined, { cause })
  }
  const code = cause instanceof Error && cause.cause instanceof Error ? (cause.cause as NodeJS.ErrnoException).code : undefined
  return new CliError(
    `cannot reach a tiercache server at ${url}${code === undefined ? '' : ` (${code})`}; start one with 'tiercache serve', or give its address with --url or TIERCACHE_URL`,
    1,
    undefined,
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
