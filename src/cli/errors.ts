import { CommanderError } from 'commander'
import { type ErrorCode, isTiercacheError } from '../errors.js'
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
 * An expected failure with an exit code of its own, or an error answered by a server (whose `TC_`
 * code is not in this version's catalogue, perhaps). Printed as `error CODE: message`, without a
 * stack trace; without a code, the code of its exit code is printed (see {@link codeOfExit}).
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

/** The code printed for a {@link CliError} that has none: every error the command prints has one. */
function codeOfExit(exitCode: number): ErrorCode {
  if (exitCode === ExitCode.usage) return 'TC_INVALID_OPTIONS'
  if (exitCode === ExitCode.interrupted) return 'TC_INTERRUPTED'
  return 'TC_INTERNAL'
}

function exitCodeOf(code: string): number {
  if (USAGE_CODES.has(code)) return ExitCode.usage
  return code === 'TC_INTERRUPTED' ? ExitCode.interrupted : ExitCode.failure
}

/**
 * Prints `error` to the context's stderr and returns the exit code:
 *
 * - a commander error (unknown flag, missing argument: already printed by commander, as
 *   `error TC_INVALID_OPTIONS: ...`, see {@link commanderErrorOutput}) → 2, or 0 for `--help` and `--version`;
 * - a TiercacheError → `error TC_CODE: message` (and its cause's message, except for `TC_INVALID_*`),
 *   2 for invalid options, 130 for `TC_INTERRUPTED`, else 1;
 * - a {@link CliError} → `error CODE: message`, its exit code;
 * - anything else is a bug → `error TC_INTERNAL: ` and the stack trace, 1.
 */
export function reportError(error: unknown, ctx: CliContext): number {
  if (error instanceof CommanderError) {
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.ok : ExitCode.usage
  }
  if (isTiercacheError(error)) {
    // Validation errors say all there is to say; a tier's failure is explained by its cause.
    const cause = error.code.startsWith('TC_INVALID_') ? '' : describeCause(error.cause)
    ctx.stderr.write(`error ${error.code}: ${error.message}${cause}\n`)
    return exitCodeOf(error.code)
  }
  if (error instanceof CliError) {
    ctx.stderr.write(`error ${error.code ?? codeOfExit(error.exitCode)}: ${error.message}\n`)
    return error.exitCode
  }
  ctx.stderr.write(`error TC_INTERNAL: unexpected failure; please report it with this trace:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return ExitCode.failure
}

/**
 * Commander's `outputError`: its messages (`error: unknown option '--x'`) get the code of a usage
 * error, as every other error the command prints has one.
 */
export function commanderErrorOutput(text: string, write: (text: string) => void): void {
  write(text.replace(/^error: /, 'error TC_INVALID_OPTIONS: '))
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error && cause.message !== '') return ` (cause: ${cause.message})`
  return ''
}
