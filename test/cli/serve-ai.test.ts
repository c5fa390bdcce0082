/**
 * `tiercache serve --ai-upstream`: the AI gateway from the command line, spawned as users run it
 * (the built package), with the upstream's key from the environment and never in its output.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../consumer/project.js'
import { freePort } from '../helpers/redis-server.js'
import { type FakeUpstream, startFakeUpstream } from '../ai/upstream-server.js'
import { bin, cleanEnv, listening, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-serve-ai-'))
const SECRET = 'sk-upstream-secret-4242'
let upstream: FakeUpstream
beforeAll(async () => {
  ensureBuilt()
  upstream = await startFakeUpstream()
}, 180_000)
afterAll(async () => {
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('tiercache serve --ai-upstream', () => {
  it('serves the gateway in front of the upstream, sending it the key of TIERCACHE_AI_UPSTREAM_KEY and logging none of it', async () => {
    const db = join(dir, 'cache.db')
    const created = spawnTiercache(['keys', 'create', '--tenant', 'acme', '--roles', 'read,write', '--json', '--sqlite', db], dir)
    expect(created.code, created.stderr).toBe(0)
    const { key } = JSON.parse(created.stdout) as { key: string }
    const prices = JSON.stringify({ 'gpt-test': { inputPerMillion: 1, outputPerMillion: 2 } })
    const server = await serveAi(db, ['--log-level', 'debug', '--ai-upstream', upstream.url, '--ai-prices', prices], { TIERCACHE_AI_UPSTREAM_KEY: SECRET })
    const { url } = server
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1/ai`, maxRetries: 0 })
      const request = { model: 'gpt-test', temperature: 0, messages: [{ role: 'user' as const, content: 'Venues in Lisbon?' }] }
      const first = await client.chat.completions.create(request).withResponse()
      const second = await client.chat.completions.create(request).withResponse()
      expect([first.response.headers.get('x-tiercache-cache'), second.response.headers.get('x-tiercache-cache')]).toEqual(['MISS', 'HIT'])
      expect(second.data.choices[0]?.message.content).toBe('answer #1 to: Venues in Lisbon?')
      expect(upstream.calls.map((call) => call.authorization)).toEqual([`Bearer ${SECRET}`])
      // --ai-prices priced the model: the hit saved 17 prompt tokens at $1 and 31 completion tokens at $2 a million.
      const saved = (17 * 1 + 31 * 2) / 1e6
      expect(second.response.headers.get('x-tiercache-cost-saved')).toBe(saved.toFixed(6))
      const stats = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${key}` } })
      const report = (await stats.json()) as { ai?: { totals: { costSavedUsd: number; tokensSaved: number } } }
      expect(report.ai?.totals.tokensSaved).toBe(17 + 31)
      expect(report.ai?.totals.costSavedUsd).toBeCloseTo(saved, 12)
    } finally {
      await server.stop()
    }
    expect(server.output()).toContain('POST')
    expect(server.output()).not.toContain(SECRET)
  })

  it('matches paraphrases with --ai-semantic, embedding them with the upstream\'s --ai-embedding-model', async () => {
    const db = join(dir, 'semantic.db')
    const created = spawnTiercache(['keys', 'create', '--tenant', 'acme', '--roles', 'read,write', '--json', '--sqlite', db], dir)
    const { key } = JSON.parse(created.stdout) as { key: string }
    const server = await serveAi(db, ['--quiet', '--ai-upstream', upstream.url, '--ai-semantic', 'threshold:0.99', '--ai-embedding-model', 'emb-test'])
    upstream.calls.length = 0
    try {
      const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1/ai`, maxRetries: 0 })
      const ask = (content: string) => client.chat.completions.create({ model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content }] }).withResponse()
      await ask('Venues in Lisbon?')
      const paraphrase = await ask('Venues in Lisbon, please?')
      // The fake upstream's 4-dimensional embeddings (length, first letter, words, call) are 0.996 alike.
      expect(paraphrase.response.headers.get('x-tiercache-cache')).toBe('SEMANTIC-HIT')
      expect(paraphrase.data.choices[0]?.message.content).toBe('answer #2 to: Venues in Lisbon?')
      expect(upstream.calls.map((call) => [call.path, call.body.model])).toEqual([
        ['/v1/embeddings', 'emb-test'],
        ['/v1/chat/completions', 'gpt-test'],
        ['/v1/embeddings', 'emb-test'],
      ])
    } finally {
      await server.stop()
    }
    const bad = spawnTiercache(['serve', '--port', '0', '--sqlite', db, '--ai-upstream', upstream.url, '--ai-semantic', 'near:0.9'], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--ai-semantic must be threshold:<similarity, 0 to 1>')
    const alone = spawnTiercache(['serve', '--port', '0', '--sqlite', db, '--ai-semantic', 'delta:0.05'], dir)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('--ai-semantic needs --ai-upstream')
  })

  it('refuses --ai-prices that are not JSON, or not prices by model, and without --ai-upstream, exit 2', () => {
    upstream.calls.length = 0
    const serve = (...extra: string[]) => ['serve', '--port', '0', '--sqlite', join(dir, 'prices.db'), ...extra]
    const notJson = spawnTiercache(serve('--ai-upstream', upstream.url, '--ai-prices', '{gpt-4o-mini: 0.15}'), dir)
    expect(notJson.code).toBe(2)
    expect(notJson.stderr).toContain('--ai-prices must be JSON such as {"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}}')
    // From the environment too, naming the field.
    const shape = spawnTiercache(serve('--ai-upstream', upstream.url), dir, { TIERCACHE_AI_PRICES: '{"gpt-4o-mini":{"inputPerMillion":-1,"outputPerMillion":0.6}}' })
    expect(shape.code).toBe(2)
    expect(shape.stderr).toContain('--ai-prices: gpt-4o-mini.inputPerMillion: must be 0 or more')
    const missing = spawnTiercache(serve('--ai-upstream', upstream.url, '--ai-prices', '{"gpt-4o-mini":{"inputPerMillion":0.15}}'), dir)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--ai-prices: gpt-4o-mini.outputPerMillion: must be a number')
    const alone = spawnTiercache(serve('--ai-prices', '{"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}}'), dir)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('--ai-prices needs --ai-upstream')
    expect(upstream.calls).toHaveLength(0)
  })

  it('refuses an upstream that is not an http(s) URL, exit 2', () => {
    const run = spawnTiercache(['serve', '--port', '0', '--sqlite', join(dir, 'other.db'), '--ai-upstream', 'ftp://models.example'], dir)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--ai-upstream must be an http or https URL')
  })
})

/** `tiercache serve --sqlite <db> <extra>` on a free port, once it listens; `stop` ends it with SIGTERM. */
async function serveAi(db: string, extra: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', db, ...extra], {
    cwd: dir,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    const url = await listening(child)
    return {
      url,
      output: () => output,
      async stop() {
        child.kill('SIGTERM')
        await exited
      },
    }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}
