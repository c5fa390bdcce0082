import { FactoryError, FactoryTimeoutError, isTiercacheError } from '../../errors.js'
import type { WarmSource, WarmSourceContext } from './schema.js'

// Loading one key from its source: an HTTP GET (a JSON configuration's URL) or a function (code),
// bounded by the job's timeout. Every failure is a coded error, so that a report can name its code.

/** `fetch`, as the runner calls it (injectable for tests that count calls; the global one by default). */
export type FetchLike = (url: string, init: { readonly headers: Record<string, string>; readonly signal: AbortSignal }) => Promise<Response>

/** The URL of `template` for `key`: every `{key}` replaced by the key, URL-encoded. */
export function sourceUrl(template: string, key: string): string {
  return template.replaceAll('{key}', encodeURIComponent(key))
}

/** A URL as reports name it: without its query and credentials, which may hold tokens. */
function shown(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return '(the source URL)'
  }
}

/**
 * Loads `context.key` from `source` within `timeoutMs`.
 * - a URL: GET with `Accept: application/json` and the source's headers; a 2xx answer's body is the
 *   value, parsed when its content type is JSON, else as text;
 * - a function: its result (awaited).
 *
 * @throws FactoryTimeoutError (`TC_FACTORY_TIMEOUT`) past `timeoutMs` (the signal is aborted then);
 *   FactoryError (`TC_FACTORY_ERROR`, `cause`: the error) when the source throws, the request fails,
 *   the answer is not 2xx, or `stop` aborts (the source's signal is aborted then); a TiercacheError the source threw is rethrown as it is
 */
export async function loadFromSource(source: WarmSource, context: Omit<WarmSourceContext, 'signal'>, timeoutMs: number, stop: AbortSignal, fetchImpl: FetchLike): Promise<unknown> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let onStop = () => {}
  // Raced with the source, so that one that ignores its signal still cannot hold the run past its
  // timeout, nor a warmer's close.
  const cut = new Promise<never>((_, reject) => {
    onStop = () => {
      const error = new FactoryError(`the source of ${context.key.slice(0, 80)} was stopped: the run was stopped`)
      controller.abort(error)
      reject(error)
    }
    timer = setTimeout(() => {
      const error = new FactoryTimeoutError(`the source of ${context.key.slice(0, 80)} took longer than ${timeoutMs} ms`)
      controller.abort(error)
      reject(error)
    }, timeoutMs)
  })
  if (stop.aborted) onStop()
  else stop.addEventListener('abort', onStop, { once: true })
  try {
    return await Promise.race([load(source, { ...context, signal: controller.signal }, fetchImpl), cut])
  } catch (error) {
    if (isTiercacheError(error)) throw error
    if (controller.signal.aborted && isTiercacheError(controller.signal.reason)) throw controller.signal.reason
    throw new FactoryError(`the source of ${context.key.slice(0, 80)} failed: ${(error as Error | undefined)?.message ?? String(error)}`, { cause: error })
  } finally {
    clearTimeout(timer)
    stop.removeEventListener('abort', onStop)
    // The losing side of the race may still settle: nothing is listening to it.
    cut.catch(() => undefined)
  }
}

async function load(source: WarmSource, context: WarmSourceContext, fetchImpl: FetchLike): Promise<unknown> {
  if (typeof source === 'function') return await source(context)
  const url = sourceUrl(source.url, context.key)
  const response = await fetchImpl(url, { headers: { accept: 'application/json', ...source.headers }, signal: context.signal })
  if (!response.ok) {
    // Drained, so that the connection can be reused.
    await response.body?.cancel().catch(() => undefined)
    throw new FactoryError(`GET ${shown(url)} answered ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`)
  }
  const type = response.headers.get('content-type') ?? ''
  if (/\bjson\b/i.test(type)) return (await response.json()) as unknown
  return await response.text()
}
