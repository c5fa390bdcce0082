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
    const port = await freePort()
    const child: ChildProcess = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', db, '--log-level', 'debug', '--ai-upstream', upstream.url], {
      cwd: dir,
      env: { ...cleanEnv(), TIERCACHE_AI_UPSTREAM_KEY: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      const url = await listening(child)
      const client = new OpenAI({ apiKey: key, baseURL: `${url}/v1/ai`, maxRetries: 0 })
      const request = { model: 'gpt-test', temperature: 0, messages: [{ role: 'user' as const, content: 'Venues in Lisbon?' }] }
      const first = await client.chat.completions.create(request).withResponse()
      const second = await client.chat.completions.create(request).withResponse()
      expect([first.response.headers.get('x-tiercache-cache'), second.response.headers.get('x-tiercache-cache')]).toEqual(['MISS', 'HIT'])
      expect(second.data.choices[0]?.message.content).toBe('answer #1 to: Venues in Lisbon?')
      expect(upstream.calls.map((call) => call.authorization)).toEqual([`Bearer ${SECRET}`])
    } finally {
      child.kill('SIGTERM')
      await exited
    }
    expect(output).toContain('POST')
    expect(output).not.toContain(SECRET)
  })

  it('refuses an upstream that is not an http(s) URL, exit 2', () => {
    const run = spawnTiercache(['serve', '--port', '0', '--sqlite', join(dir, 'other.db'), '--ai-upstream', 'ftp://models.example'], dir)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--ai-upstream must be an http or https URL')
  })
})
