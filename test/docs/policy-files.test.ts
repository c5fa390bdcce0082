/**
 * The policy configurations the docs show as JSON files are valid configurations: each page's
 * ```json blocks of policy pages parse with the loader's schema (a typo in a documented file would
 * otherwise only show when a reader copies it).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parsePolicyConfig } from '../../src/policy/config.js'
import { root } from '../consumer/project.js'

const PAGES = ['docs/policies.md', 'docs/keys.md', 'docs/rules.md', 'docs/example-travel.md']

function jsonBlocks(page: string): { line: number; text: string }[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n')
  const blocks: { line: number; text: string }[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```json') continue
    const end = lines.indexOf('```', i + 1)
    blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n') })
    i = end
  }
  return blocks
}

describe('the policy files of the docs', () => {
  for (const page of PAGES) {
    const blocks = jsonBlocks(page)
    it(`${page} shows at least one, and each is a valid configuration`, () => {
      expect(blocks.length).toBeGreaterThan(0)
      for (const block of blocks) {
        expect(() => parsePolicyConfig(JSON.parse(block.text)), `${page}:${block.line}`).not.toThrow()
      }
    })
  }

  it('the travel example declares in JSON what its program declares in code', async () => {
    const page = readFileSync(join(root, 'docs/example-travel.md'), 'utf8')
    const code = /const travel = definePolicy\(([\s\S]*?)\n\}\)\n/.exec(page)?.[1]
    expect(code).toBeDefined()
    // The object literal is plain data (no identifiers): evaluate it as such.
    const fromCode: unknown = new Function(`return (${code ?? ''}\n})`)()
    const fromFile: unknown = JSON.parse(jsonBlocks('docs/example-travel.md')[0]?.text ?? '')
    expect(parsePolicyConfig(fromFile)).toEqual(parsePolicyConfig(fromCode))
  })
})
