import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const eslint = new ESLint({ cwd: root })

/** The messages of the layer rule for `code` placed at `file` (relative to the package root). */
async function layerMessages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) })
  return (result?.messages ?? []).filter((message) => message.ruleId === 'layers/one-way').map((message) => message.message)
}

describe('layers (docs/design.md, Layout)', () => {
  it('refuses an import from a layer above', async () => {
    expect(await layerMessages('src/tiers/example.ts', "export { Cache } from '../cache/cache.js'\n")).toEqual([
      "'tiers' may not import from 'cache': it is a layer above (see docs/design.md, Layout)",
    ])
    expect(await layerMessages('src/core/example.ts', "import type { Tier } from '../tiers/tier.js'\nexport type T = Tier\n")).toHaveLength(1)
    expect(await layerMessages('src/bus/example.ts', "export const load = () => import('../cache/cache.js')\n")).toHaveLength(1)
  })

  it('allows imports from its own folder and the layers below', async () => {
    expect(await layerMessages('src/cache/example.ts', "export { createEntry } from '../core/entry.js'\nexport * from './cache.js'\n")).toEqual([])
    expect(await layerMessages('src/bus/example.ts', "export * from '../redis/client.js'\n")).toEqual([])
    expect(await layerMessages('src/tiers/redis/example.ts', "export * from './keys.js'\nexport * from '../../errors.js'\n")).toEqual([])
  })

  it('tells the Redis plumbing (src/redis/) from the Redis tier (src/tiers/redis/)', async () => {
    expect(await layerMessages('src/redis/example.ts', "export * from '../tiers/redis/keys.js'\n")).toHaveLength(1)
  })

  it('names a folder it does not know', async () => {
    expect(await layerMessages('src/cache/example.ts', "export * from '../misc/thing.js'\n")).toEqual([
      "'misc' is not a layer of src/: add it to LAYERS in scripts/eslint-layers.js",
    ])
  })
})
