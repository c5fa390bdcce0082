/**
 * The README's quick start, as written: its shell block (key creation, then every curl) runs in bash
 * against `tiercache serve` started as `npm start` starts it, from a fresh folder. `curl` is wrapped
 * only to report each answer's status; the `# ...` line under a command is the answer it promises.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/redis-server.js'
import { cleanEnv, listening } from '../cli/run.js'
import { ensureBuilt, root } from '../consumer/project.js'

interface Step {
  readonly command: string
  /** The answer the README shows under the command, if it shows one. */
  readonly expected?: string
}

/** The commands of the quick start's shell block that calls curl, each with the answer shown under it. */
function quickStart(): Step[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1))
  const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').find((text) => text.includes('curl'))
  if (block === undefined) throw new Error('no quick start block with curl in README.md')
  const steps: { command: string; expected?: string }[] = []
  let pending = ''
  for (const line of block.split('\n')) {
    if (line.trim() === '') continue
    const comment = /^# (.*)$/.exec(line)
    const last = steps[steps.length - 1]
    if (comment !== null && pending === '' && last !== undefined) {
      last.expected = comment[1]
      continue
    }
    pending += (pending === '' ? '' : '\n') + line
    if (!line.endsWith('\\')) {
      steps.push({ command: pending })
      pending = ''
    }
  }
  return steps
}

const dir = mkdtempSync(join(tmpdir(), 'tiercache-quick-start-'))
let server: ChildProcess | undefined
let url = ''
afterAll(() => {
  server?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

beforeAll(async () => {
  ensureBuilt()
  // The README's commands run from a checkout: `node bin/tiercache.js`.
  symlinkSync(join(root, 'bin'), join(dir, 'bin'), 'dir')
  server = spawn(process.execPath, ['bin/tiercache.js', 'serve', '--port', String(await freePort()), '--quiet'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  url = await listening(server)
}, 180_000)

describe("the README's quick start", () => {
  it('runs as written, and answers what it shows', () => {
    const steps = quickStart()
    expect(steps.filter((step) => step.command.includes('curl')).length).toBeGreaterThan(8)
    const script = [
      'set -euo pipefail',
      "curl() { command curl -sS -w '\\n@@status %{http_code}\\n' \"$@\"; }",
      ...steps.map((step, i) => `echo '@@step ${i}'\n${step.command.replaceAll('http://127.0.0.1:4100', url)}`),
    ].join('\n')
    const run = spawnSync('bash', ['-c', script], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 })
    expect(run.status, run.stderr).toBe(0)
    const outputs = run.stdout.split(/^@@step \d+\n/m).slice(1)
    expect(outputs).toHaveLength(steps.length)
    steps.forEach((step, i) => {
      if (!step.command.includes('curl')) return
      const output = outputs[i] ?? ''
      const status = Number(/@@status (\d+)/.exec(output)?.[1])
      const body = output.replace(/\n?@@status \d+\n$/, '')
      expect(status, `${step.command}\n${body}`).toBeGreaterThanOrEqual(200)
      expect(status, `${step.command}\n${body}`).toBeLessThan(300)
      if (step.expected === undefined) return
      if (/^\d{3}$/.test(step.expected)) return expect(status, step.command).toBe(Number(step.expected))
      // Times differ from run to run: the same fields, of the same types, and the same other values.
      const expected = JSON.parse(step.expected) as Record<string, unknown>
      const actual = JSON.parse(body) as Record<string, unknown>
      expect(Object.keys(actual).sort(), step.command).toEqual(Object.keys(expected).sort())
      for (const [field, value] of Object.entries(expected)) {
        if (field === 'ageMs' || field === 'freshUntil') expect(typeof actual[field], field).toBe('number')
        else expect(actual[field], field).toEqual(value)
      }
    })
  })
})
