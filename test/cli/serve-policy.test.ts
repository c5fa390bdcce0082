/**
 * `tiercache serve --policy-file`: the policy layer from the command line, spawned as users run it
 * (the built package): a route naming a policy gets its ttl, an event fires its rule, and a bad file
 * stops the start before anything opens.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../consumer/project.js'
import { freePort } from '../helpers/redis-server.js'
import { bin, cleanEnv, listening, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-serve-policy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(() => ensureBuilt(), 180_000)

const policyFile = join(dir, 'policy.json')
writeFileSync(
  policyFile,
  JSON.stringify({
    policies: { flightStatus: { ttl: '90s' } },
    rules: { 'flight.updated': { params: ['id'], tags: ['flight:{id}'] } },
  }),
)

async function serve(db: string, extra: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', db, '--quiet', ...extra], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    return { child, url: await listening(child) }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

describe('tiercache serve --policy-file', () => {
  it('writes with the ttl of the policy a route names, and fires the rules on POST /v1/events', async () => {
    const db = join(dir, 'cache.db')
    const created = spawnTiercache(['keys', 'create', '--tenant', 'ops', '--roles', 'read,write', '--json', '--sqlite', db], dir)
    expect(created.code, created.stderr).toBe(0)
    const { key } = JSON.parse(created.stdout) as { key: string }
    const { child, url } = await serve(db, ['--policy-file', policyFile])
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    try {
      const before = Date.now()
      const put = await fetch(`${url}/v1/entries/flights/BA117`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ value: { status: 'on time' }, policy: 'flightStatus', tags: ['flight:BA117'] }),
      })
      expect(put.status).toBe(204)
      const read = (await (await fetch(`${url}/v1/entries/flights/BA117`, { headers })).json()) as { freshUntil: number }
      // 90 s from the write; the server's default ttl (5m) would be 300 s.
      expect(read.freshUntil - before).toBeGreaterThanOrEqual(89_000)
      expect(read.freshUntil - before).toBeLessThanOrEqual(91_000 + (Date.now() - before))

      const unknown = await fetch(`${url}/v1/entries/flights/LH400`, { method: 'PUT', headers, body: JSON.stringify({ value: 1, policy: 'nope' }) })
      expect(unknown.status).toBe(400)
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('TC_UNKNOWN_POLICY')

      const rules = (await (await fetch(`${url}/v1/rules`, { headers })).json()) as { rules: { event: string }[] }
      expect(rules.rules.map((rule) => rule.event)).toEqual(['flight.updated'])
      const fired = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ event: 'flight.updated', params: { id: 'BA117' }, namespace: 'flights' }) })
      expect(await fired.json()).toEqual({ event: 'flight.updated', invalidated: { tags: ['flight:BA117'], namespaces: [] } })
      expect((await fetch(`${url}/v1/entries/flights/BA117`, { headers })).status).toBe(404)
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  })

  it('exits 2 naming the file when the configuration is invalid, and opens nothing', () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ policies: { search: { ttl: 'soon' } } }))
    const db = join(dir, 'never.db')
    const run = spawnTiercache(['serve', '--port', '0', '--sqlite', db, '--policy-file', bad], dir)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`policy file ${bad}`)
    expect(run.stderr).toContain('policies.search.ttl')
    expect(existsSync(db)).toBe(false)
  })
})
