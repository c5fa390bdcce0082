/**
 * The semantic layer's vectors are entries of the cache: stored in the SQL tier (sealed, for a
 * tenant), loaded again by a new process, and gone with the tenant's erasure. Real SQLite files.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { type Upstream, createAiCache, functionEmbedder, hashingEmbedder, memoryVectorIndex } from '../../src/ai/index.js'
import { createCache } from '../../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-ai-vectors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const QUESTION = 'What are some good wedding venues in Austin that can hold 150 guests?'
const PARAPHRASE = 'Can you suggest wedding venues in Austin with room for 150 people?'
const ask = (content: string) => ({ model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content }] })

let calls = 0
const upstream: Upstream = {
  post: async () => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: `answer #${++calls}` } }] } }),
  stream: () => Promise.reject(new Error('not streamed here')),
  close: async () => {},
}

/** A cache and an AI cache on `file`, as one process of a deployment would open them; and acme's view. */
function open(file: string) {
  const cache = createCache({ l3: { sqlite: file } })
  const ai = createAiCache({ cache, upstream, semantic: { embedder: hashingEmbedder(), matcher: { mode: 'threshold', threshold: 0.85 } } })
  return { cache, acme: ai.forView(cache.withContext({ role: 'authenticated', tenantId: 'acme' })) }
}

describe('semantic vectors in the SQL tier', () => {
  it('survive a restart, sealed at rest, and go with the tenant', async () => {
    const file = join(dir, 'cache.db')
    const first = open(file)
    expect((await first.acme.chat(ask(QUESTION))).cache).toBe('MISS')
    await first.cache.close()

    const rows = new Database(file, { readonly: true })
      .prepare("SELECT namespace, value FROM tiercache_entries WHERE namespace LIKE '~acme~aiv.%'")
      .all() as { namespace: string; value: Buffer }[]
    expect(rows).toHaveLength(1)
    // 0xC1: a sealed payload (src/cache/sealing.ts), not the vector's bytes.
    expect(rows[0]?.value[0]).toBe(0xc1)

    const second = open(file)
    const paraphrase = await second.acme.chat(ask(PARAPHRASE))
    expect(paraphrase.cache).toBe('SEMANTIC-HIT')
    expect(calls).toBe(1)
    await second.cache.erase({ tenantId: 'acme' })
    await second.cache.close()

    const third = open(file)
    expect((await third.acme.chat(ask(PARAPHRASE))).cache).toBe('MISS')
    await third.cache.close()
  })
  it("drops a tenant's vectors from the process's index when the tenant is erased, and a namespace's when it is cleared", async () => {
    const cache = createCache({ l3: false })
    const index = memoryVectorIndex()
    const ai = createAiCache({ cache, upstream, semantic: { embedder: hashingEmbedder(), matcher: { mode: 'threshold', threshold: 0.85 }, index } })
    const tenant = (tenantId: string) => ai.forView(cache.withContext({ role: 'authenticated', tenantId }))
    await tenant('acme').chat(ask(QUESTION))
    await tenant('acme').chat(ask(QUESTION), { namespace: 'other' })
    await tenant('globex').chat(ask(QUESTION))
    expect(await index.size()).toBe(3)
    await cache.withContext({ role: 'authenticated', tenantId: 'acme' }).namespace('other').clear()
    expect(await index.size()).toBe(2)
    await cache.erase({ tenantId: 'acme' })
    expect(await index.size()).toBe(1)
    expect((await tenant('globex').chat(ask(PARAPHRASE))).cache).toBe('SEMANTIC-HIT')
    await cache.close()
  })
  it('leaves calls to exact matching when the embedder fails', async () => {
    const cache = createCache({ l3: false })
    const failing = functionEmbedder('down', () => Promise.reject(new Error('the embeddings endpoint is down')))
    const ai = createAiCache({ cache, upstream, semantic: { embedder: failing, matcher: { mode: 'threshold', threshold: 0.85 } } })
    expect((await ai.chat(ask(QUESTION))).cache).toBe('MISS')
    expect((await ai.chat(ask(QUESTION))).cache).toBe('HIT')
    expect((await ai.chat(ask(PARAPHRASE))).cache).toBe('MISS')
    await cache.close()
  })
})
