import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../../src/errors.js'
import { loadPolicyConfig } from '../../../src/policy/load.js'
import { EXAMPLE } from './fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-policy-load-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

async function refusal(path: string): Promise<string> {
  const error: unknown = await loadPolicyConfig(path).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(InvalidOptionsError)
  return (error as Error).message
}

describe('loadPolicyConfig', () => {
  it('reads a JSON file and validates it', async () => {
    const config = await loadPolicyConfig(write('policy.json', JSON.stringify(EXAMPLE)))
    expect(config.policies.flightStatus).toMatchObject({ ttlMs: 60_000, floorMs: 10_000 })
    expect(config.seasons.peak?.l1).toBe(3)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it("reads an ES module's default export, .mjs and .js (in a type: module folder)", async () => {
    const mjs = await loadPolicyConfig(write('policy.mjs', `export default ${JSON.stringify(EXAMPLE)}\n`))
    expect(mjs.policies.countries?.ttlMs).toBe(86_400_000)
    const esm = join(dir, 'esm')
    mkdirSync(esm)
    writeFileSync(join(esm, 'package.json'), '{ "type": "module" }')
    writeFileSync(join(esm, 'policy.js'), `const minutes = (n) => n * 60_000\nexport default { policies: { search: { ttl: minutes(5), grace: '1h' } } }\n`)
    const js = await loadPolicyConfig(join(esm, 'policy.js'))
    expect(js.policies.search).toMatchObject({ ttlMs: 300_000, graceMs: 3_600_000 })
  })

  it('takes a Policy as the default export (definePolicy), of this copy of the package or another', async () => {
    const layer = pathToFileURL(join(import.meta.dirname, '../../../src/policy/layer.ts')).href
    const ours = await loadPolicyConfig(write('defined.mjs', `import { definePolicy } from '${layer}'\nexport default definePolicy({ policies: { p: { ttl: '2m' } } })\n`))
    expect(ours.policies.p?.ttlMs).toBe(120_000)
    const other = await loadPolicyConfig(write('other-copy.mjs', `export default { config: { policies: { p: { ttl: '3m' } } }, decide() {} }\n`))
    expect(other.policies.p?.ttlMs).toBe(180_000)
  })

  it('resolves a relative path against the working directory', async () => {
    write('relative.json', JSON.stringify({ policies: { p: { ttl: '7s' } } }))
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      expect((await loadPolicyConfig('relative.json')).policies.p?.ttlMs).toBe(7_000)
      expect((await loadPolicyConfig('./relative.json')).policies.p?.ttlMs).toBe(7_000)
    } finally {
      process.chdir(cwd)
    }
  })

  it('names the file in every refusal', async () => {
    const invalid = write('invalid.json', JSON.stringify({ policies: { p: { ttl: '1m', jitter: 3 } } }))
    expect(await refusal(invalid)).toMatch(new RegExp(`^policy file ${invalid}: invalid policy configuration: ✖ must be at most 0\\.5[\\s\\S]*→ at policies\\.p\\.jitter`))
    const broken = write('broken.json', '{ "policies": ')
    expect(await refusal(broken)).toMatch(new RegExp(`^policy file ${broken} is not valid JSON: `))
    expect(await refusal(join(dir, 'missing.json'))).toMatch(/^policy file .*missing\.json cannot be read: ENOENT/)
    expect(await refusal(write('policy.yaml', 'policies: {}'))).toMatch(/^policy file .*policy\.yaml must be \.json, \.js or \.mjs/)
    expect(await refusal(write('named.mjs', 'export const policies = {}\n'))).toMatch(/^policy file .*named\.mjs has no default export: write `export default/)
    expect(await refusal(write('throws.mjs', "throw new Error('boom')\n"))).toMatch(/^policy file .*throws\.mjs cannot be loaded: boom/)
    expect(await refusal(write('bad-module.mjs', "export default { policies: { p: { ttl: 'soon' } } }\n"))).toMatch(/^policy file .*bad-module\.mjs: invalid policy configuration: [\s\S]*→ at policies\.p\.ttl/)
  })
})
