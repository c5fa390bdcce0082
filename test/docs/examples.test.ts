/**
 * Every ```ts block of README.md and docs/*.md type-checks against the built package under `strict`,
 * as a user's file importing `tiercache` would, and the ones that can run on the embedded default
 * (no Redis, no PostgreSQL, no network) run, each in a fresh folder.
 *
 * Markers, in an HTML comment on the line before a block:
 * - `<!-- continues -->`: the block goes on from the page's previous block (same file, same scope);
 * - `<!-- needs: postgres (why) -->`: type-checked only; the first line `// needs: ...` works too.
 *   A block that continues one that needs something is type-checked only as well.
 *
 * `fetch` to a host under `.example` (RFC 2606's reserved domain), as the examples' origins are,
 * answers a small JSON body, so that the examples run offline.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STRICT_OPTIONS, compile, ensureBuilt, linkPackage, root, runNode, writeProject } from '../consumer/project.js'

/** One example program: a block, with the blocks it continues. */
interface Example {
  readonly name: string
  /** `page:line` of its first block. */
  readonly where: string
  readonly code: string
  /** Page line of each line of `code`, for error messages. */
  readonly lines: readonly string[]
  /** What it needs that the embedded default lacks, if anything: then it is type-checked only. */
  readonly needs?: string
  /** The part of `code` that runs on the embedded default: the blocks before the first that needs something. */
  readonly runnable?: string
}

const PAGES = ['README.md', ...readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)]

/** The examples of a page, in order. */
function examplesOf(page: string): Example[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n')
  const examples: { name: string; where: string; code: string[]; lines: string[]; needs?: string; runnable?: string }[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```ts') continue
    const marker = /^<!--(.*)-->$/.exec(lines[i - 1]?.trim() ?? '')?.[1] ?? ''
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end]?.trim() !== '```') end++
    const body = lines.slice(start, end)
    const needs = /needs:\s*([^\n]*?)\s*$/.exec(marker)?.[1] ?? /^\/\/\s*needs:\s*(.*)$/.exec(body[0] ?? '')?.[1]
    const previous = examples[examples.length - 1]
    if (/\bcontinues\b/.test(marker) && previous !== undefined) {
      if (previous.needs === undefined && needs !== undefined) previous.runnable = previous.code.join('\n')
      previous.code.push(...body)
      previous.lines.push(...body.map((_, n) => `${page}:${start + n + 1}`))
      previous.needs ??= needs
    } else {
      const name = `${page.replace(/[/.]/g, '-')}-${start + 1}`
      examples.push({ name, where: `${page}:${start + 1}`, code: [...body], lines: body.map((_, n) => `${page}:${start + n + 1}`), ...(needs === undefined ? {} : { needs }) })
    }
    i = end
  }
  return examples.map(({ code, needs, runnable, ...rest }) => ({
    ...rest,
    code: code.join('\n') + '\n',
    ...(needs === undefined ? { runnable: code.join('\n') + '\n' } : { needs, ...(runnable === undefined ? {} : { runnable: runnable + '\n' }) }),
  }))
}

const examples = PAGES.flatMap(examplesOf)
const dir = mkdtempSync(join(tmpdir(), 'tiercache-examples-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const FETCH_STUB = `const realFetch = globalThis.fetch
globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  if (url.hostname.endsWith('.example')) return Response.json({ route: 'JFK:LHR', fare: 420, currency: 'USD', volatile: false })
  return realFetch(input, init)
}
`

/** The environment of a user on the embedded default: none of the variables that would reach further. */
function embeddedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (/^(TIERCACHE_|REDIS_URL$|DATABASE_URL$)/.test(name)) delete env[name]
  return env
}

let typeErrors = ''

beforeAll(async () => {
  ensureBuilt()
  const files: Record<string, string> = {}
  for (const example of examples) {
    files[`check/${example.name}.ts`] = example.code
    if (example.runnable !== undefined) files[`run/${example.name}.ts`] = example.runnable
  }
  writeProject(dir, files, { ...STRICT_OPTIONS, skipLibCheck: true, moduleDetection: 'force', noEmit: false, outDir: 'out', rootDir: '.' })
  writeFileSync(join(dir, 'fetch-stub.mjs'), FETCH_STUB)
  // The package as the examples import it (our built tree), and the other packages they import.
  const modules = join(dir, 'node_modules')
  symlinkSync(root, join(modules, 'tiercache'), 'dir')
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry.startsWith('.')) continue
    if (entry.startsWith('@')) for (const scoped of readdirSync(join(root, 'node_modules', entry))) linkPackage(modules, `${entry}/${scoped}`)
    else linkPackage(modules, entry)
  }
  const compiled = await compile(dir, [])
  // `check/<name>.ts(line,col): error ...` → `<page>:<line>: error ...`
  typeErrors = compiled.output.replace(/^(check|run)\/([^(]+)\.ts\((\d+),(\d+)\)/gm, (whole, _kind: string, name: string, line: string) => {
    const example = examples.find((candidate) => candidate.name === name)
    return example?.lines[Number(line) - 1] ?? whole
  })
}, 240_000)

describe('the examples of README.md and docs/', () => {
  it('finds the examples, and every runnable one on the embedded default', () => {
    expect(examples.length).toBeGreaterThan(10)
    expect(examples.filter((example) => example.runnable !== undefined).length).toBeGreaterThan(5)
  })

  it('type-check under strict against the built package', () => {
    expect(typeErrors).toBe('')
  })

  it.each(examples.filter((example) => example.runnable !== undefined).map((example) => [example.where, example] as const))(
    'run as written: %s',
    async (_where, example) => {
      const cwd = join(dir, 'cwd', example.name)
      mkdirSync(cwd, { recursive: true })
      const ran = await runNode(['--import', join(dir, 'fetch-stub.mjs'), join(dir, 'out/run', `${example.name}.js`)], cwd, embeddedEnv(), 60_000)
      expect(ran.code, ran.output).toBe(0)
    },
    90_000,
  )
})
