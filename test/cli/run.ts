import { type ChildProcess, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { runCli } from '../../src/cli/program.js'

/** The repository root, and the command as users run it (the compiled package). */
export const root = fileURLToPath(new URL('../../', import.meta.url))
export const bin = join(root, 'bin/tiercache.js')

/** What a command run printed, and its exit code. */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment without the variables the command reads, so that the caller's cannot leak in. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  const names = ['TIERCACHE_AI_UPSTREAM', 'TIERCACHE_AI_UPSTREAM_KEY', 'TIERCACHE_AI_PRICES', 'TIERCACHE_AI_SEMANTIC', 'TIERCACHE_AI_EMBEDDING_MODEL', 'TIERCACHE_HTTP_ORIGIN', 'TIERCACHE_HTTP_HOST', 'TIERCACHE_HTTP_PORT', 'TIERCACHE_URL', 'TIERCACHE_TOKEN', 'TIERCACHE_HOST', 'TIERCACHE_PORT', 'TIERCACHE_SQLITE', 'TIERCACHE_KEYS', 'TIERCACHE_PLANS', 'TIERCACHE_POLICY_FILE', 'DATABASE_URL', 'REDIS_URL']
  for (const name of names) delete env[name]
  return env
}

/** Runs the built command in its own process, as users do, in `cwd` with `env` over a clean one. */
export function spawnTiercache(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 60_000 })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Resolves the URL a served process prints once it listens; rejects if it exits first. */
export function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /tiercache listening on (\S+)/.exec(out)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)))
  })
}

/**
 * Runs the command in this process, capturing what it writes (for servers the test itself plays);
 * `terminal`: its stderr says it is a terminal (progress bars).
 */
export async function inProcess(args: readonly string[], options: { readonly terminal?: boolean } = {}): Promise<Run> {
  const stdout = new PassThrough()
  const stderr = options.terminal === true ? Object.assign(new PassThrough(), { isTTY: true }) : new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await runCli(['node', 'tiercache', ...args], { stdout, stderr })
  return { code, stdout: out, stderr: err }
}
