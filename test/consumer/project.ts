/**
 * Throwaway TypeScript projects that use the package as users do: the package's files in their
 * node_modules, its dependencies linked from ours (offline, no registry), `tsc` run on them.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url))
const ourModules = join(root, 'node_modules')
const tsc = join(ourModules, 'typescript/bin/tsc')

/** Compiler options of a user's strict project: what the package's types must compile under. */
export const STRICT_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  types: ['node'],
} as const

/** The newest modification time of the files under `dir`, ms. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return latest
}

/**
 * Builds dist/ as `npm run build` does, unless it is newer than every source file (tsc rewrites
 * every output, so dist/index.js is as old as the last build).
 * @throws Error when the build fails
 */
export function ensureBuilt(): void {
  const built = join(root, 'dist/index.js')
  const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.build.json')).mtimeMs)
  // Other suites run tsc alone (test/cli): a dist/ without the copied files is not a whole build.
  const copied = existsSync(join(root, 'dist/server/dashboard/index.html'))
  if (copied && existsSync(built) && statSync(built).mtimeMs > sources) return
  // The two steps of `npm run build`: tsc, then the files it does not emit (the dashboard's).
  for (const args of [[tsc, '-p', 'tsconfig.build.json'], [join(root, 'scripts/copy-assets.js')]]) {
    const build = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`)
  }
}

/** Links `name` (`pkg` or `@scope/pkg`) from our node_modules into `modules`. */
export function linkPackage(modules: string, name: string): void {
  const target = join(modules, name)
  if (existsSync(target)) return
  mkdirSync(dirname(target), { recursive: true })
  symlinkSync(join(ourModules, name), target, 'dir')
}

/** Writes a project: package.json (ESM), tsconfig.json with `options`, and `files` (name → text). */
export function writeProject(dir: string, files: Readonly<Record<string, string>>, options: Readonly<Record<string, unknown>> = STRICT_OPTIONS): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: Object.keys(files).filter((name) => name.endsWith('.ts')) }))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
}

/** What a child process printed, and how it ended. */
export interface Ran {
  readonly code: number | null
  readonly output: string
}

/** Runs `node args` in `cwd`, without blocking the event loop (so that projects compile in parallel). */
export function runNode(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, output }))
  })
}

/** `tsc -p dir` with `extra` arguments. */
export function compile(dir: string, extra: readonly string[] = ['--noEmit']): Promise<Ran> {
  return runNode([tsc, '-p', dir, '--pretty', 'false', ...extra], dir)
}
