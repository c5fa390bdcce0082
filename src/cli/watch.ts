/**
 * `--watch`: draws a frame, waits, and draws the next, until Ctrl-C. On a terminal each frame
 * replaces the last (the screen is cleared); otherwise frames follow one another, so that a log or
 * a pipe keeps them all. Ctrl-C is how a watch ends, so it ends without an error.
 */
import { isTiercacheError } from '../errors.js'
import type { CliContext } from './context.js'

/** What a watch draws. */
export interface WatchOptions {
  /** Draws one frame; rejects to stop the watch with that error. */
  readonly frame: (signal: AbortSignal) => Promise<string>
  /** Between the start of one frame and the next, ms. */
  readonly intervalMs: number
  /** Clear the screen before each frame (people on a terminal), rather than append (`--json`, pipes). */
  readonly redraw: boolean
}

const CLEAR = '\u001b[H\u001b[2J'

/**
 * Draws frames until SIGINT (or `stop`). A server that cannot be reached (`TC_SERVER_UNREACHABLE`)
 * does not end the watch: the frame says so, and the next one tries again; any other error does.
 * @param stop - ends the watch like SIGINT does (for tests and embedding)
 */
export async function watch(ctx: CliContext, options: WatchOptions, stop?: AbortSignal): Promise<void> {
  const controller = new AbortController()
  const onSignal = () => controller.abort()
  process.once('SIGINT', onSignal)
  stop?.addEventListener('abort', onSignal, { once: true })
  const { signal } = controller
  try {
    while (!signal.aborted) {
      const started = Date.now()
      let text: string
      try {
        text = await options.frame(signal)
      } catch (error) {
        if (signal.aborted) break
        if (!isTiercacheError(error, 'TC_SERVER_UNREACHABLE')) throw error
        text = `error ${error.code}: ${error.message}\n(trying again every ${options.intervalMs / 1000} s; Ctrl-C to stop)`
      }
      ctx.stdout.write(options.redraw ? `${CLEAR}${text}\n` : `${text}\n`)
      await sleep(Math.max(0, options.intervalMs - (Date.now() - started)), signal)
    }
  } finally {
    process.off('SIGINT', onSignal)
    stop?.removeEventListener('abort', onSignal)
  }
}

/** True when `stream` is a terminal. */
export function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { readonly isTTY?: boolean }).isTTY === true
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
