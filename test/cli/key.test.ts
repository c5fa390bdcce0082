import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parsePolicyConfig } from '../../src/policy/config.js'
import { KeyBuilder, type KeyExplanation } from '../../src/policy/keys/builder.js'
import { plannerConfig } from '../policy/keys/fixtures.js'
import { inProcess } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-key-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const policyFile = join(dir, 'policy.json')
writeFileSync(policyFile, JSON.stringify(plannerConfig))
const keys = new KeyBuilder(parsePolicyConfig(plannerConfig))

const june = ['--context', 'location=Austin', '--context', 'date=2025-06-14', '--context', 'budget=12000', '--context', 'guests=80']
const explain = (...args: string[]) => inProcess(['key', 'explain', ...args])

describe('tiercache key explain', () => {
  it('prints each param and context field with its bucket, the canonical text and the key', async () => {
    const run = await explain('venueSearch', '--policy-file', policyFile, '--param', 'query=barn', '--param', 'page=2', ...june)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const key = keys.build('venueSearch', { query: 'barn', page: 2 }, { location: 'Austin', date: '2025-06-14', budget: 12000, guests: 80 })
    expect(run.stdout).toContain(`key      ${key}\n`)
    expect(run.stdout).toMatch(/^builder {2}venueSearch, version 2$/m)
    expect(run.stdout).toMatch(/^page\s+integer, optional\s+"2"\s+2$/m)
    expect(run.stdout).toMatch(/^location\s+"Austin"\s+region:TX\s+market us\s+Austin is in region TX of market us$/m)
    expect(run.stdout).toMatch(/^date\s+"2025-06-14"\s+peak\s+season \(peak 04-01\.\.10-31; holidays 12-15\.\.01-05; otherwise off-season\)\s+falls in peak/m)
    expect(run.stdout).toMatch(/^budget\s+"12000"\s+\[5000,15000\)\s+tiers 5000, 15000, 40000/m)
    expect(run.stdout).toContain('canonical  {"context":{"budget":"[5000,15000)","date":"peak","guests":"[50,100)","location":"region:TX"},"params":{"page":2,"query":"barn"}}')
  })

  it('prints the explanation as JSON with --json', async () => {
    const run = await explain('venueSearch', '--policy-file', policyFile, '--param', 'query=barn', ...june, '--json')
    expect(run.code).toBe(0)
    const explained = JSON.parse(run.stdout) as KeyExplanation
    expect(explained).toEqual(keys.explain('venueSearch', { query: 'barn' }, { location: 'Austin', date: '2025-06-14', budget: '12000', guests: '80' }))
    expect(explained.key).toBe(keys.build('venueSearch', { query: 'barn' }, { location: 'Austin', date: '2025-06-14', budget: 12000, guests: 80 }))
  })

  it('reads untyped params as JSON when they are JSON, and typed ones as text for the builder to read', async () => {
    const valueOf = async (param: string) => {
      const run = await explain('venueSearch', '--policy-file', policyFile, '--param', param, ...june, '--json')
      expect(run.stderr).toBe('')
      return (JSON.parse(run.stdout) as KeyExplanation).params[0]?.value
    }
    expect(await valueOf('query=2')).toBe(2)
    expect(await valueOf('query="2"')).toBe('2')
    expect(await valueOf('query={"near":"lake","tags":["barn"]}')).toEqual({ near: 'lake', tags: ['barn'] })
    expect(await valueOf('query=a=b')).toBe('a=b')
    const styled = await explain('photographers', '--policy-file', policyFile, '--param', 'style=123', '--context', 'location=London', '--json')
    expect((JSON.parse(styled.stdout) as KeyExplanation).params[0]?.value).toBe('123')
  })

  it('explains a builder without params or context', async () => {
    const run = await explain('countries', '--policy-file', policyFile)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('no params\n\nno context fields\n')
    expect(run.stdout).toContain(keys.build('countries'))
  })

  it('fails with the code of the problem', async () => {
    const cases: [string[], number, RegExp][] = [
      [['venueSearch'], 2, /error TC_INVALID_OPTIONS: .*--policy-file/],
      [['nope', '--policy-file', policyFile], 2, /error TC_INVALID_OPTIONS: no key builder "nope"; builders: venueSearch, photographers, countries/],
      [['venueSearch', '--policy-file', join(dir, 'missing.json')], 2, /error TC_INVALID_OPTIONS: .*missing\.json/],
      [['venueSearch', '--policy-file', policyFile, '--param', 'query'], 2, /--param takes name=value, not 'query'/],
      [['venueSearch', '--policy-file', policyFile, '--param', 'query=a', '--param', 'query=b'], 2, /--param query is given twice/],
      [['venueSearch', '--policy-file', policyFile, '--param', 'query=a'], 1, /error TC_INVALID_CONTEXT: context field location is required by venueSearch/],
      [['venueSearch', '--policy-file', policyFile, '--param', 'query=a', '--param', 'page=two', ...june], 2, /param venueSearch\.page is an integer, not "two"/],
      [['venueSearch', '--policy-file', policyFile, '--param', 'query=a', ...june.slice(0, 6), '--context', 'guests=many'], 1, /TC_INVALID_CONTEXT: context field guests: "many" is not a count/],
    ]
    for (const [args, code, message] of cases) {
      const run = await explain(...args)
      expect(run.stderr, args.join(' ')).toMatch(message)
      expect(run.code, args.join(' ')).toBe(code)
      expect(run.stdout).toBe('')
    }
  })

  it('refuses a file that is not JSON, or not a valid configuration', async () => {
    const broken = join(dir, 'broken.json')
    writeFileSync(broken, '{ "keys": ')
    const notJson = await explain('venueSearch', '--policy-file', broken)
    // The message is the loader's; the code, the file named, and the exit code are the contract.
    expect(notJson.stderr).toMatch(/error TC_INVALID_OPTIONS: .*broken\.json/)
    expect(notJson.code).toBe(2)
    const invalid = join(dir, 'invalid.json')
    writeFileSync(invalid, JSON.stringify({ keys: { venueSearch: {} } }))
    const run = await explain('venueSearch', '--policy-file', invalid)
    expect(run.stderr).toMatch(/invalid policy configuration: .*key builders go under keys\.builders/)
    expect(run.code).toBe(2)
  })
})
