import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { registerClear } from './commands/clear.js'
import { registerExplain } from './commands/explain.js'
import { registerHttpPurge } from './commands/http-purge.js'
import { registerKey } from './commands/key.js'
import { registerKeygen } from './commands/keygen.js'
import { registerKeys } from './commands/keys.js'
import { registerPolicy } from './commands/policy.js'
import { registerProxy } from './commands/proxy.js'
import { registerPurge } from './commands/purge.js'
import { registerEncryption } from './commands/encryption.js'
import { registerReplay } from './commands/replay.js'
import { registerServe } from './commands/serve.js'
import { registerStats } from './commands/stats.js'
import { registerSubjects } from './commands/subjects.js'
import { registerTop } from './commands/top.js'
import { registerWarm } from './commands/warm.js'
import { type CliContext, processContext } from './context.js'
import { commanderErrorOutput, reportError } from './errors.js'

/** The package's version, read from package.json (two levels up from both src/cli and dist/cli). */
function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined
  return typeof version === 'string' ? version : '0.0.0'
}

/**
 * The `tiercache` program: `serve`, `proxy`, `stats`, `top`, `explain`, `purge`, `http-purge`, `erase`, `export`, `replay`, `keys`, `key`, `clear`,
 * `keygen`, `rotate-key`, `reencrypt`. Commander's own errors (unknown
 * flag, missing argument) are thrown, not exited on, so that {@link runCli} chooses the exit code.
 */
export function createProgram(ctx: CliContext = processContext()): Command {
  const program = new Command('tiercache')
    .description('multi-tier cache: run its REST server, inspect it, purge it, erase and export subjects, and size it by replaying traces')
    .version(packageVersion(), '-V, --version')
    // Set before the subcommands are added: .command() copies these settings into them.
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.stdout.write(text), writeErr: (text) => ctx.stderr.write(text), outputError: commanderErrorOutput })
    .showHelpAfterError('(add --help for usage)')
  registerServe(program, ctx)
  registerProxy(program, ctx)
  registerStats(program, ctx)
  registerTop(program, ctx)
  registerExplain(program, ctx)
  registerPurge(program, ctx)
  registerHttpPurge(program, ctx)
  registerSubjects(program, ctx)
  registerReplay(program, ctx)
  registerKeys(program, ctx)
  registerKey(program, ctx)
  registerClear(program, ctx)
  registerKeygen(program, ctx)
  registerEncryption(program, ctx)
  registerPolicy(program, ctx)
  registerWarm(program, ctx)
  return program
}

/**
 * Runs the command line `argv` (as `process.argv`: node, script, arguments...) and resolves its exit
 * code: 0, 1 on failure, 2 on a usage error, 130 when interrupted; see {@link reportError}. `serve`
 * resolves once the server listens, and keeps the process up until a signal.
 */
export async function runCli(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  try {
    await createProgram(ctx).parseAsync([...argv])
    return 0
  } catch (error) {
    return reportError(error, ctx)
  }
}
