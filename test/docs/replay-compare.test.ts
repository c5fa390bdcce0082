/**
 * docs/cli.md, "Comparing ttls and policies": its two commands, run on the sample trace with the
 * page's policy file, print the rows the page shows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { inProcess, root } from '../cli/run.js'

const page = readFileSync(join(root, 'docs/cli.md'), 'utf8')
const section = page.slice(page.indexOf('### Comparing ttls and policies'))
const blocks = (fence: string) => [...section.matchAll(new RegExp('```' + fence + '\\n([\\s\\S]*?)\\n```', 'g'))].map((match) => match[1] ?? '')

const dir = mkdtempSync(join(tmpdir(), 'tiercache-docs-replay-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The command's arguments, with the sample trace and the policy file where the test keeps them. */
function argsOf(command: string): string[] {
  const words = command.trim().split(/\s+/)
  expect(words[0]).toBe('tiercache')
  return words.slice(1).map((word) => (word === 'samples/glimpse.keys.gz' ? join(root, word) : word === 'policy.json' ? join(dir, word) : word))
}

/** The lines from the table's header to its last row. */
const table = (text: string) => text.split('\n').filter((line, i, lines) => i >= lines.findIndex((l) => l.startsWith('run ')) && /^\S+\s{2,}\S/.test(line))

describe('docs/cli.md: comparing ttls and policies', () => {
  const commands = blocks('sh')[0]?.split('\n') ?? []
  const outputs = blocks('text')
  const policy = blocks('json')[0] ?? ''
  writeFileSync(join(dir, 'policy.json'), policy)

  it('shows two commands, their outputs and a policy file', () => {
    expect(commands).toHaveLength(2)
    expect(outputs).toHaveLength(2)
    expect(policy).not.toBe('')
  })

  for (const [i, command] of commands.entries()) {
    it(`"${command}" prints the table shown`, async () => {
      const run = await inProcess(argsOf(command))
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(table(run.stdout)).toEqual(table(outputs[i] ?? ''))
    })
  }
})
