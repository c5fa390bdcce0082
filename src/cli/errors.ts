import { CommanderError } from 'commander'
import { isTiercacheError } from '../errors.js'
import type { CliContext } from './context.js'

/** Exit codes of the `tiercache` command. */
export const ExitCode = {
  ok: 0,
  /** The command failed: bad trace, server unreachable, tier down, ... */
  failure: 1,
  /** The command line is wrong: unknown command or flag, bad flag value, unavailable feature asked for. */
  usage: 2,
  /** Stopped by SIGINT (128 + 2, as shells report it). */
  interrupted: 130,
} as const

/**
 * An expected failure that is not a {@link TiercacheError}, such as an unreachable server or an
 * error answered by one. Printed as `error[ CODE]: message`, without a stack trace.
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** @default ExitCode.failure */
    readonly exitCode: number = ExitCode.failure,
    /** A `TC_...` code when the failure has one (an error answered by the server). */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'CliError'
  }
}

/** Codes that mean the command line itself is wrong, hence exit code 2. */
const USAGE_CODES: ReadonlySet<string> = new Set(['TC_INVALID_OPTIONS', 'TC_INVALID_DURATION'])

/**
 * Prints `error` to the context's stderr and returns the exit code:
 *
 * - a commander error (unknown flag, missing argument: already printed by commander) → 2, or 0 for
 *   `--help` and `--version`;
 * - a TiercacheError → `error TC_CODE: message` (and its cause's message, except for `TC_INVALID_*`),
 *   2 for invalid options, else 1;
 * - a {@link CliError} → `error[ CODE]: message`, its exit code;
 * - anything else is a bug → `error: ` and the stack trace, 1.
 */
export function reportError(error: unknown, ctx: CliContext): number {
  if (error instanceof CommanderError) {
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.ok : ExitCode.usage
  }
  if (isTiercacheError(error)) {
    // Validation errors say all there is to say; a tier's failure is explained by its cause.
    const cause = error.code.startsWith('TC_INVALID_') ? '' : describeCause(error.cause)
    ctx.stderr.write(`error ${error.code}: ${error.message}${cause}\n`)
    return USAGE_CODES.has(error.code) ? ExitCode.usage : ExitCode.failure
  }
  if (error instanceof CliError) {
    ctx.stderr.write(`error${error.code === undefined ? '' : ' ' + error.code}: ${error.message}\n`)
    return error.exitCode
  }
  ctx.stderr.write(`error: unexpected failure; please report it with this trace:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return ExitCode.failure
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error && cause.message !== '') return ` (cause: ${cause.message})`
  return ''
}
