import type { CliContext } from './context.js'

/** How long a shutdown may take before the process exits anyway, ms. */
export const SHUTDOWN_TIMEOUT_MS = 10_000

/**
 * Closes a long-running command on SIGINT or SIGTERM: `close` (the server, then the cache), then
 * exit code 0; a second signal, a failed close, or one longer than {@link SHUTDOWN_TIMEOUT_MS}
 * exits 1 at once. `what` names what closes, in the message (`the server and the cache`).
 */
export function closeOnSignals(what: string, close: () => Promise<unknown>, ctx: CliContext): void {
  let closing = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      ctx.stderr.write(`${signal} again: exiting without waiting\n`)
      process.exit(1)
    }
    closing = true
    ctx.stderr.write(`${signal}: closing ${what}\n`)
    // Exits anyway if a connection or a tier hangs; unref'd so that it does not itself keep the process up.
    setTimeout(() => {
      ctx.stderr.write(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000} s: exiting\n`)
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    close().then(
      () => {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        process.exitCode = 0
      },
      (error: unknown) => {
        ctx.stderr.write(`error: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
